/**
 * Deletes: `deleteObject` for one key, `deleteObjects` as a stage that batches keys into
 * DeleteObjects requests of up to 1000 and yields one result per key, in input order.
 * @packageDocumentation
 */
import { transportOf, type BucketRef } from '../bucket-ref.js'
import { S3Error, toBucketflowError } from '../errors.js'
import type { Result, StageOptions } from '../results.js'
import { validateKey } from '../validate.js'
import { createBatchStage } from './factory.js'

/**
 * Delete one object. Deleting a key that does not exist succeeds, as in S3.
 *
 * @example
 * ```ts
 * await deleteObject(bucket, 'tmp/scratch.json')
 * ```
 */
export async function deleteObject(ref: BucketRef, key: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
  validateKey(key, ref.name)
  try {
    await transportOf(ref).deleteObject({ Bucket: ref.name, Key: key }, opts.signal ? { signal: opts.signal } : {})
  } catch (err) {
    throw toBucketflowError(err, { bucket: ref.name, key, operation: 'DeleteObject' })
  }
}

/** Options for {@link deleteObjects}. */
export interface DeleteOptions extends StageOptions {
  /** Keys per DeleteObjects request, 1 to 1000. Default 1000. */
  batchSize?: number
}

async function deleteBatch(ref: BucketRef, keys: string[], signal?: AbortSignal): Promise<Result<void>[]> {
  const results: Result<void>[] = new Array(keys.length)
  const valid: { key: string; index: number }[] = []
  keys.forEach((key, index) => {
    try {
      validateKey(key, ref.name)
      valid.push({ key, index })
    } catch (error) {
      results[index] = { ok: false, key: String(key), error: toBucketflowError(error) }
    }
  })
  if (valid.length > 0) {
    try {
      const out = await transportOf(ref).deleteObjects(
        { Bucket: ref.name, Objects: valid.map(({ key }) => ({ Key: key })), Quiet: true },
        signal ? { signal } : {},
      )
      const failed = new Map<string, { Code?: string | undefined; Message?: string | undefined }>()
      for (const e of out.Errors) failed.set(e.Key, e)
      for (const { key, index } of valid) {
        const e = failed.get(key)
        results[index] = e
          ? {
              ok: false,
              key,
              error: new S3Error(
                `Delete of s3://${ref.name}/${key} failed: ${e.Code ?? 'error'} ${e.Message ?? ''}`.trim(),
                { bucket: ref.name, key },
                e.Code ?? 'DeleteFailed',
              ),
            }
          : { ok: true, key, value: undefined }
      }
    } catch (err) {
      for (const { key, index } of valid) {
        results[index] = { ok: false, key, error: toBucketflowError(err, { bucket: ref.name, key, operation: 'DeleteObjects' }, signal) }
      }
    }
  }
  return results
}

/**
 * A stage: delete every key it receives, in DeleteObjects batches of `batchSize` (1000), with
 * `concurrency` batches in flight (default: the bucket's, at most 4); yields one result per key
 * in input order (unless `ordered: false`). Options are validated at the call. When the consumer
 * stops early, the batches in flight are aborted and no new one is sent.
 * Memory: at most `concurrency x batchSize` keys held.
 *
 * @example
 * ```ts
 * for await (const r of deleteObjects(bucket, { batchSize: 500 })(bucket.list('tmp/'))) {
 *   if (!r.ok) console.error(r.key, r.error.code)
 * }
 * ```
 */
export function deleteObjects(ref: BucketRef, options: DeleteOptions = {}): (source: AsyncIterable<string> | Iterable<string>) => AsyncGenerator<Result<void>> {
  return createBatchStage<void>(ref, options, {
    batchSize: options.batchSize ?? 1000,
    maxBatchSize: 1000,
    concurrency: Math.min(ref.concurrency ?? 8, 4),
    run: (keys, signal) => deleteBatch(ref, keys, signal),
  })
}
