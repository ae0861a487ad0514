/**
 * Object metadata: `headObject` for one key, `headObjects` as a stage.
 * @packageDocumentation
 */
import { transportOf, type BucketRef } from '../bucket-ref.js'
import { toBucketflowError } from '../errors.js'
import { mapResults, type Result, type StageOptions } from '../results.js'
import { validateKey } from '../validate.js'

/** What HEAD tells about an object. */
export interface ObjectInfo {
  key: string
  size: number
  etag: string
  lastModified: Date | undefined
  /** STANDARD when the server omits it (as S3 does for STANDARD objects). */
  storageClass: string
  contentType: string | undefined
  metadata: Record<string, string>
  /** The `x-amz-restore` header of an archived object being or having been restored. */
  restore: string | undefined
}

/**
 * HEAD one object.
 *
 * @example
 * ```ts
 * const { size, storageClass } = await headObject(bucket, 'logs/2024-01-01.log')
 * ```
 */
export async function headObject(ref: BucketRef, key: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectInfo> {
  validateKey(key, ref.name)
  try {
    const out = await transportOf(ref).headObject({ Bucket: ref.name, Key: key }, opts.signal ? { signal: opts.signal } : {})
    return {
      key,
      size: out.ContentLength ?? 0,
      etag: out.ETag ?? '',
      lastModified: out.LastModified,
      storageClass: out.StorageClass ?? 'STANDARD',
      contentType: out.ContentType,
      metadata: out.Metadata,
      restore: out.Restore,
    }
  } catch (err) {
    throw toBucketflowError(err, { bucket: ref.name, key, operation: 'HeadObject' })
  }
}

/** A stage: HEAD each key it receives, `concurrency` at a time; one result per key. */
export function headObjects(ref: BucketRef, options: StageOptions = {}) {
  return (source: AsyncIterable<string> | Iterable<string>): AsyncGenerator<Result<ObjectInfo>> =>
    mapResults(source, (key) => key, (key, signal) => headObject(ref, key, { signal }), {
      concurrency: ref.concurrency ?? 8,
      ...options,
      bucket: ref.name,
    })
}
