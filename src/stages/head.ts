/**
 * Object metadata: `headObject` for one key, `headObjects` as a stage.
 * @packageDocumentation
 */
import { transportOf, type BucketRef } from '../bucket-ref.js'
import { toBucketflowError } from '../errors.js'
import type { Result, StageOptions } from '../results.js'
import { validateKey } from '../validate.js'
import { createStage } from './factory.js'

/** What HEAD tells about an object. */
export interface ObjectInfo {
  key: string
  size: number
  etag: string
  lastModified: Date | undefined
  /** STANDARD when the server omits it (as S3 does for STANDARD objects). */
  storageClass: string
  contentType: string | undefined
  /** `Content-Encoding`, e.g. `gzip` for a compressed log object. */
  contentEncoding: string | undefined
  /** User metadata (`x-amz-meta-*`), names lower-cased, values as they were given (see encodeMetadata). */
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
      contentEncoding: out.ContentEncoding,
      metadata: out.Metadata,
      restore: out.Restore,
    }
  } catch (err) {
    throw toBucketflowError(err, { bucket: ref.name, key, operation: 'HeadObject' })
  }
}

/**
 * A stage: HEAD each key it receives, `concurrency` at a time; one result per key, in input order
 * unless `ordered: false`. Options are validated at the call. Memory: at most `concurrency`
 * results held.
 *
 * @example
 * ```ts
 * for await (const r of headObjects(bucket, { concurrency: 16 })(['a.csv', 'b.csv'])) {
 *   console.log(r.key, r.ok ? r.value.size : r.error.code)
 * }
 * ```
 */
export function headObjects(
  ref: BucketRef,
  options: StageOptions = {},
): (source: AsyncIterable<string> | Iterable<string>) => AsyncGenerator<Result<ObjectInfo>> {
  return createStage<string, ObjectInfo>(ref, options, {
    keyOf: (key) => key,
    run: (key, signal) => headObject(ref, key, { signal }),
  })
}
