/**
 * Key-space-partitioned parallel listing: `listPartitioned` lists a bucket (or a prefix of it) as
 * disjoint key ranges, `concurrency` ListObjectsV2 requests at a time, and yields every key exactly
 * once.
 *
 * How the key space is split:
 * - A range is `(startAfter, endBefore)`: keys strictly after `startAfter` and strictly before
 *   `endBefore`, in UTF-8 byte order (S3's order). Splitting a range at a string `s` gives
 *   `(startAfter, s + '\u0000')` and `(s, endBefore)`: since no string lies strictly between `s` and
 *   `s + '\u0000'`, each key lands in exactly one of them, whatever the key set is. So every split
 *   point is safe; the choice of split points only affects speed.
 * - Start: one ListObjectsV2 with Delimiter '/' (and one more level under each prefix found, when
 *   there are few) discovers common prefixes; evenly spaced ones become the first split points.
 * - While listing (work stealing): when a request slot is free and no range is waiting, a range
 *   that has listed a page and looks to have at least four pages left is split halfway between
 *   its cursor and its end. "Halfway" is computed in UTF-8 order with, at each character
 *   position, the characters seen there in keys so far as digits (a mixed-radix number), so
 *   split points fall where keys branch: a date's day, a host number, a hash digit. A prefix
 *   holding most keys is bisected again and again as idle slots appear, without knowing its size.
 *   A request already in flight for the split range is clipped to its new end when it answers.
 * - Waste is bounded: a split-off range asks for 100 keys first (it may be empty); a range
 *   whose split-offs came back empty twice is not split again until it lists another page; the
 *   last request of a range asks for about the keys estimated to be left (whole pages again once
 *   an estimate proved too low).
 * - A range that hits its end bound (a key >= endBefore) or the end of the listing is finished.
 *
 * Memory: at most `2 * concurrency` pages fetched or in flight (plus one page of the first
 * unfinished range in `ordered` mode), i.e. at most `(2 * concurrency + 1) * pageSize` entries.
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises'
 * import { listPartitioned } from 'bucketflow'
 * const listing = listPartitioned(bucket, { prefix: 'logs/', concurrency: 16 })
 * for await (const page of listing) {
 *   for (const o of page.objects) console.log(o.key, o.size)
 *   await writeFile('listing.checkpoint.json', JSON.stringify(listing.checkpoint())) // resume later with { resume }
 * }
 * ```
 * @packageDocumentation
 */
import type { BucketRef } from '../../bucket-ref.js'
import { AbortError, BucketflowError, InvalidArgumentError, toBucketflowError } from '../../errors.js'
import { compareKeys } from '../../keys.js'
import { throwIfAborted } from '../../results.js'
import { linkedController } from '../../util/abort.js'
import { validateConcurrency, validateInteger, validateKey } from '../../validate.js'
import { fetchListPage, type ListPage } from '../list.js'
import { Scheduler } from './scheduler.js'
import type { KeyRange, ListCheckpoint, ListProgress, PartitionedListing, PartitionedListOptions } from './types.js'

export type { KeyRange, ListCheckpoint, ListProgress, PartitionedListing, PartitionedListOptions } from './types.js'
export { estimateRemaining, KeyShape, planSplit } from './keyspace.js'

const DISCOVERY_DELIMITER = '/'

/**
 * List every key (under `prefix`) as disjoint key ranges, `concurrency` requests at a time,
 * yielding ListObjectsV2 pages as they arrive; each key is yielded exactly once, whatever the
 * key set (unicode, 1024-byte keys, keys without '/', a prefix holding most keys, empty ranges).
 * Pages of different ranges interleave unless `ordered: true`.
 *
 * Early `break`, an error or `signal` aborts the requests in flight.
 *
 * @example
 * ```ts
 * let n = 0
 * for await (const page of listPartitioned(bucket, { concurrency: 16 })) n += page.objects.length
 * ```
 */
