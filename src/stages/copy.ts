/**
 * Server-side copies: `copyObject` for one key (multipart copy above 5 GiB), `copyObjects` as a
 * stage. Copying a key onto itself with a new storage class or metadata is allowed (that is how
 * storage classes change).
 * @packageDocumentation
 */
import { transportOf, type BucketRef, type StorageClass } from '../bucket-ref.js'
import type { CopyObjectInput } from '../transport/types.js'
import { multipartEtagParts } from '../checksums.js'
import { type BucketflowError, InvalidArgumentError, NoSuchBucketError, toBucketflowError } from '../errors.js'
import type { Result, StageOptions } from '../results.js'
import { validateBucketName, validateInteger, validateKey } from '../validate.js'
import { createStage } from './factory.js'
import { headObject, type ObjectInfo } from './head.js'
import { HeadBucketCommand } from '../aws-sdk.cjs'
import { encodeMetadata } from '../metadata.js'

/** Options for copies. */
export interface CopyOptions {
  /** Bucket to copy into. Default: the same bucket. */
  destinationBucket?: string
  storageClass?: StorageClass
  /** Replace the object's metadata with this (default: keep the source's). */
  metadata?: Record<string, string>
  contentType?: string
  signal?: AbortSignal
  /** Objects larger than this are copied in parts (UploadPartCopy). Default 5 GiB, the S3 limit. An integer >= 0. */
  multipartThreshold?: number
  /** Part size for multipart copies, 5 MiB to 5 GiB (raised to stay within 10,000 parts). Default 512 MiB. */
  partSize?: number
}

/** Where a copy went. */
export interface CopyResult {
  bucket: string
  key: string
  /** Bytes copied, when a HEAD was needed anyway (metadata replacement, multipart copy). */
  size?: number
  etag: string
}

const GiB = 1024 ** 3

/**
 * Copy `src` to `dst` (default: the same key, for a storage-class or metadata change).
 *
 * @example
 * ```ts
 * await copyObject(bucket, 'a.csv', 'archive/a.csv', { storageClass: 'STANDARD_IA' })
 * ```
 */
export async function copyObject(ref: BucketRef, src: string, dst: string = src, opts: CopyOptions = {}): Promise<CopyResult> {
  validateKey(src, ref.name, 'source key')
  validateKey(dst, ref.name, 'destination key')
  validateCopyOptions(opts)
  const bucket = opts.destinationBucket ?? ref.name
  const replace = opts.metadata !== undefined || opts.contentType !== undefined
  if (bucket === ref.name && src === dst && !replace && opts.storageClass === undefined) {
    throw new InvalidArgumentError(`Copying s3://${ref.name}/${src} onto itself needs a new storageClass or metadata`, {
      bucket: ref.name,
      key: src,
      argument: 'destination',
    })
  }
  const request = opts.signal ? { signal: opts.signal } : {}
  const where = { bucket: ref.name, key: src }
  const headSource = (): Promise<ObjectInfo> => headObject(ref, src, opts.signal ? { signal: opts.signal } : {})
  // A HEAD only when its answer is needed: to keep what a REPLACE would drop (metadata, content
  // type and encoding), or to decide on a multipart copy below a custom threshold. Otherwise one
  // CopyObject does it (storage-class changes of many objects take half the requests), and an
  // object too large for it is retried as a multipart copy.
  const threshold = opts.multipartThreshold ?? 5 * GiB
  let head: ObjectInfo | undefined
  if (replace || opts.multipartThreshold !== undefined) head = await headSource()
  const input: CopyObjectInput = { Bucket: bucket, Key: dst, CopySource: { Bucket: ref.name, Key: src } }
  // What the HEAD saw is what is copied: a source replaced meanwhile fails the copy (412) instead
  // of mixing the old object's headers (or, in parts, its bytes) with the new one.
  if (head?.etag) input.CopySourceIfMatch = head.etag
  if (opts.storageClass !== undefined) input.StorageClass = opts.storageClass
  if (replace) {
    input.MetadataDirective = 'REPLACE'
    input.Metadata = opts.metadata ?? head?.metadata ?? {}
    const contentType = opts.contentType ?? head?.contentType
    if (contentType !== undefined) input.ContentType = contentType
    // A gzip log stays readable as one (S3 drops Content-Encoding on a REPLACE unless it is sent).
    if (head?.contentEncoding !== undefined) input.ContentEncoding = head.contentEncoding
  }
  if (head === undefined || head.size <= threshold) {
    try {
      // The transport resolves only on a 200 carrying <CopyObjectResult>: an <Error> in it (with
      // or without whitespace around it) is a transient error it retries.
      const out = await transportOf(ref).copyObject(input, request)
      const result: CopyResult = { bucket, key: dst, etag: out.ETag ?? '' }
      if (head !== undefined) result.size = head.size
      return result
    } catch (err) {
      // S3 refuses CopyObject of a source over 5 GiB (InvalidRequest or EntityTooLarge): the size
      // from a HEAD decides, not the error's wording.
      const code = (err as { Code?: string; name?: string }).Code ?? (err as { name?: string }).name
      if (head !== undefined || (code !== 'InvalidRequest' && code !== 'EntityTooLarge')) {
        throw await copyError(ref, err, where, { bucket, key: dst }, opts.signal)
      }
      head = await headSource()
      if (head.size <= 5 * GiB) throw await copyError(ref, err, where, { bucket, key: dst }, opts.signal)
    }
  }
  return multipartCopy(ref, input, head, opts)
}

