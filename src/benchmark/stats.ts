/**
 * Statistics of benchmark samples, in bounded memory: per operation, counts, bytes, errors by
 * code, latency and time-to-first-byte percentiles, and throughput per time window.
 *
 * Percentiles are DuckDB's `quantile_cont` (linear interpolation between the two nearest ranks,
 * `h = (n - 1) * p`, Hyndman-Fan type 7, numpy's default), over successful operations only.
 * They are exact while an operation has at most `exactLimit` successful samples (default
 * 1,000,000: 8 bytes a sample for latency plus 8 for TTFB on GETs); past that they come from a
 * log-bucketed histogram whose buckets are 0.8% wide (relative error under 0.4%), and the summary
 * says `exact: false`. The Parquet file always holds every sample for exact analysis.
 *
 * @example
 * ```ts
 * import { quantile } from 'bucketflow/bench'
 * quantile(Float64Array.from([1, 2, 3, 4]), 0.5) // 2.5, as DuckDB's quantile_cont
 * ```
 * @packageDocumentation
 */
import type { BenchOperation, BenchSample } from './types.js'

/**
 * The `p` quantile of sorted values, as DuckDB's `quantile_cont`: the value at rank
 * `h = (n - 1) * p`, interpolated linearly between its neighbours. NaN for no values.
 *
 * @example
 * ```ts
 * quantile(Float64Array.from([1, 2, 3, 4]), 0.5) // 2.5
 * ```
 */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length
  if (n === 0) return Number.NaN
  const h = (n - 1) * p
  const lo = Math.floor(h)
  const hi = Math.ceil(h)
  const a = sorted[lo]!
  return lo === hi ? a : a + (sorted[hi]! - a) * (h - lo)
}

/**
 * A distribution-free 95% confidence interval of the `p` quantile from sorted values (the
 * order statistics at ranks `n p -/+ 1.96 sqrt(n p (1 - p))`).
 */
export function quantileInterval(sorted: ArrayLike<number>, p: number): [number, number] {
  const n = sorted.length
  if (n === 0) return [Number.NaN, Number.NaN]
  const half = 1.96 * Math.sqrt(n * p * (1 - p))
  const lo = Math.max(0, Math.floor(n * p - half) - 1)
  const hi = Math.min(n - 1, Math.ceil(n * p + half) - 1)
  return [sorted[lo]!, sorted[Math.max(lo, hi)]!]
}

/** Histogram bucket growth: 2^(1/88), buckets 0.79% wide. */
const GROWTH = 2 ** (1 / 88)
const LOG_GROWTH = Math.log(GROWTH)
/** Smallest value bucketed: 1 microsecond (values are milliseconds). */
const FLOOR = 0.001
/** Buckets from 1 microsecond to ~11 days. */
const BUCKETS = 88 * 40

/** A log-bucketed histogram of positive values (milliseconds): fixed 28 KiB. */
export class LogHistogram {
  readonly counts = new Float64Array(BUCKETS)
  count = 0
  static bucketOf(value: number): number {
    if (!(value > FLOOR)) return 0
    return Math.min(BUCKETS - 1, Math.floor(Math.log(value / FLOOR) / LOG_GROWTH) + 1)
  }
  /** The value a bucket stands for (its geometric middle). */
  static valueOf(bucket: number): number {
    return bucket === 0 ? FLOOR : FLOOR * GROWTH ** (bucket - 0.5)
  }
  add(value: number, times = 1): void {
    this.counts[LogHistogram.bucketOf(value)]! += times
    this.count += times
  }
  merge(other: LogHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!
    this.count += other.count
  }
  /** The value at rank r (0-based). */
  valueAtRank(r: number): number {
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!
      if (seen > r) return LogHistogram.valueOf(i)
    }
    return Number.NaN
  }
  quantile(p: number): number {
    if (this.count === 0) return Number.NaN
    const h = (this.count - 1) * p
    const lo = this.valueAtRank(Math.floor(h))
    const hi = this.valueAtRank(Math.ceil(h))
    return lo + (hi - lo) * (h - Math.floor(h))
  }
}