export function listPartitioned(ref: BucketRef, options: PartitionedListOptions = {}): PartitionedListing {
  const concurrency = options.concurrency ?? ref.concurrency ?? 8
  validateConcurrency(concurrency)
  const pageSize = options.pageSize ?? 1000
  validateInteger(pageSize, 'pageSize', 1, 1000)
  const prefix = options.prefix ?? ''
  if (prefix !== '') validateKey(prefix, ref.name, 'prefix')
  if (options.resume !== undefined) validateCheckpoint(options.resume, ref.name, prefix)
  const settings = { prefix, pageSize, concurrency, ordered: options.ordered ?? false, fetchOwner: options.fetchOwner ?? false }

  let scheduler: Scheduler | undefined
  let keys = 0
  let pages = 0
  const progress = (): ListProgress => ({ keys, pages, rangesDone: scheduler?.rangesDone ?? 0, rangesTotal: scheduler?.rangesTotal ?? 0 })
  const checkpoint = (): ListCheckpoint => {
    if (scheduler === undefined && options.resume) return structuredClone(options.resume)
    return { version: 1, bucket: ref.name, prefix, ranges: scheduler === undefined ? [{}] : scheduler.checkpointRanges() }
  }

  async function* run(): AsyncGenerator<ListPage, void, undefined> {
    const outer = options.signal
    const { controller, dispose } = linkedController(outer)
    const signal = controller.signal
    const s = new Scheduler(ref, settings, signal, outer)
    try {
      s.seed(options.resume ? options.resume.ranges : await firstRanges(ref, prefix, concurrency, signal))
      scheduler = s
      s.pump()
      for (;;) {
        if (s.failure !== undefined) throw toBucketflowError(s.failure, { bucket: ref.name, operation: 'ListObjectsV2' })
        throwIfAborted(outer, { bucket: ref.name })
        const item = s.take()
        if (item !== undefined) {
          keys += item.page.objects.length
          pages++
          s.yielded(item)
          options.onProgress?.(progress())
          yield item.page
          continue
        }
        if (s.ranges.length === 0 && s.inFlight === 0) {
          options.onProgress?.(progress())
          break
        }
        if (s.inFlight === 0) s.pump()
        if (s.inFlight === 0 && s.failure === undefined) {
          // Cannot happen by construction; fail loudly rather than wait forever.
          throw new BucketflowError(`Partitioned listing stalled with ${s.ranges.length} ranges left`, { bucket: ref.name })
        }
        await s.wait()
      }
    } catch (err) {
      if (err instanceof AbortError || !(signal.aborted && outer?.aborted)) throw err
      throw new AbortError('The listing was aborted', { bucket: ref.name, cause: outer.reason })
    } finally {
      dispose()
      controller.abort(new AbortError('The consumer stopped'))
    }
  }

  const gen = run() as PartitionedListing
  gen.checkpoint = checkpoint
  gen.progress = progress
  return gen
}

/** The first ranges of a fresh listing: the key space cut at the discovered split points. */
async function firstRanges(ref: BucketRef, prefix: string, concurrency: number, signal: AbortSignal): Promise<KeyRange[]> {
  const splits = concurrency > 1 ? await discoverSplits(ref, prefix, concurrency, signal) : []
  const ranges: KeyRange[] = []
  let after: string | undefined
  for (const s of splits) {
    ranges.push({ ...(after !== undefined ? { startAfter: after } : {}), endBefore: `${s}\u0000` })
    after = s
  }
  ranges.push(after !== undefined ? { startAfter: after } : {})
  return ranges
}

function validateCheckpoint(cp: ListCheckpoint, bucket: string, prefix: string): void {
  const bad = (why: string) => new InvalidArgumentError(`Invalid resume checkpoint: ${why}`, { argument: 'resume', bucket })
  if (cp === null || typeof cp !== 'object' || cp.version !== 1 || !Array.isArray(cp.ranges)) {
    throw bad('expected { version: 1, bucket, prefix, ranges: [...] } as returned by checkpoint()')
  }
  if (cp.bucket !== bucket) throw bad(`it was taken for bucket ${JSON.stringify(cp.bucket)}, not ${JSON.stringify(bucket)}`)
  if (cp.prefix !== prefix) throw bad(`it was taken for prefix ${JSON.stringify(cp.prefix)}, not ${JSON.stringify(prefix)}`)
  let previous: string | undefined
  for (const [i, r] of cp.ranges.entries()) {
    if (r === null || typeof r !== 'object') throw bad(`range ${i} is not an object`)
    for (const k of ['startAfter', 'endBefore'] as const) {
      if (r[k] !== undefined && typeof r[k] !== 'string') throw bad(`range ${i} has a non-string ${k}`)
    }
    if (i > 0 && r.startAfter === undefined) throw bad(`range ${i} has no startAfter`)
    if (i < cp.ranges.length - 1 && r.endBefore === undefined) throw bad(`range ${i} has no endBefore`)
    if (r.startAfter !== undefined && previous !== undefined && compareKeys(r.startAfter, previous) < 0) {
      throw bad(`ranges are not in key order at range ${i}`)
    }
    previous = r.startAfter
  }
}

/**
 * First split points, from common prefixes: one delimiter listing at `prefix` (following a lone
 * prefix down a few levels), and, when that finds fewer prefixes than `concurrency`, one more
 * level under each. At most `2 * concurrency` points, evenly spaced over the prefixes found.
 */
async function discoverSplits(ref: BucketRef, prefix: string, concurrency: number, signal: AbortSignal): Promise<string[]> {
  const level = (p: string) => fetchListPage(ref, { prefix: p, delimiter: DISCOVERY_DELIMITER, pageSize: 1000, signal })
  let at = prefix
  let top = await level(at)
  for (let depth = 0; depth < 4 && top.prefixes.length === 1 && top.objects.length === 0 && !top.truncated; depth++) {
    at = top.prefixes[0]!
    top = await level(at)
  }
  let candidates = [...top.prefixes]
  if (candidates.length > 0 && candidates.length < concurrency) {
    const children = await Promise.all(top.prefixes.slice(0, concurrency).map((p) => level(p)))
    for (const c of children) candidates.push(...c.prefixes)
  }
  candidates = [...new Set(candidates)].sort(compareKeys)
  const target = 2 * concurrency
  if (candidates.length <= target) return candidates
  const picked: string[] = []
  for (let i = 1; i < target; i++) picked.push(candidates[Math.floor((i * candidates.length) / target)]!)
  return [...new Set(picked)]
}
