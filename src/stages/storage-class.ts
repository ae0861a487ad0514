/**
 * Storage classes: `freezeObject` moves an object to an archival class (a copy onto itself);
 * `restoreObject` asks for a temporary readable copy of an archived object. Both as stages too.
 * @packageDocumentation
 */
import { RestoreObjectCommand, type Tier } from '@aws-sdk/client-s3'
import type { BucketRef, StorageClass } from '../bucket-ref.js'
import { toBucketflowError } from '../errors.js'
import { mapResults, type Result, type StageOptions } from '../results.js'
import { validateInteger, validateKey } from '../validate.js'
import { copyObject, type CopyResult } from './copy.js'

/**
 * Change an object's storage class in place (default DEEP_ARCHIVE).
 *
 * @example
 * ```ts
 * await freezeObject(bucket, 'raw/2019.tar', 'GLACIER')
 * ```
 */
export function freezeObject(
  ref: BucketRef,
  key: string,
  storageClass: StorageClass = 'DEEP_ARCHIVE',
  opts: { signal?: AbortSignal } = {},
): Promise<CopyResult> {
  return copyObject(ref, key, key, { storageClass, ...(opts.signal ? { signal: opts.signal } : {}) })
}

/** Options for {@link restoreObject}. */
export interface RestoreOptions {
  /** Retrieval tier. Default 'Bulk' (the cheapest). */
  tier?: Tier | 'Standard' | 'Bulk' | 'Expedited'
  /** Days the restored copy stays readable. Default 5. */
  days?: number
  signal?: AbortSignal
}

/**
 * Start restoring an archived object. Resolves when the request is accepted (the copy becomes
 * readable later; `head(key).restore` tells when). Servers without RestoreObject raise
 * NotImplementedError.
 */
export async function restoreObject(ref: BucketRef, key: string, opts: RestoreOptions = {}): Promise<void> {
  validateKey(key, ref.name)
  const days = opts.days ?? 5
  validateInteger(days, 'days', 1)
  try {
    await ref.client.send(
      new RestoreObjectCommand({
        Bucket: ref.name,
        Key: key,
        RestoreRequest: { Days: days, GlacierJobParameters: { Tier: (opts.tier ?? 'Bulk') as Tier } },
      }),
      opts.signal ? { abortSignal: opts.signal } : {},
    )
  } catch (err) {
    throw toBucketflowError(err, { bucket: ref.name, key, operation: 'RestoreObject' })
  }
}

/** A stage: change the storage class of each key it receives; one result per key. */
export function freezeObjects(ref: BucketRef, options: StageOptions & { storageClass?: StorageClass } = {}) {
  return (source: AsyncIterable<string> | Iterable<string>): AsyncGenerator<Result<CopyResult>> =>
    mapResults(source, (key) => key, (key, signal) => freezeObject(ref, key, options.storageClass ?? 'DEEP_ARCHIVE', { signal }), {
      concurrency: ref.concurrency ?? 8,
      ...options,
      bucket: ref.name,
    })
}

/** A stage: request a restore of each key it receives; one result per key. */
export function restoreObjects(ref: BucketRef, options: StageOptions & Omit<RestoreOptions, 'signal'> = {}) {
  return (source: AsyncIterable<string> | Iterable<string>): AsyncGenerator<Result<void>> =>
    mapResults(source, (key) => key, (key, signal) => restoreObject(ref, key, { ...options, signal }), {
      concurrency: ref.concurrency ?? 8,
      ...options,
      bucket: ref.name,
    })
}
