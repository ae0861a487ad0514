/**
 * The scheduler of a partitioned listing: the key ranges, the requests in flight and the pages
 * waiting to be yielded. Each step is one method: `start` a request for a range (sized by
 * `requestSize`), `onPage` / `onError` when it answers, `pick` the next range to request,
 * `split` a range when a slot is idle (work stealing), `pump` requests while slots are free,
 * and `take` the next page to yield. The generator in index.ts drives it and waits on `wait()`.
 *
 * Memory: at most `2 * concurrency` pages fetched or in flight (plus one page of the first
 * unfinished range in `ordered` mode).
 *
 * @example
 * ```ts
 * declare const ref: import('bucketflow').BucketRef, signal: AbortSignal
 * const s = new Scheduler(ref, { prefix: '', pageSize: 1000, concurrency: 8, ordered: false, fetchOwner: false }, signal, undefined)
 * s.seed([{}])
 * s.pump()
 * ```
 * @packageDocumentation
 */
import type { BucketRef } from '../../bucket-ref.js'
import { AbortError } from '../../errors.js'
import { clipPage, fetchListPage, lastKeyOf, type ListPage, type RawListPage } from '../list.js'
import { estimateRemaining, KeyShape, planSplit } from './keyspace.js'
import type { KeyRange, Range } from './types.js'

/** Keys asked for by the first request of a range split off another. */
const FIRST_REQUEST = 100

/** The settings a scheduler runs with (validated by `listPartitioned`). */
export interface SchedulerSettings {
  prefix: string
  pageSize: number
  concurrency: number
  ordered: boolean
  fetchOwner: boolean
}

/** A page ready to be yielded and the range it belongs to. */
export interface ReadyPage {
  range: Range
  page: ListPage
}

/** Ranges, requests and pages of one partitioned listing (see the module documentation). */
export class Scheduler {
  /** The ranges not yet listed and yielded to their end, in key order. */
  readonly ranges: Range[] = []
  /** The first failure of a request (or the abort that stopped it). */
  failure: unknown
  inFlight = 0
  buffered = 0
  rangesTotal = 0
  rangesDone = 0
  readonly #ref: BucketRef
  readonly #s: SchedulerSettings
  readonly #signal: AbortSignal
  readonly #outer: AbortSignal | undefined
  /** Pages ready to yield in unordered mode. */
  readonly #ready: ReadyPage[] = []
  readonly #shape = new KeyShape()
  readonly #limit: number
  #wake: (() => void) | undefined

  constructor(ref: BucketRef, settings: SchedulerSettings, signal: AbortSignal, outer: AbortSignal | undefined) {
    this.#ref = ref
    this.#s = settings
    this.#signal = signal
    this.#outer = outer
    this.#limit = 2 * settings.concurrency
  }

