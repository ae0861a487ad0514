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
 * - While listing (work stealing): when a request slot is free and no range is waiting, the range
 *   with the most keys still ahead (estimated from the key density of its last page) is split
 *   between its cursor and its end. The split point is interpolated in UTF-8 order over the
 *   characters seen in keys, at the geometric mean of one page's span and the distance left, so a
 *   hot prefix holding most keys is bisected in a few steps without knowing its size. A request
 *   already in flight for the split range is clipped to its new end when it answers.
 * - A range that hits its end bound (a key >= endBefore) or the end of the listing is finished.
 *
 * Memory: at most `concurrency` requests in flight and `concurrency` fetched pages waiting for the
 * consumer (in `ordered` mode one more page of the head range), i.e. at most
 * `(2 * concurrency + 1) * pageSize` entries.
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
import { setMaxListeners } from 'node:events'
import type { BucketRef } from '../bucket-ref.js'
import { AbortError, BucketflowError, InvalidArgumentError, toBucketflowError } from '../errors.js'
import { compareKeys } from '../keys.js'
import { throwIfAborted } from '../results.js'
import { validateConcurrency, validateInteger, validateKey } from '../validate.js'
import { clipPage, fetchListPage, lastKeyOf, type ListPage, type ObjectEntry } from './list.js'

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
   * Yield pages in global key order (the order of a serial listing). Ranges ahead of the first
   * unfinished one buffer at most `concurrency` pages. Default false: pages come as they arrive.
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
  sample: Sample | undefined
  /** The sample is this range's own (not inherited from the range it was split from). */
  ownSample: boolean
}

