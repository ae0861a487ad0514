/**
 * `splitKeySpace`: disjoint key ranges covering a bucket (or a prefix), from the partitioned
 * lister's own splitter, without listing the whole bucket: it starts a partitioned listing, takes
 * its first page and returns where the listing stands. For work handed to other machines (one
 * Step Functions child per range, see {@link writeKeyRanges}).
 *
 * @example
 * ```ts
 * import { splitKeySpace, writeKeyRanges } from 'bucketflow'
 * const checkpoint = await splitKeySpace(bucket, { prefix: 'logs/', parts: 32 })
 * await writeKeyRanges(bucket, 'sfn/ranges.jsonl', checkpoint)
 * ```
 * @packageDocumentation
 */
import type { BucketRef } from '../bucket-ref.js'
import { listPartitioned, type ListCheckpoint } from '../stages/partition/index.js'
import { validateInteger } from '../validate.js'

/** Options for {@link splitKeySpace}. */
export interface SplitKeySpaceOptions {
  /** Only keys under this prefix. */
  prefix?: string
  /** About how many ranges (the splitter may find fewer, or up to twice as many). Default 16. */
  parts?: number
  signal?: AbortSignal
}

/**
 * Key ranges covering every key under `prefix`, as a {@link ListCheckpoint} (plain JSON; resume
 * a listing from it, or write it with {@link writeKeyRanges}). Costs the splitter's discovery
 * requests plus up to `parts` first pages.
 *
 * @example
 * ```ts
 * const { ranges } = await splitKeySpace(bucket, { parts: 8 })
 * console.log(ranges.length, ranges[0])
 * ```
 */
export async function splitKeySpace(ref: BucketRef, options: SplitKeySpaceOptions = {}): Promise<ListCheckpoint> {
  const parts = options.parts ?? 16
  validateInteger(parts, 'parts', 1)
  const prefix = options.prefix ?? ''
  const listing = listPartitioned(ref, { prefix, concurrency: parts, ordered: true, ...(options.signal ? { signal: options.signal } : {}) })
  let checkpoint: ListCheckpoint = { version: 1, bucket: ref.name, prefix, ranges: [{}] }
  for await (const _page of listing) {
    checkpoint = listing.checkpoint()
    break
  }
  // The first page came from the first range: give that range its keys back.
  const ranges = checkpoint.ranges.length === 0 ? [{}] : checkpoint.ranges.map((r) => ({ ...r }))
  delete ranges[0]!.startAfter
  return { ...checkpoint, ranges }
}
