/**
 * The proven CompleteMultipartUpload of the multipart sink: complete the upload, then show with
 * a HEAD that the object under the key is the one the parts make (its ETag, `md5(md5(p1) ||
 * ...)-N`) with the size written. After a lost answer (NoSuchUpload on the retry) that HEAD
 * decides. An object not provably this upload's is never resolved with and never deleted. And
 * the single PutObject of a stream that fits in one part, checked against the MD5 sent.
 *
 * @packageDocumentation
 */
import { transportOf, type BucketRef } from '../../bucket-ref.js'
import { multipartEtag, multipartEtagParts, plainMd5 } from '../../checksums.js'
import { clientSettings } from '../../client.js'
import { AccessDeniedError, AbortError, IntegrityError, toBucketflowError } from '../../errors.js'
import type { CompletedPart, PutObjectInput } from '../../transport/types.js'

/** The upload to complete. */
export interface Upload {
  ref: BucketRef
  bucket: string
  key: string
  uploadId: string
  /** The acknowledged parts, in any order. */
  completed: readonly CompletedPart[]
  /** Bytes written to the sink: the size the object must have. */
  bytesWritten: number
  /** Aborts the Complete and its HEAD. */
  signal: AbortSignal
  /** Where errors point. */
  where: { bucket: string; key: string; uploadId?: string }
  /** Called once the upload no longer exists (from then on there is nothing to abort). */
  onCompleted: () => void
}

/**
 * Complete the upload and prove the object: resolves to its size and ETag, or throws
 * `IntegrityError` (the object is deleted only when it is provably this upload's), or the
 * Complete's own error when no object is provably this upload's.
 */
export async function completeProven(u: Upload): Promise<{ size: number; etag: string; parts: number }> {
  const parts = [...u.completed].sort((a, b) => a.PartNumber - b.PartNumber)
  // The ETag the completed object must have: md5 of the parts' MD5s, "-N" (undefined when a
  // part's ETag is not its MD5, as with SSE-KMS).
  const expected = multipartEtag(parts.map((p) => p.ETag))
  let completedEtag: string | undefined
  try {
    // A 200 whose body is an <Error> (or anything but the result) is turned into a retried
    // 503 by the client's result check; the SDK's retries of a lost answer may meet
    // NoSuchUpload (the first attempt completed it), settled below by a HEAD.
    const out = await transportOf(u.ref).completeMultipartUpload({ Bucket: u.bucket, Key: u.key, UploadId: u.uploadId, Parts: parts }, { signal: u.signal })
    completedEtag = out.ETag || undefined
  } catch (err) {
    const typed = toBucketflowError(err, { ...u.where, operation: 'CompleteMultipartUpload' }, u.signal)
    if (typed instanceof AbortError) throw typed
    // Did an attempt whose answer was lost complete it? Only an object that is provably the
    // one these parts make counts: its ETag is the expected one (or, when that cannot be
    // computed, ends in -<parts> with the size written, after a NoSuchUpload).
    const proven = await provenComplete(u, expected, parts.length, typed.code === 'NoSuchUpload')
    if (!proven) throw typed
    completedEtag = proven
  }
  // The upload no longer exists: from here on there is nothing to abort.
  u.onCompleted()
  // Some servers (radosgw) answer CompleteMultipartUpload with an empty ETag: take size and
  // ETag from a HEAD, and check them against what was written.
  // Write-only credentials (a log shipper's, say) may not HEAD: then the object is complete and
  // every part was checked (Content-MD5); only this final check is skipped.
  let size = u.bytesWritten
  let etag = completedEtag ?? ''
  let headed = true
  try {
    // A HEAD without an ETag says nothing about whose object it is: ask again.
    for (let attempt = 1; ; attempt++) {
      ;({ size, etag } = await headObject(u.ref, u.key))
      if (etag !== '' || attempt >= clientSettings(u.ref.client).maxAttempts) break
    }
  } catch (err) {
    if (!(err instanceof AccessDeniedError) || completedEtag === undefined) throw err
    headed = false
  }
  const ours = expected !== undefined && sameEtag(etag, expected)
  // No ETag at all (a server or proxy that drops it): Complete's result element is the proof
  // that the upload completed; only the size is checked.
  if (headed && etag === '') etag = completedEtag ?? ''
  if (headed && expected !== undefined && !ours && etag !== '') {
    // Complete's own answer named our object: it was completed, and replaced since.
    if (completedEtag !== undefined && sameEtag(completedEtag, expected)) {
      size = u.bytesWritten
      etag = completedEtag
    } else {
      throw new IntegrityError(
        `The object under s3://${u.bucket}/${u.key} after CompleteMultipartUpload has ETag ${etag}, not ${expected} (the parts written); it was left as it is`,
        { ...u.where, algorithm: 'etag', expected, actual: etag },
      )
    }
  }
  if (headed && size !== u.bytesWritten) {
    // Only an object provably ours (its ETag is the one our parts make) is removed.
    if (ours)
      await transportOf(u.ref)
        .deleteObject({ Bucket: u.bucket, Key: u.key, IfMatch: etag })
        .catch(() => undefined)
    throw new IntegrityError(
      `Wrote ${u.bytesWritten} bytes to s3://${u.bucket}/${u.key} but the completed object has ${size}${ours ? '; the object was deleted' : ''}`,
      { ...u.where, algorithm: 'size', expected: String(u.bytesWritten), actual: String(size) },
    )
  }
  if (!headed && expected !== undefined && completedEtag !== undefined && !sameEtag(completedEtag, expected)) {
    throw new IntegrityError(`CompleteMultipartUpload of s3://${u.bucket}/${u.key} answered ETag ${completedEtag}, not ${expected} (the parts written)`, {
      ...u.where,
      algorithm: 'etag',
      expected,
      actual: completedEtag,
    })
  }
  return { size, etag, parts: parts.length }
}