  /** The first ranges: those of a checkpoint, or the key space cut at `splits`. */
  seed(ranges: readonly KeyRange[]): void {
    for (const kr of ranges) this.ranges.push(this.#newRange(kr.startAfter, kr.endBefore))
  }

  /** The ranges still to list, each from the last key yielded from it. */
  checkpointRanges(): KeyRange[] {
    return this.ranges.map((r) => ({
      ...(r.yielded !== undefined ? { startAfter: r.yielded } : {}),
      ...(r.endBefore !== undefined ? { endBefore: r.endBefore } : {}),
    }))
  }

  /** A promise that settles at the next answer (or failure). */
  wait(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = resolve
    })
  }

  /** Start requests while slots are free: a waiting range first, else split a listing one. */
  pump(): void {
    if (this.failure !== undefined || this.#signal.aborted) return
    while (this.inFlight < this.#s.concurrency) {
      const r = this.#pick()
      if (r !== undefined) {
        this.#start(r)
        continue
      }
      if (!this.#split()) break
    }
  }

  /** The next page to yield (in key order when `ordered`), or undefined if none is ready. */
  take(): ReadyPage | undefined {
    if (!this.#s.ordered) return this.#ready.shift()
    while (this.ranges.length > 0) {
      const head = this.ranges[0]!
      const page = head.queue.shift()
      if (page !== undefined) return { range: head, page }
      if (head.listed && !head.inFlight) {
        this.ranges.shift()
        this.rangesDone++
        continue
      }
      return undefined
    }
    return undefined
  }

  /** Account for a page about to be yielded. */
  yielded({ range, page }: ReadyPage): void {
    range.buffered--
    this.buffered--
    range.yielded = page.lastKey
    this.#finishIfDrained(range)
    this.pump()
  }

  #notify(): void {
    const w = this.#wake
    this.#wake = undefined
    w?.()
  }

  #newRange(startAfter: string | undefined, endBefore: string | undefined): Range {
    this.rangesTotal++
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

  #finishIfDrained(r: Range): void {
    if (!r.listed || r.buffered > 0 || r.inFlight) return
    const i = this.ranges.indexOf(r)
    if (i >= 0) {
      this.ranges.splice(i, 1)
      this.rangesDone++
    }
  }

  /** Keys to ask for: a few for a new split-off range, about what is left for a range's last request. */
  #requestSize(r: Range): number {
    const { pageSize, prefix } = this.#s
    if (r.parent !== undefined && r.sample === undefined) return Math.min(pageSize, FIRST_REQUEST)
    if (r.sizeTail && r.sample !== undefined && r.cursor !== undefined && r.endBefore !== undefined && r.token === undefined) {
      const left = estimateRemaining(r.sample, r.cursor, r.endBefore, prefix, this.#shape)
      if (left < pageSize) return Math.min(pageSize, Math.max(Math.ceil(pageSize / 4), Math.ceil(left * 1.5) + 8))
    }
    return pageSize
  }

  #start(r: Range): void {
    r.inFlight = true
    this.inFlight++
    const { prefix, fetchOwner } = this.#s
    const size = this.#requestSize(r)
    const request = {
      pageSize: size,
      signal: this.#signal,
      ...(prefix ? { prefix } : {}),
      ...(r.token ? { continuationToken: r.token } : r.cursor !== undefined ? { startAfter: r.cursor } : {}),
      ...(fetchOwner ? { fetchOwner: true } : {}),
    }
    fetchListPage(this.#ref, request).then(
      (raw) => this.#onPage(r, size, raw),
      (err: unknown) => this.#onError(r, err),
    )
  }

  #onPage(r: Range, size: number, raw: RawListPage): void {
    r.inFlight = false
    this.inFlight--
    if (this.failure !== undefined) return
    // Clip with the range's end as it is now: it may have been split while in flight.
    const { objects, reachedEnd } = clipPage(raw.objects, [], r.endBefore)
    this.#shape.add(raw.objects)
    const last = lastKeyOf(objects, [])
    if (r.parent !== undefined && r.sample === undefined) {
      // The first answer of a split-off range: was that split worth a request?
      if (objects.length === 0) r.parent.emptySplits++
      else r.parent.emptySplits = 0
    }
    if (raw.truncated && !reachedEnd) {
      // A request sized to the estimated rest of the range that did not reach its end: the
      // estimate was too low, ask for whole pages from now on.
      if (size < this.#s.pageSize && r.sample !== undefined) r.sizeTail = false
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
      this.buffered++
      if (this.#s.ordered) r.queue.push(page)
      else this.#ready.push({ range: r, page })
    }
    this.#finishIfDrained(r)
    this.pump()
    this.#notify()
  }

  #onError(r: Range, err: unknown): void {
    r.inFlight = false
    this.inFlight--
    if (this.failure === undefined) {
      const outer = this.#outer
      this.failure = this.#signal.aborted && outer?.aborted ? new AbortError('The listing was aborted', { bucket: this.#ref.name, cause: outer.reason }) : err
    }
    this.#notify()
  }

  #pick(): Range | undefined {
    const room = this.inFlight + this.buffered < this.#limit
    const ordered = this.#s.ordered
    for (let i = 0; i < this.ranges.length; i++) {
      const r = this.ranges[i]!
      if (r.inFlight || r.listed) continue
      if (room || (ordered && i === 0 && r.buffered === 0)) return r
      if (ordered) return undefined
    }
    return undefined
  }

  /** Split the range with the most keys estimated left at a point halfway to its end. */
  #split(): boolean {
    if (this.inFlight + this.buffered >= this.#limit) return false
    const { prefix, pageSize, ordered } = this.#s
    let best: { range: Range; index: number; at: string; estimate: number } | undefined
    for (let i = 0; i < this.ranges.length; i++) {
      const r = this.ranges[i]!
      // Only ranges that listed a page themselves: a new range is split after its first page.
      if (r.listed || r.sample === undefined || r.cursor === undefined || r.token !== undefined) continue
      // Two split-off ranges came back empty: wait for this range's next page before trying again.
      if (r.emptySplits >= 2) continue
      const plan = planSplit(r.sample, r.cursor, r.endBefore, prefix, this.#shape, pageSize)
      if (plan === undefined) continue
      if (best === undefined || plan.estimate > best.estimate) best = { range: r, index: i, at: plan.at, estimate: plan.estimate }
      // In key order, work near the head is what the consumer waits for: split the first range that can be.
      if (ordered) break
    }
    if (best === undefined) return false
    const victim = best.range
    const thief = this.#newRange(best.at, victim.endBefore)
    thief.parent = victim
    victim.endBefore = `${best.at}\u0000`
    this.ranges.splice(best.index + 1, 0, thief)
    return true
  }
}
