/**
 * Storage classes: `freezeObject` moves an object to an archival class (a copy onto itself);
 * `restoreObject` asks for a temporary readable copy of an archived object. Both as stages too.
 * @packageDocumentation
 */
import type { Tier } from '@aws-sdk/client-s3'
import type { BucketRef, StorageClass } from '../bucket-ref.js'
import { toBucketflowError } from '../errors.js'
import type { Result, StageOptions } from '../results.js'
import { validateInteger, validateKey } from '../validate.js'
import { copyObject, type CopyResult } from './copy.js'
import { createStage } from './factory.js'
import { RestoreObjectCommand } from '../aws-sdk.cjs'

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
 *
 * @example
 * ```ts
 * await restoreObject(bucket, 'raw/2019.tar', { tier: 'Standard', days: 2 })
 * const { restore } = await bucket.head('raw/2019.tar') // 'ongoing-request="true"' until ready
 * ```
 */
export async function restoreObject(ref: BucketRef, key: string, opts: RestoreOptions = {}): Promise<void> {
  validateKey(key, ref.name)
  const days = validateRestoreOptions(opts)
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

/** Check a restore's options; returns the days. Throws InvalidArgumentError. */
function validateRestoreOptions(opts: Omit<RestoreOptions, 'signal'>): number {
  const days = opts.days ?? 5
  validateInteger(days, 'days', 1)
  return days
}

/**
 * A stage: change the storage class of each key it receives (default DEEP_ARCHIVE),
 * `concurrency` at a time; one result per key, in input order unless `ordered: false`.
 * Memory: at most `concurrency` results held.
 *
 * @example
 * ```ts
 * for await (const r of freezeObjects(bucket, { storageClass: 'GLACIER' })(['raw/2019.tar', 'raw/2020.tar'])) {
 *   if (!r.ok) console.error(r.key, r.error.code)
 * }
 * ```
 */
export function freezeObjects(
  ref: BucketRef,
  options: StageOptions & { storageClass?: StorageClass } = {},
): (source: AsyncIterable<string> | Iterable<string>) => AsyncGenerator<Result<CopyResult>> {
  return createStage<string, CopyResult>(ref, options, {
    keyOf: (key) => key,
    run: (key, signal) => freezeObject(ref, key, options.storageClass ?? 'DEEP_ARCHIVE', { signal }),
  })
}

/**
 * A stage: request a restore of each key it receives, `concurrency` at a time; one result per
 * key, in input order unless `ordered: false`. `days` is validated at the call.
 *
 * @example
 * ```ts
 * for await (const r of restoreObjects(bucket, { days: 3 })(['raw/2019.tar', 'raw/2020.tar'])) {
 *   if (!r.ok) console.error(r.key, r.error.code)
 * }
 * ```
 */
export function restoreObjects(
  ref: BucketRef,
  options: StageOptions & Omit<RestoreOptions, 'signal'> = {},
): (source: AsyncIterable<string> | Iterable<string>) => AsyncGenerator<Result<void>> {
  return createStage<string, void>(ref, options, {
    validate: () => validateRestoreOptions(options),
    keyOf: (key) => key,
    run: (key, signal) => restoreObject(ref, key, { ...options, signal }),
  })
}