/** Exact values while they fit under a limit, a histogram always. */
export class Distribution {
  #values: Float64Array | undefined = new Float64Array(1024)
  #n = 0
  #sorted = true
  readonly histogram = new LogHistogram()
  sum = 0
  min = Number.POSITIVE_INFINITY
  max = Number.NEGATIVE_INFINITY
  constructor(readonly exactLimit: number) {}
  get count(): number {
    return this.histogram.count
  }
  get exact(): boolean {
    return this.#values !== undefined
  }
  add(value: number): void {
    this.histogram.add(value)
    this.sum += value
    if (value < this.min) this.min = value
    if (value > this.max) this.max = value
    if (this.#values === undefined) return
    if (this.#n === this.exactLimit) {
      this.#values = undefined
      return
    }
    if (this.#n === this.#values.length) {
      const grown = new Float64Array(Math.min(this.exactLimit, this.#values.length * 2))
      grown.set(this.#values)
      this.#values = grown
    }
    this.#values[this.#n++] = value
    this.#sorted = false
  }
  /** The values, sorted (exact mode only). */
  sorted(): Float64Array | undefined {
    if (this.#values === undefined) return undefined
    const view = this.#values.subarray(0, this.#n)
    if (!this.#sorted) {
      view.sort()
      this.#sorted = true
    }
    return view
  }
  quantile(p: number): number {
    const s = this.sorted()
    return s ? quantile(s, p) : this.histogram.quantile(p)
  }
  interval(p: number): [number, number] {
    const s = this.sorted()
    if (s) return quantileInterval(s, p)
    const n = this.count
    const half = 1.96 * Math.sqrt(n * p * (1 - p))
    return [this.histogram.valueAtRank(Math.max(0, Math.floor(n * p - half) - 1)), this.histogram.valueAtRank(Math.min(n - 1, Math.ceil(n * p + half) - 1))]
  }
}

/** What one operation (or all of them) did. */
export class OpStats {
  ok = 0
  failed = 0
  bytes = 0
  objects = 0
  readonly errors = new Map<string, number>()
  readonly latency: Distribution
  readonly ttfb: Distribution
  constructor(exactLimit: number) {
    this.latency = new Distribution(exactLimit)
    this.ttfb = new Distribution(exactLimit)
  }
}

/** Throughput of one time window. */
export interface WindowCount {
  ops: number
  bytes: number
}

/** Options of {@link SampleStats}. */
export interface StatsOptions {
  /** Exact percentiles up to this many successful samples per operation. Default 1,000,000. */
  exactLimit?: number
  /** Throughput window, ms. Default 1000. */
  window?: number
}

/**
 * Accumulates samples: per operation, per time window (by completion time, on absolute
 * epoch windows so that clients merge), and the overall interval.
 */
export class SampleStats {
  readonly exactLimit: number
  readonly window: number
  readonly ops = new Map<BenchOperation, OpStats>()
  /** Window index (floor(end / window)) -> operation -> count. */
  readonly windows = new Map<number, Map<BenchOperation, WindowCount>>()
  first = Number.POSITIVE_INFINITY
  last = Number.NEGATIVE_INFINITY
  samples = 0
  constructor(options: StatsOptions = {}) {
    this.exactLimit = options.exactLimit ?? 1_000_000
    this.window = options.window ?? 1000
  }
  op(name: BenchOperation): OpStats {
    let s = this.ops.get(name)
    if (!s) {
      s = new OpStats(this.exactLimit)
      this.ops.set(name, s)
    }
    return s
  }
  add(sample: BenchSample): void {
    this.samples++
    const end = sample.start + sample.duration
    if (sample.start < this.first) this.first = sample.start
    if (end > this.last) this.last = end
    const s = this.op(sample.op)
    if (sample.outcome !== 'ok') {
      s.failed++
      s.errors.set(sample.outcome, (s.errors.get(sample.outcome) ?? 0) + 1)
      return
    }
    s.ok++
    s.bytes += sample.size
    s.objects += sample.objects
    s.latency.add(sample.duration)
    if (sample.ttfb !== null) s.ttfb.add(sample.ttfb)
    const w = Math.floor(end / this.window)
    let slot = this.windows.get(w)
    if (!slot) {
      slot = new Map()
      this.windows.set(w, slot)
    }
    const c = slot.get(sample.op)
    if (c) {
      c.ops++
      c.bytes += sample.size
    } else slot.set(sample.op, { ops: 1, bytes: sample.size })
  }
}