/**
 * After a failed CompleteMultipartUpload: the ETag of the object under the key when it is
 * provably the one this upload's parts make, else undefined.
 */
async function provenComplete(u: Upload, expected: string | undefined, parts: number, noSuchUpload: boolean): Promise<string | undefined> {
  let head
  try {
    head = await headObject(u.ref, u.key, { signal: u.signal })
  } catch {
    return undefined
  }
  if (expected !== undefined) return sameEtag(head.etag, expected) ? head.etag : undefined
  const mp = multipartEtagParts(head.etag)
  return noSuchUpload && mp?.parts === parts && head.size === u.bytesWritten ? head.etag : undefined
}

const sameEtag = (a: string, b: string) => a.replace(/"/g, '') === b.replace(/"/g, '')

/**
 * One PutObject of a whole (small) stream: resolves to its ETag, or throws IntegrityError when
 * the server's ETag (a plain MD5, without SSE-KMS) is not the MD5 of the bytes sent.
 */
export async function putChecked(
  ref: BucketRef,
  input: PutObjectInput,
  contentMd5: string | undefined,
  signal: AbortSignal,
  where: Upload['where'],
): Promise<string> {
  const out = await transportOf(ref).putObject(contentMd5 ? { ...input, ContentMD5: contentMd5 } : input, { signal })
  const stored = plainMd5(out.ETag)
  if (contentMd5 && stored !== undefined && out.ServerSideEncryption !== 'aws:kms' && out.ServerSideEncryption !== 'aws:kms:dsse') {
    const sent = Buffer.from(contentMd5, 'base64').toString('hex')
    if (stored !== sent) {
      throw new IntegrityError(`PutObject s3://${input.Bucket}/${input.Key} answered ETag ${out.ETag}, not the MD5 of the bytes sent (${sent})`, {
        ...where,
        algorithm: 'md5',
        expected: sent,
        actual: stored,
      })
    }
  }
  return out.ETag ?? ''
}

/** HEAD the object under the key: its size and ETag (the upload layer sits below the stages). */
async function headObject(ref: BucketRef, key: string, opts: { signal?: AbortSignal } = {}): Promise<{ size: number; etag: string }> {
  try {
    const out = await transportOf(ref).headObject({ Bucket: ref.name, Key: key }, opts.signal ? { signal: opts.signal } : {})
    return { size: out.ContentLength ?? 0, etag: out.ETag ?? '' }
  } catch (err) {
    throw toBucketflowError(err, { bucket: ref.name, key, operation: 'HeadObject' })
  }
}
