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
 * import { listPartitioned } from 'bucketflow'
 * const listing = listPartitioned(bucket, { prefix: 'logs/', concurrency: 16 })
 * for await (const page of listing) {
 *   for (const o of page.objects) console.log(o.key, o.size)
 *   saveSomewhere(JSON.stringify(listing.checkpoint())) // resume later with { resume }
 * }
 * ```
 * @packageDocumentation
 */
import type { BucketRef } from '../bucket-ref.js'
import { AbortError, BucketflowError, InvalidArgumentError, toBucketflowError } from '../errors.js'
import { compareKeys } from '../keys.js'
import { linkedController, throwIfAborted } from '../results.js'
import { validateConcurrency, validateInteger, validateKey } from '../validate.js'
import { clipPage, fetchListPage, lastKeyOf, type ListPage } from './list.js'

/** A key range: keys strictly after `startAfter` and strictly before `endBefore` (UTF-8 order). */
export interface KeyRange {
  /** Absent: from the first key (under the prefix). */
  startAfter?: string
  /** Absent: to the last key (under the prefix). */
  endBefore?: string
}

/**
 * Where a partitioned listing stands: the ranges still to list, each starting after the last key
 * already yielded from it. Plain data: `JSON.stringify` it, and pass it back as `resume`.
 */
export interface ListCheckpoint {
  version: 1
  bucket: string
  prefix: string
  ranges: KeyRange[]
}

/** Progress of a partitioned listing, counted over what has been yielded. */
export interface ListProgress {
  /** Keys yielded so far. */
  keys: number
  /** Pages yielded so far. */
  pages: number
  /** Ranges listed to their end and fully yielded. */
  rangesDone: number
  /** Ranges known so far (grows as ranges are split). */
  rangesTotal: number
}

/** Options for {@link listPartitioned}. */
export interface PartitionedListOptions {
  /** List only keys under this prefix. */
  prefix?: string
  /** ListObjectsV2 requests in flight at once. Default: the bucket's `concurrency` (8). */
  concurrency?: number
  /** Stop: in-flight requests are aborted and the listing throws an {@link AbortError}. */
  signal?: AbortSignal
  /**
   * Yield pages in global key order (the order of a serial listing). Pages of later ranges wait
   * in a buffer bounded as above (`2 * concurrency + 1` pages with those in flight). Default
   * false: pages come as they arrive.
   */
  ordered?: boolean
  /** Keys per request, 1 to 1000. Default 1000. */
  pageSize?: number
  /** Ask for object owners (FetchOwner). */
  fetchOwner?: boolean
  /** Continue a listing from a {@link ListCheckpoint}: yields exactly the keys not yielded before. */
  resume?: ListCheckpoint
  /** Called after every yielded page. */
  onProgress?: (progress: ListProgress) => void
}

/** The pages of a partitioned listing, plus where it stands. */
export interface PartitionedListing extends AsyncGenerator<ListPage, void, undefined> {
  /**
   * The ranges still to list after everything yielded so far (including the page the consumer
   * holds now). Save it after processing a page; resume with `{ resume: checkpoint }`.
   */
  checkpoint(): ListCheckpoint
  /** Current progress (as passed to `onProgress`). */
  progress(): ListProgress
}

/** A sample of keys a range saw: the first and last key of a full page and how many keys. */
interface Sample {
  first: string
  last: string
  n: number
}

interface Range {
  startAfter: string | undefined
  endBefore: string | undefined
  /** StartAfter of the next request. */
  cursor: string | undefined
  /** ContinuationToken for the next request (only when a truncated page had no key to resume after). */
  token: string | undefined
  /** Last key yielded from this range (the checkpoint position). */
  yielded: string | undefined
  inFlight: boolean
  /** Listed to its end. */
  listed: boolean
  /** Pages fetched, not yet yielded (ordered mode keeps them here). */
  queue: ListPage[]
  /** Number of fetched pages not yet yielded. */
  buffered: number
  /** The range this one was split off while listing (undefined for the first ranges). */
  parent: Range | undefined
  /** Ranges split off this one that turned out empty since its cursor last moved. */
  emptySplits: number
  /** Size the last request by the estimated keys left (off once an estimate proved too low). */
  sizeTail: boolean
  /** The last page this range listed (for split points and estimates). */
  sample: Sample | undefined
}

const DISCOVERY_DELIMITER = '/'
/** Split arithmetic looks at most this many characters past a range's common head. */
const MAX_DEPTH = 300
/** Keys asked for by the first request of a range split off another. */
const FIRST_REQUEST = 100
/** Beyond every character: stands for "end of the key space" in split arithmetic. */
const SENTINEL = -1

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
  const ordered = options.ordered ?? false

  const ranges: Range[] = []
  let rangesTotal = 0
  let rangesDone = 0
  let keys = 0
  let pages = 0
  let started = false
  const progress = (): ListProgress => ({ keys, pages, rangesDone, rangesTotal })

  const checkpoint = (): ListCheckpoint => {
    const out: KeyRange[] = []
    if (!started && options.resume) return structuredClone(options.resume)
    if (!started) return { version: 1, bucket: ref.name, prefix, ranges: [{}] }
    for (const r of ranges) {
      const range: KeyRange = {}
      if (r.yielded !== undefined) range.startAfter = r.yielded
      if (r.endBefore !== undefined) range.endBefore = r.endBefore
      out.push(range)
    }
    return { version: 1, bucket: ref.name, prefix, ranges: out }
  }

  async function* run(): AsyncGenerator<ListPage, void, undefined> {
    const outer = options.signal
    const { controller, dispose } = linkedController(outer)
    const signal = controller.signal

    let failure: unknown
    let inFlight = 0
    let buffered = 0
    const ready: { range: Range; page: ListPage }[] = [] // unordered mode
    const shape = new KeyShape()
    let wake: (() => void) | undefined
    const notify = (): void => {
      const w = wake
      wake = undefined
      w?.()
    }

    const newRange = (startAfter: string | undefined, endBefore: string | undefined): Range => {
      rangesTotal++
      return {
        startAfter,
        endBefore,
        cursor: startAfter,
        token: undefined,
        yielded: startAfter,
        inFlight: false,
        listed: false,
        queue: [],
        buffered: 0,
        sample: undefined,
        parent: undefined,
        emptySplits: 0,
        sizeTail: true,
      }
    }

    const finishIfDrained = (r: Range): void => {
      if (!r.listed || r.buffered > 0 || r.inFlight) return
      const i = ranges.indexOf(r)
      if (i >= 0) {
        ranges.splice(i, 1)
        rangesDone++
      }
    }

    const start = (r: Range): void => {
      r.inFlight = true
      inFlight++
      // The last request of a range asks for about what is left, not a whole page past its end.
      let size = pageSize
      // A range split off another one may well be empty: its first request asks for a few keys.
      if (r.parent !== undefined && r.sample === undefined) size = Math.min(pageSize, FIRST_REQUEST)
      else if (r.sizeTail && r.sample !== undefined && r.cursor !== undefined && r.endBefore !== undefined && r.token === undefined) {
        const left = estimateRemaining(r.sample, r.cursor, r.endBefore, prefix, shape)
        if (left < pageSize) size = Math.min(pageSize, Math.max(Math.ceil(pageSize / 4), Math.ceil(left * 1.5) + 8))
      }
      const request = {
        pageSize: size,
        signal,
        ...(prefix ? { prefix } : {}),
        ...(r.token ? { continuationToken: r.token } : r.cursor !== undefined ? { startAfter: r.cursor } : {}),
        ...(options.fetchOwner ? { fetchOwner: true } : {}),
      }
      fetchListPage(ref, request).then(
        (raw) => {
          r.inFlight = false
          inFlight--
          if (failure !== undefined) return
          // Clip with the range's end as it is now: it may have been split while in flight.
          const { objects, reachedEnd } = clipPage(raw.objects, [], r.endBefore)
          shape.add(raw.objects)
          const last = lastKeyOf(objects, [])
          if (r.parent !== undefined && r.sample === undefined) {
            // The first answer of a split-off range: was that split worth a request?
            if (objects.length === 0) r.parent.emptySplits++
            else r.parent.emptySplits = 0
          }
          if (raw.truncated && !reachedEnd) {
            // A request sized to the estimated rest of the range that did not reach its end: the
            // estimate was too low, ask for whole pages from now on.
            if (request.pageSize < pageSize && r.sample !== undefined) r.sizeTail = false
            if (last !== undefined) {
              r.cursor = last
              r.emptySplits = 0
              r.token = undefined
            } else if (raw.continuationToken) {
              r.token = raw.continuationToken
            } else {
              r.listed = true // a truncated page with nothing to continue from: treat as the end
            }
            if (objects.length >= 2) {
              r.sample = { first: objects[0]!.key, last: objects.at(-1)!.key, n: objects.length }
            }
          } else {
            r.listed = true
          }
          if (objects.length > 0) {
            const page: ListPage = { objects, prefixes: [], lastKey: last }
            r.buffered++
            buffered++
            if (ordered) r.queue.push(page)
            else ready.push({ range: r, page })
          }
          finishIfDrained(r)
          pump()
          notify()
        },
        (err: unknown) => {
          r.inFlight = false
          inFlight--
          if (failure === undefined) {
            failure = signal.aborted && outer?.aborted ? new AbortError('The listing was aborted', { bucket: ref.name, cause: outer.reason }) : err
          }
          notify()
        },
      )
    }

    const limit = 2 * concurrency
    const pick = (): Range | undefined => {
      const room = inFlight + buffered < limit
      for (let i = 0; i < ranges.length; i++) {
        const r = ranges[i]!
        if (r.inFlight || r.listed) continue
        if (room || (ordered && i === 0 && r.buffered === 0)) return r
        if (ordered) return undefined
      }
      return undefined
    }

    const split = (): boolean => {
      if (inFlight + buffered >= limit) return false
      let best: { range: Range; index: number; at: string; estimate: number } | undefined
      for (let i = 0; i < ranges.length; i++) {
        const r = ranges[i]!
        // Only ranges that listed a page themselves: a new range is split after its first page.
        if (r.listed || r.sample === undefined || r.cursor === undefined || r.token !== undefined) continue
        // Two split-off ranges came back empty: wait for this range's next page before trying again.
        if (r.emptySplits >= 2) continue
        const plan = planSplit(r.sample, r.cursor, r.endBefore, prefix, shape, pageSize)
        if (plan === undefined) continue
        if (best === undefined || plan.estimate > best.estimate) best = { range: r, index: i, at: plan.at, estimate: plan.estimate }
        // In key order, work near the head is what the consumer waits for: split the first range that can be.
        if (ordered) break
      }
      if (best === undefined) return false
      const victim = best.range
      const thief = newRange(best.at, victim.endBefore)
      thief.parent = victim
      victim.endBefore = best.at + '\u0000'
      ranges.splice(best.index + 1, 0, thief)
      return true
    }

    function pump(): void {
      if (failure !== undefined || signal.aborted) return
      while (inFlight < concurrency) {
        const r = pick()
        if (r !== undefined) {
          start(r)
          continue
        }
        if (!split()) break
      }
    }

    const take = (): { range: Range; page: ListPage } | undefined => {
      if (!ordered) return ready.shift()
      while (ranges.length > 0) {
        const head = ranges[0]!
        const page = head.queue.shift()
        if (page !== undefined) return { range: head, page }
        if (head.listed && !head.inFlight) {
          ranges.shift()
          rangesDone++
          continue
        }
        return undefined
      }
      return undefined
    }

    try {
      if (options.resume) {
        for (const kr of options.resume.ranges) ranges.push(newRange(kr.startAfter, kr.endBefore))
      } else {
        const splits = concurrency > 1 ? await discoverSplits(ref, prefix, concurrency, signal) : []
        let after: string | undefined
        for (const s of splits) {
          ranges.push(newRange(after, s + '\u0000'))
          after = s
        }
        ranges.push(newRange(after, undefined))
      }
      started = true
      pump()
      for (;;) {
        if (failure !== undefined) throw toBucketflowError(failure, { bucket: ref.name, operation: 'ListObjectsV2' })
        throwIfAborted(outer, { bucket: ref.name })
        const item = take()
        if (item !== undefined) {
          const { range, page } = item
          range.buffered--
          buffered--
          range.yielded = page.lastKey
          keys += page.objects.length
          pages++
          finishIfDrained(range)
          pump()
          options.onProgress?.(progress())
          yield page
          continue
        }
        if (ranges.length === 0 && inFlight === 0) {
          options.onProgress?.(progress())
          break
        }
        if (inFlight === 0) pump()
        if (inFlight === 0 && failure === undefined) {
          // Cannot happen by construction; fail loudly rather than wait forever.
          throw new BucketflowError(`Partitioned listing stalled with ${ranges.length} ranges left`, { bucket: ref.name })
        }
        await new Promise<void>((resolve) => {
          wake = resolve
        })
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

/**
 * The characters seen at each position of the keys listed so far (every 8th key of a page and
 * its last): the digits of split-point arithmetic. Split points built from them fall where keys
 * actually branch (a date's day, a host number, a hash's first hex digit).
 */
export class KeyShape {
  #positions: Set<number>[] = []
  #sorted: (number[] | undefined)[] = []
  #all = new Set<number>()
  #allSorted: number[] | undefined

  /** Record the characters of (every 8th of) these keys. */
  add(keys: readonly { key: string }[]): void {
    for (let i = 0; i < keys.length; i += 8) this.addKey(keys[i]!.key)
    if (keys.length > 0) this.addKey(keys.at(-1)!.key)
  }

  addKey(key: string): void {
    let i = 0
    for (const ch of key) {
      const cp = ch.codePointAt(0)!
      let set = this.#positions[i]
      if (set === undefined) set = this.#positions[i] = new Set()
      if (!set.has(cp)) {
        set.add(cp)
        this.#sorted[i] = undefined
        if (!this.#all.has(cp)) {
          this.#all.add(cp)
          this.#allSorted = undefined
        }
      }
      i++
    }
  }

  /** The characters seen at `position`, sorted (all characters seen, for a position never reached). */
  at(position: number): number[] {
    const cached = this.#sorted[position]
    if (cached !== undefined) return cached
    const set = this.#positions[position]
    if (set === undefined || set.size === 0) return (this.#allSorted ??= [...this.#all].sort((a, b) => a - b))
    const sorted = [...set].sort((a, b) => a - b)
    this.#sorted[position] = sorted
    return sorted
  }

  get empty(): boolean {
    return this.#all.size === 0
  }
}

/** Code points of a string; SENTINEL stands for "past every key under the prefix". */
function codePoints(s: string): number[] {
  const out: number[] = []
  for (const ch of s) out.push(ch.codePointAt(0)!)
  return out
}

function commonLength(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length)
  let i = 0
  while (i < n && a[i] === b[i]) i++
  return i
}

/** A range's remaining key space read as numbers (see {@link planSplit}). */
interface Measure {
  /** Width of the sample page. */
  span: bigint
  /** From the cursor to the end. */
  distance: bigint
  /** The cursor as a number. */
  from: bigint
  /** Back to a string. */
  toKey: (n: bigint) => string
}

function measure(sample: Sample, cursor: string, end: string | undefined, prefix: string, shape: KeyShape): Measure | undefined {
  if (shape.empty) return undefined
  const first = codePoints(sample.first)
  const last = codePoints(sample.last)
  const lo = codePoints(cursor)
  const hi = end === undefined ? [...codePoints(prefix), SENTINEL] : codePoints(end)
  const p0 = commonLength(first, hi)
  const depth = Math.max(commonLength(first, last), commonLength(lo, hi), p0) - p0 + 4
  // Keys that share very long heads are not split here (the arithmetic would cost more than it saves).
  if (depth > MAX_DEPTH) return undefined
  // Mixed radix: at position p0 + i the digits are 0 (end of key), 1..n (the n characters seen
  // there) and n + 1 (past every character seen there).
  const alphabets: number[][] = []
  const radix: bigint[] = []
  for (let i = 0; i < depth; i++) {
    const chars = shape.at(p0 + i)
    alphabets.push(chars)
    radix.push(BigInt(chars.length + 2))
  }
  const digitOf = (i: number, cp: number): number => {
    const chars = alphabets[i]!
    if (cp === SENTINEL) return chars.length + 1
    // Number of characters <= cp: a character seen maps to its rank + 1.
    let a = 0
    let b = chars.length
    while (a < b) {
      const mid = (a + b) >> 1
      if (chars[mid]! <= cp) a = mid + 1
      else b = mid
    }
    return a
  }
  const toNumber = (s: number[]): bigint => {
    let n = 0n
    let ended = false
    for (let i = 0; i < depth; i++) {
      const cp = ended ? undefined : s[p0 + i]
      if (cp === undefined) ended = true
      n = n * radix[i]! + BigInt(cp === undefined ? 0 : digitOf(i, cp))
    }
    return n
  }
  let span = toNumber(last) - toNumber(first)
  if (span < 1n) span = 1n
  const from = toNumber(lo)
  const head = String.fromCodePoint(...hi.slice(0, p0))
  const toKey = (value: bigint): string => {
    const digits: number[] = new Array<number>(depth)
    let n = value
    for (let i = depth - 1; i >= 0; i--) {
      digits[i] = Number(n % radix[i]!)
      n /= radix[i]!
    }
    let key = head
    for (let i = 0; i < depth; i++) {
      const d = digits[i]!
      if (d === 0) break // end of key
      const chars = alphabets[i]!
      if (d <= chars.length) key += String.fromCodePoint(chars[d - 1]!)
      else key += String.fromCodePoint(above(chars[chars.length - 1]!))
    }
    while (Buffer.byteLength(key, 'utf8') > 1024) key = String.fromCodePoint(...codePoints(key).slice(0, -1))
    return key
  }
  return { span, distance: toNumber(hi) - from, from, toKey }
}

/** The next code point after `cp` that can be in a key (not a surrogate). */
function above(cp: number): number {
  const next = cp + 1
  if (next >= 0xd800 && next <= 0xdfff) return 0xe000
  return next > 0x10ffff ? cp : next
}

/**
 * Keys left in a range, extrapolated from the density of a sample page (uniform density between
 * the cursor and the end). Infinity when it cannot tell.
 */
export function estimateRemaining(sample: Sample, cursor: string, end: string | undefined, prefix: string, shape: KeyShape): number {
  const m = measure(sample, cursor, end, prefix, shape)
  if (m === undefined) return Infinity
  return (sample.n * Number((m.distance * 1024n) / m.span)) / 1024
}

/**
 * Where to split a range whose next request starts after `cursor` and which ends before `end`
 * (undefined: the end of the prefix), given a page the range listed. Keys are read as numbers
 * whose digits are characters (ranked among those seen at each position, 0 = end of key) and the range is bisected:
 * the split lands halfway between the cursor and the end. Bisection, not interpolation: real key
 * sets are sparse and structured (dates, hosts, hashes), so a density read off one page says
 * little about the key space beyond it; halving converges in a few steps wherever the keys are.
 * Returns undefined when fewer than four pages are estimated to be left (at the page's density).
 * Exported for tests.
 */
export function planSplit(sample: Sample, cursor: string, end: string | undefined, prefix: string, shape: KeyShape, pageSize = 1000): { at: string; estimate: number } | undefined {
  const m = measure(sample, cursor, end, prefix, shape)
  if (m === undefined) return undefined
  const estimate = (sample.n * Number((m.distance * 1024n) / m.span)) / 1024
  if (estimate < 4 * pageSize) return undefined
  // Halfway; when the rounding to a real string falls outside the range, a little further on.
  for (const [num, den] of [[1n, 2n], [5n, 8n], [3n, 4n], [7n, 8n]] as const) {
    const at = m.toKey(m.from + (m.distance * num) / den)
    if (!at.startsWith(prefix) || compareKeys(at, cursor) <= 0) continue
    if (end !== undefined && compareKeys(at + '\u0000', end) >= 0) continue
    return { at, estimate }
  }
  return undefined
}