const DISCOVERY_DELIMITER = '/'
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
    const controller = new AbortController()
    setMaxListeners(0, controller.signal)
    const outer = options.signal
    const onAbort = (): void => controller.abort(outer?.reason)
    if (outer?.aborted) onAbort()
    else outer?.addEventListener('abort', onAbort, { once: true })
    const signal = controller.signal

    let failure: unknown
    let inFlight = 0
    let buffered = 0
    const ready: { range: Range; page: ListPage }[] = [] // unordered mode
    const alphabet = new Alphabet()
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
        ownSample: false,
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
      const request = {
        pageSize,
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
          if (raw.objects.length > 0) alphabet.add(raw.objects)
          const last = lastKeyOf(objects, [])
          if (raw.truncated && !reachedEnd) {
            if (last !== undefined) {
              r.cursor = last
              r.token = undefined
            } else if (raw.continuationToken) {
              r.token = raw.continuationToken
            } else {
              r.listed = true // a truncated page with nothing to continue from: treat as the end
            }
            if (objects.length >= 2) {
              r.sample = { first: objects[0]!.key, last: objects.at(-1)!.key, n: objects.length }
              r.ownSample = true
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
      let best: { range: Range; index: number; at: string; estimate: number; own: boolean } | undefined
      for (let i = 0; i < ranges.length; i++) {
        const r = ranges[i]!
        if (r.listed || r.sample === undefined || r.cursor === undefined || r.token !== undefined) continue
        const plan = planSplit(r.sample, r.cursor, r.endBefore, prefix, alphabet)
        if (plan === undefined) continue
        const better = best === undefined || (r.ownSample && !best.own) || (r.ownSample === best.own && plan.estimate > best.estimate)
        if (better) best = { range: r, index: i, at: plan.at, estimate: plan.estimate, own: r.ownSample }
      }
      if (best === undefined) return false
      const victim = best.range
      const thief = newRange(best.at, victim.endBefore)
      thief.sample = victim.sample
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
        if (ranges.length === 0 && inFlight === 0) break
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
      outer?.removeEventListener('abort', onAbort)
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

/** The characters seen in keys, in UTF-8 order: the digits of split-point arithmetic. */
class Alphabet {
  #seen = new Set<number>()
  #sorted: number[] = []
  #dirty = false

  /** Record the characters of (every 8th of) these keys. */
  add(objects: ObjectEntry[]): void {
    for (let i = 0; i < objects.length; i += 8) this.#addKey(objects[i]!.key)
    this.#addKey(objects.at(-1)!.key)
  }

  #addKey(key: string): void {
    for (const ch of key) {
      const cp = ch.codePointAt(0)!
      if (!this.#seen.has(cp)) {
        this.#seen.add(cp)
        this.#dirty = true
      }
    }
  }

  get sorted(): number[] {
    if (this.#dirty) {
      this.#sorted = [...this.#seen].sort((a, b) => a - b)
      this.#dirty = false
    }
    return this.#sorted
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

function isqrt(n: bigint): bigint {
  if (n < 2n) return n
  // Newton's method from a power of two above the root: converges in O(log bits) steps.
  let x = 1n << BigInt((n.toString(2).length >> 1) + 1)
  for (;;) {
    const y = (x + n / x) >> 1n
    if (y >= x) return x
    x = y
  }
}

/**
 * Where to split a range whose next request starts after `cursor` and which ends before `end`
 * (undefined: the end of the prefix), given a full page the range (or its parent) listed.
 * Keys are read as numbers whose digits are characters (ranked in `alphabet`, 0 = end of key);
 * the split lands at `cursor + sqrt(span * distance)`, where `span` is the sample page's width
 * and `distance` what is left, so the range keeps a few pages and the new range takes the rest.
 * Returns undefined when less than about two pages' width is left.
 * Exported for tests.
 */
export function planSplit(sample: Sample, cursor: string, end: string | undefined, prefix: string, alphabet: { sorted: number[] }): { at: string; estimate: number } | undefined {
  const chars = alphabet.sorted
  if (chars.length === 0) return undefined
  const base = BigInt(chars.length + 2)
  const top = chars.length + 1
  const digitOf = (cp: number): number => {
    if (cp === SENTINEL) return top
    // Number of alphabet characters <= cp: exact characters map to their rank + 1.
    let lo = 0
    let hi = chars.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (chars[mid]! <= cp) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  const first = codePoints(sample.first)
  const last = codePoints(sample.last)
  const lo = codePoints(cursor)
  const hi = end === undefined ? [...codePoints(prefix), SENTINEL] : codePoints(end)
  const p0 = commonLength(first, hi)
  const depth = Math.max(commonLength(first, last), commonLength(lo, hi), p0) - p0 + 4
  if (depth > 1100) return undefined
  const toNumber = (s: number[]): bigint => {
    let n = 0n
    for (let i = 0; i < depth; i++) {
      const cp = s[p0 + i]
      n = n * base + BigInt(cp === undefined ? 0 : digitOf(cp))
    }
    return n
  }
  let span = toNumber(last) - toNumber(first)
  if (span < 1n) span = 1n
  const loN = toNumber(lo)
  const distance = toNumber(hi) - loN
  if (distance <= 2n * span) return undefined
  const atN = loN + isqrt(span * distance)
  // Back to a string: the shared head, then the digits, dropping trailing "end of key" digits.
  const digits: number[] = []
  let n = atN
  for (let i = 0; i < depth; i++) {
    digits.push(Number(n % base))
    n /= base
  }
  digits.reverse()
  while (digits.length > 0 && digits.at(-1) === 0) digits.pop()
  let at = String.fromCodePoint(...hi.slice(0, p0).filter((c) => c !== SENTINEL))
  for (const d of digits) at += String.fromCodePoint(d === 0 ? chars[0]! : chars[Math.min(d, chars.length) - 1]!)
  while (Buffer.byteLength(at, 'utf8') > 1024) at = String.fromCodePoint(...codePoints(at).slice(0, -1))
  if (!at.startsWith(prefix) || compareKeys(at, cursor) <= 0) return undefined
  if (end !== undefined && compareKeys(at + '\u0000', end) >= 0) return undefined
  const ratio = Number((distance * 1024n) / span) / 1024
  return { at, estimate: sample.n * ratio }
}
