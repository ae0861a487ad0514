/**
 * `writeKeyRanges`: a JSON Lines object of disjoint key ranges, one line per Step Functions
 * Distributed Map child, so each child lists (and works on) one range of the bucket with
 * bucketflow: `listPages(bucket, { prefix, startAfter, endBefore })`. This is how work that S3
 * Batch Operations cannot do (delete, copies over 5 GB, user code) is spread over machines without
 * any coordinator of bucketflow's own: Step Functions runs the children, bucketflow lists a range.
 *
 * Each line: `{"bucket":"photos","prefix":"","startAfter":"k1","endBefore":"k2\u0000"}` (absent
 * bounds omitted; range semantics of {@link listPartitioned}: strictly after, strictly before).
 *
 * @example
 * ```ts
 * import { itemReaderFor, splitKeySpace, writeKeyRanges } from 'bucketflow'
 * const written = await writeKeyRanges(bucket, 'sfn/ranges.jsonl', await splitKeySpace(bucket, { parts: 64 }))
 * const itemReader = itemReaderFor({ bucket: bucket.name, key: written.key, format: 'jsonl' })
 * ```
 * @packageDocumentation
 */
import type { BucketRef } from '../bucket-ref.js'
import { InvalidArgumentError } from '../errors.js'
import { compareKeys } from '../keys.js'
import type { KeyRange, ListCheckpoint } from '../stages/partition/index.js'
import { putObject } from '../stages/put.js'
import { describeValue, validateBucketName, validateKey } from '../validate.js'
import { objectArn, validatePartition } from './arn.js'

/** One line of a key-ranges file. */
export interface KeyRangeItem extends KeyRange {
  /** The bucket to list. */
  bucket: string
  /** The prefix to list under ('' for the whole bucket). */
  prefix: string
}

/** Options for {@link writeKeyRanges}. */
export interface WriteKeyRangesOptions {
  /** The bucket the children list. Default: the checkpoint's bucket, else the bucket written to. */
  source?: string
  /** The prefix the children list under. Default: the checkpoint's prefix, else ''. */
  prefix?: string
  /** ARN partition of `objectArn`. Default 'aws'. */
  partition?: string
  signal?: AbortSignal
}

/** What {@link writeKeyRanges} wrote. */
export interface WrittenKeyRanges {
  key: string
  /** `arn:aws:s3:::bucket/key` of the JSONL object. */
  objectArn: string
  etag: string
  /** Lines written (ranges). */
  rows: number
}

function isCheckpoint(x: unknown): x is ListCheckpoint {
  return x !== null && typeof x === 'object' && !Array.isArray(x) && Array.isArray((x as ListCheckpoint).ranges)
}

/**
 * Throws InvalidArgumentError unless the ranges are in key order and pairwise disjoint.
 *
 * @example
 * ```ts
 * validateKeyRanges([{ endBefore: 'm\u0000' }, { startAfter: 'm' }]) // fine
 * validateKeyRanges([{ endBefore: 'n' }, { startAfter: 'a' }]) // throws: they overlap
 * ```
 */
export function validateKeyRanges(ranges: readonly KeyRange[]): void {
  const bad = (i: number, why: string) => new InvalidArgumentError(`Expected disjoint key ranges in key order: range ${i} ${why}`, { argument: 'ranges' })
  for (const [i, r] of ranges.entries()) {
    if (r === null || typeof r !== 'object') throw bad(i, `is ${describeValue(r)}`)
    for (const k of ['startAfter', 'endBefore'] as const) {
      if (r[k] !== undefined && typeof r[k] !== 'string') throw bad(i, `has a non-string ${k} ${describeValue(r[k])}`)
    }
    if (r.startAfter !== undefined && r.endBefore !== undefined && compareKeys(r.startAfter, r.endBefore) >= 0)
      throw bad(i, 'is empty (startAfter >= endBefore)')
    if (i === 0) continue
    const prev = ranges[i - 1]!
    // Disjoint when every key of the previous range (< its endBefore) is <= this range's startAfter,
    // i.e. endBefore <= startAfter + '\u0000' (no key lies strictly between s and s + '\u0000').
    if (prev.endBefore === undefined || r.startAfter === undefined || compareKeys(prev.endBefore, `${r.startAfter}\u0000`) > 0) {
      throw bad(i, 'overlaps the range before it')
    }
  }
}

/**
 * Write `ranges` (key ranges, or a {@link ListCheckpoint} from `listing.checkpoint()` or
 * {@link splitKeySpace}) to `key` as JSON Lines. The ranges must be disjoint and in key order
 * (InvalidArgumentError otherwise, before any request).
 *
 * @example
 * ```ts
 * import { Bucket } from 'bucketflow'
 * const [inv, work] = [new Bucket('inventory-reports'), new Bucket('work')]
 * const manifestKey = 'inv/photos/daily/2024-05-01T01-00Z/manifest.json'
 * const ranges = await inventorySplits(readInventory(inv, manifestKey, { columns: ['Key'] }), 100)
 * const { objectArn } = await writeKeyRanges(work, 'jobs/ranges.jsonl', ranges, { source: 'photos' })
 * ```
 */
export async function writeKeyRanges(
  ref: BucketRef,
  key: string,
  ranges: readonly KeyRange[] | ListCheckpoint,
  options: WriteKeyRangesOptions = {},
): Promise<WrittenKeyRanges> {
  validateKey(key, ref.name)
  const partition = options.partition ?? 'aws'
  validatePartition(partition)
  const list = isCheckpoint(ranges) ? ranges.ranges : ranges
  if (!Array.isArray(list))
    throw new InvalidArgumentError(`Expected ranges to be an array of key ranges or a listing checkpoint, got ${describeValue(ranges)}`, { argument: 'ranges' })
  if (list.length === 0) throw new InvalidArgumentError('Expected at least one key range', { argument: 'ranges' })
  validateKeyRanges(list)
  const source = options.source ?? (isCheckpoint(ranges) ? ranges.bucket : ref.name)
  validateBucketName(source)
  const prefix = options.prefix ?? (isCheckpoint(ranges) ? ranges.prefix : '')
  if (typeof prefix !== 'string') throw new InvalidArgumentError(`Expected prefix to be a string, got ${describeValue(prefix)}`, { argument: 'prefix' })
  const lines = list.map((r) => {
    const item: KeyRangeItem = { bucket: source, prefix }
    if (r.startAfter !== undefined) item.startAfter = r.startAfter
    if (r.endBefore !== undefined) item.endBefore = r.endBefore
    return JSON.stringify(item)
  })
  const body = Buffer.from(`${lines.join('\n')}\n`, 'utf8')
  const out = await putObject(ref, body, key, { contentType: 'application/x-ndjson', ...(options.signal ? { signal: options.signal } : {}) })
  return { key, objectArn: objectArn(ref.name, key, partition), etag: out.etag.replaceAll('"', ''), rows: lines.length }
}