/** Check the options of a copy that do not depend on the keys; throws InvalidArgumentError. */
function validateCopyOptions(opts: CopyOptions): void {
  if (opts.destinationBucket !== undefined) validateBucketName(opts.destinationBucket)
  if (opts.metadata !== undefined) encodeMetadata(opts.metadata)
  if (opts.multipartThreshold !== undefined) validateInteger(opts.multipartThreshold, 'multipartThreshold', 0)
  if (opts.partSize !== undefined) validateInteger(opts.partSize, 'partSize', 5 * 1024 * 1024, 5 * GiB)
}

async function multipartCopy(ref: BucketRef, input: CopyObjectInput, head: ObjectInfo, opts: CopyOptions): Promise<CopyResult> {
  const request = opts.signal ? { signal: opts.signal } : {}
  const transport = transportOf(ref)
  const bucket = input.Bucket
  const key = input.Key
  const size = head.size
  // At most 10,000 parts: larger parts for a very large object.
  const partSize = Math.max(opts.partSize ?? 512 * 1024 * 1024, Math.ceil(size / 10_000))
  const contentType = input.ContentType ?? head.contentType
  const contentEncoding = input.ContentEncoding ?? head.contentEncoding
  const created = await transport
    .createMultipartUpload(
      {
        Bucket: bucket,
        Key: key,
        ...(input.StorageClass ? { StorageClass: input.StorageClass } : {}),
        Metadata: input.Metadata ?? head.metadata,
        ...(contentType ? { ContentType: contentType } : {}),
        ...(contentEncoding ? { ContentEncoding: contentEncoding } : {}),
      },
      request,
    )
    .catch((err: unknown) => Promise.reject(toBucketflowError(err, { bucket, key, operation: 'CreateMultipartUpload' })))
  const uploadId = created.UploadId
  try {
    const parts: { PartNumber: number; ETag: string }[] = []
    for (let offset = 0, n = 1; offset < size; offset += partSize, n++) {
      const last = Math.min(offset + partSize, size) - 1
      const out = await transport.uploadPartCopy(
        {
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: n,
          CopySource: input.CopySource,
          CopySourceRange: `bytes=${offset}-${last}`,
          ...(head.etag ? { CopySourceIfMatch: head.etag } : {}),
        },
        request,
      )
      parts.push({ PartNumber: n, ETag: out.ETag ?? '' })
    }
    let etag: string
    try {
      const done = await transport.completeMultipartUpload({ Bucket: bucket, Key: key, UploadId: uploadId, Parts: parts }, request)
      etag = done.ETag ?? ''
    } catch (err) {
      // A retry after a lost answer hears NoSuchUpload: success only if the object under the key
      // has as many parts and the size copied.
      const typed = toBucketflowError(err, { bucket, key, uploadId, operation: 'CompleteMultipartUpload' }, opts.signal)
      if (typed.code !== 'NoSuchUpload') throw typed
      const now = await headObject({ client: ref.client, name: bucket, transport }, key, request).catch(() => undefined)
      if (now === undefined || multipartEtagParts(now.etag)?.parts !== parts.length || now.size !== size) throw typed
      etag = now.etag
    }
    return { bucket, key, size, etag }
  } catch (err) {
    await transport.abortMultipartUpload({ Bucket: bucket, Key: key, UploadId: uploadId }).catch(() => undefined)
    throw toBucketflowError(err, { bucket, key, uploadId, operation: 'UploadPartCopy' }, opts.signal)
  }
}

