/**
 * Unfinished multipart uploads ("orphans"): list them and abort them (like hostess
 * ls_multipart / abort_multipart_upload and rclone `cleanup`).
 * @packageDocumentation
 */
import { transportOf, type BucketRef } from '../bucket-ref.js'
import { InvalidArgumentError, toBucketflowError } from '../errors.js'
import { describeValue } from '../validate.js'
import { collect, type Result } from '../results.js'
import { createStage } from './factory.js'

/** An unfinished multipart upload. */
export interface UploadInfo {
  key: string
  uploadId: string
  initiated: Date | undefined
  storageClass: string | undefined
}

/**
 * List unfinished multipart uploads, optionally under a prefix.
 *
 * @example
 * ```ts
 * for await (const u of listUploads(bucket, { prefix: 'logs/' })) console.log(u.key, u.initiated)
 * ```
 */
export async function* listUploads(ref: BucketRef, options: { prefix?: string; signal?: AbortSignal } = {}): AsyncGenerator<UploadInfo> {
  let keyMarker: string | undefined
  let uploadIdMarker: string | undefined
  for (;;) {
    let out
    try {
      out = await transportOf(ref).listMultipartUploads(
        {
          Bucket: ref.name,
          ...(options.prefix ? { Prefix: options.prefix } : {}),
          ...(keyMarker ? { KeyMarker: keyMarker } : {}),
          ...(uploadIdMarker ? { UploadIdMarker: uploadIdMarker } : {}),
        },
        options.signal ? { signal: options.signal } : {},
      )
    } catch (err) {
      throw toBucketflowError(err, { bucket: ref.name, operation: 'ListMultipartUploads' })
    }
    for (const u of out.Uploads) {
      yield { key: u.Key, uploadId: u.UploadId, initiated: u.Initiated, storageClass: u.StorageClass }
    }
    if (!out.IsTruncated) return
    keyMarker = out.NextKeyMarker
    uploadIdMarker = out.NextUploadIdMarker
    if (!keyMarker && !uploadIdMarker) return
  }
}

/** Options for {@link abortUploads}. */
export interface AbortUploadsOptions {
  prefix?: string
  /** Only uploads initiated before `now - olderThan` ms (a number) or before this Date. */
  olderThan?: number | Date
  concurrency?: number
  signal?: AbortSignal
}

/**
 * Abort unfinished multipart uploads (optionally under a prefix and older than a cutoff);
 * resolves to one result per upload, its value the upload's info.
 *
 * @example
 * ```ts
 * const results = await abortUploads(bucket, { olderThan: 24 * 3600_000 })
 * ```
 */
export async function abortUploads(ref: BucketRef, options: AbortUploadsOptions = {}): Promise<Result<UploadInfo>[]> {
  const { olderThan } = options
  const validDate = olderThan instanceof Date && Number.isFinite(olderThan.getTime())
  const validMs = typeof olderThan === 'number' && Number.isFinite(olderThan) && olderThan >= 0
  if (olderThan !== undefined && !validDate && !validMs) {
    throw new InvalidArgumentError(`Expected olderThan to be milliseconds >= 0 or a valid Date, got ${describeValue(olderThan)}`, {
      argument: 'olderThan',
      bucket: ref.name,
    })
  }
  // The abort stage is built (and its options checked) before anything is listed.
  const abort = createStage<UploadInfo, UploadInfo>(
    ref,
    { ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}), ...(options.signal ? { signal: options.signal } : {}) },
    {
      keyOf: (u) => u.key,
      run: async (u, signal) => {
        try {
          await transportOf(ref).abortMultipartUpload({ Bucket: ref.name, Key: u.key, UploadId: u.uploadId }, { signal })
        } catch (err) {
          throw toBucketflowError(err, { bucket: ref.name, key: u.key, uploadId: u.uploadId, operation: 'AbortMultipartUpload' })
        }
        return u
      },
    },
  )
  const cutoff = olderThan === undefined ? undefined : olderThan instanceof Date ? olderThan.getTime() : Date.now() - (olderThan as number)
  const listOpts = { ...(options.prefix ? { prefix: options.prefix } : {}), ...(options.signal ? { signal: options.signal } : {}) }
  const uploads: UploadInfo[] = []
  for await (const u of listUploads(ref, listOpts)) {
    if (cutoff === undefined || (u.initiated !== undefined && u.initiated.getTime() < cutoff)) uploads.push(u)
  }
  return collect(abort(uploads))
}
