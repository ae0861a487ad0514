/**
 * `inventorySplits`: key ranges of about equal size for a partitioned listing (or for one Step
 * Functions child each), from an inventory's keys instead of from listing requests. An inventory
 * knows the whole key space, so its split points are the best a fresh listing can start from.
 *
 * @example
 * ```ts
 * import { inventorySplits, listPartitioned, readInventory } from 'bucketflow'
 * const inventoryBucket = new Bucket('inventory-reports')
 * const manifestKey = 'inv/photos/daily/2024-05-01T01-00Z/manifest.json'
 * const ranges = await inventorySplits(readInventory(inventoryBucket, manifestKey, { columns: ['Key'] }), 16)
 * const pages = listPartitioned(bucket, { concurrency: 16, resume: { version: 1, bucket: bucket.name, prefix: '', ranges } })
 * ```
 * @packageDocumentation
 */
import type { RecordBatch } from 'apache-arrow'
import { InvalidArgumentError } from '../errors.js'
import { compareKeys } from '../keys.js'
import type { KeyRange } from '../stages/partition/index.js'
import { describeValue, validateInteger } from '../validate.js'

/** Options for {@link inventorySplits}. */
export interface InventorySplitsOptions {
  /**
   * Keys kept (a uniform reservoir sample) to choose split points from: the ranges come within a
   * few percent of equal. Default 100,000 (about 10 MB); an inventory with fewer keys is split exactly.
   */
  sampleSize?: number
}

/**
 * Read every batch (their `Key` column) and return `n` disjoint key ranges that together cover
 * the whole key space, each holding about the same number of the batches' keys, in key order.
 * Range `i` is `(startAfter, endBefore)` as in {@link listPartitioned}: the first has no
 * `startAfter`, the last no `endBefore`. Fewer ranges come back when there are fewer distinct keys.
 * Memory: the sample (`sampleSize` keys).
 *
 * @example
 * ```ts
 * const inv = new Bucket('inventory-reports')
 * const manifestKey = 'inv/photos/daily/2024-05-01T01-00Z/manifest.json'
 * const ranges = await inventorySplits(readInventory(inv, manifestKey), 64)
 * await writeKeyRanges(bucket, 'sfn/ranges.jsonl', ranges)
 * ```
 */
export async function inventorySplits(
  batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>,
  n: number,
  options: InventorySplitsOptions = {},
): Promise<KeyRange[]> {
  validateInteger(n, 'n', 1)
  const sampleSize = options.sampleSize ?? 100_000
  validateInteger(sampleSize, 'sampleSize', 1)
  if (batches === null || typeof batches !== 'object' || (!(Symbol.asyncIterator in batches) && !(Symbol.iterator in batches))) {
    throw new InvalidArgumentError(`Expected batches to be an (async) iterable of arrow RecordBatch, got ${describeValue(batches)}`, { argument: 'batches' })
  }
  // Reservoir sampling (algorithm R) with a fixed seed: the same input gives the same ranges.
  let seed = 0x2545f491
  const random = (): number => {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    return (seed >>> 0) / 4294967296
  }
  const sample: string[] = []
  let seen = 0
  for await (const batch of batches as AsyncIterable<RecordBatch>) {
    const keys = batch.getChild('Key')
    if (keys === null) throw new InvalidArgumentError('Expected batches with a Key column (readInventory or toRecordBatches output)', { argument: 'batches' })
    for (const key of keys as Iterable<string | null>) {
      if (typeof key !== 'string') continue
      seen++
      if (sample.length < sampleSize) sample.push(key)
      else {
        const j = Math.floor(random() * seen)
        if (j < sampleSize) sample[j] = key
      }
    }
  }
  sample.sort(compareKeys)
  const splits: string[] = []
  for (let i = 1; i < n; i++) {
    const at = sample[Math.floor((i * sample.length) / n) - 1]
    if (at !== undefined && (splits.length === 0 || compareKeys(at, splits.at(-1)!) > 0) && compareKeys(at, sample.at(-1)!) < 0) splits.push(at)
  }
  if (splits.length === 0) return [{}]
  const ranges: KeyRange[] = [{ endBefore: `${splits[0]!}\u0000` }]
  for (let i = 1; i < splits.length; i++) ranges.push({ startAfter: splits[i - 1]!, endBefore: `${splits[i]!}\u0000` })
  ranges.push({ startAfter: splits.at(-1)! })
  return ranges
}