/**
 * The typed error of a failed copy, naming what failed: a missing bucket is the source's or the
 * destination's (some servers name the wrong one in the error, so a HEAD of the destination
 * bucket decides); anything else is located at the source key.
 */
async function copyError(
  ref: BucketRef,
  err: unknown,
  source: { bucket: string; key: string },
  destination: { bucket: string; key: string },
  signal?: AbortSignal,
): Promise<BucketflowError> {
  const typed = toBucketflowError(err, { ...source, operation: 'CopyObject' }, signal)
  if (!(typed instanceof NoSuchBucketError) || source.bucket === destination.bucket) return typed
  let destinationMissing = false
  try {
    await ref.client.send(new HeadBucketCommand({ Bucket: destination.bucket }), signal ? { abortSignal: signal } : {})
  } catch (e) {
    destinationMissing = toBucketflowError(e, { bucket: destination.bucket }) instanceof NoSuchBucketError
  }
  const missing = destinationMissing ? destination.bucket : source.bucket
  return new NoSuchBucketError(
    `Bucket ${missing} does not exist (copying s3://${source.bucket}/${source.key} to s3://${destination.bucket}/${destination.key})`,
    {
      bucket: missing,
      ...(destinationMissing ? { key: destination.key } : { key: source.key }),
      ...(typed.statusCode !== undefined ? { statusCode: typed.statusCode } : {}),
      ...(typed.requestId !== undefined ? { requestId: typed.requestId } : {}),
      cause: err,
    },
  )
}

/** One item for {@link copyObjects}: a source key and an optional destination key. */
export type CopyItem = string | { source: string; destination?: string }

/**
 * A stage: copy each item it receives (a key, copied onto itself, or `{ source, destination }`),
 * `concurrency` at a time; one result per item, in input order unless `ordered: false`. Options
 * are validated at the call. Memory: at most `concurrency` results held (copies are server-side).
 *
 * @example
 * ```ts
 * const items = [{ source: 'in/a.csv', destination: 'archive/a.csv' }, { source: 'in/b.csv', destination: 'archive/b.csv' }]
 * for await (const r of copyObjects(bucket, { storageClass: 'STANDARD_IA' })(items)) {
 *   if (!r.ok) console.error(r.key, r.error.code)
 * }
 * ```
 */
export function copyObjects(
  ref: BucketRef,
  options: StageOptions & CopyOptions = {},
): (source: AsyncIterable<CopyItem> | Iterable<CopyItem>) => AsyncGenerator<Result<CopyResult>> {
  return createStage<CopyItem, CopyResult>(ref, options, {
    validate: () => validateCopyOptions(options),
    keyOf: (item) => (typeof item === 'string' ? item : item.source),
    run: (item, signal) =>
      typeof item === 'string'
        ? copyObject(ref, item, item, { ...options, signal })
        : copyObject(ref, item.source, item.destination ?? item.source, { ...options, signal }),
  })
}
