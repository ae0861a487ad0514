/**
 * From accumulated samples to the summary figures: throughput over the measured interval, its
 * spread over time windows, latency and TTFB percentiles, errors by code; the knee of a sweep.
 *
 * Throughput counts successful operations that finished inside the interval, divided by its
 * length. For one client the interval runs from its first request's start to its last request's
 * end, so every operation counts. For clients merged from several files it is the time all of
 * them were running (latest first start to earliest last end), and the merged throughput is the
 * sum of each client's throughput over that same interval.
 *
 * @example
 * ```ts
 * import { kneeOf } from 'bucketflow/bench'
 * kneeOf([{ concurrency: 8, opsPerSecond: 800 }, { concurrency: 16, opsPerSecond: 1500 }, { concurrency: 32, opsPerSecond: 1550 }])
 * // { concurrency: 16, ... }
 * ```
 * @packageDocumentation
 */
import { LogHistogram, type Distribution, type OpStats, type SampleStats } from './stats.js'
import type { BenchOperation, LatencySummary, LevelSummary, OpSummary } from './types.js'

const MiB = 1024 * 1024

/** Windows a spread is computed over at most (11.5 days of one-second windows). */
const MAX_WINDOWS = 1_000_000

/** Quantiles at which the CDF of a distribution is drawn. */
const CDF_POINTS: number[] = [...Array.from({ length: 100 }, (_, i) => i / 100), ...Array.from({ length: 10 }, (_, i) => 0.99 + i / 1000), 0.9995, 0.9999, 1]

function latencyOf(d: Distribution): LatencySummary | null {
  if (d.count === 0) return null
  return {
    p50: d.quantile(0.5),
    p90: d.quantile(0.9),
    p99: d.quantile(0.99),
    p999: d.quantile(0.999),
    mean: d.sum / d.count,
    min: d.min,
    max: d.max,
    ci95: { p50: d.interval(0.5), p99: d.interval(0.99) },
    exact: d.exact,
  }
}

/** Up to 40 bins, equally wide on a log scale from the smallest to the largest value: [bin start ms, bin end ms, count]. */
function histogramOf(d: Distribution): [number, number, number][] {
  if (d.count === 0) return []
  const lo = Math.log10(Math.max(d.min, 0.001))
  const hi = Math.log10(Math.max(d.max, 0.001))
  const bins = hi - lo < 1e-9 ? 1 : 40
  const width = (hi - lo) / bins || 1
  const counts = new Array<number>(bins).fill(0)
  const h = d.histogram
  for (let i = 0; i < h.counts.length; i++) {
    const n = h.counts[i]!
    if (n === 0) continue
    const v = Math.log10(LogHistogram.valueOf(i))
    counts[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)))]! += n
  }
  return counts.map((n, i) => [10 ** (lo + i * width), 10 ** (lo + (i + 1) * width), n])
}

function cdfOf(d: Distribution): [number, number][] {
  if (d.count === 0) return []
  const out: [number, number][] = []
  for (const p of CDF_POINTS) {
    const v = d.quantile(p)
    if (out.length === 0 || v !== out[out.length - 1]![0] || p === 1) out.push([v, p])
  }
  return out
}

/** Per-window throughput (ops/s) of one operation (or all, when `op` is undefined), full windows inside the interval. */
function spreadOf(stats: SampleStats, interval: [number, number], op: BenchOperation | undefined): OpSummary['spread'] {
  const w = stats.window
  const first = Math.ceil(interval[0] / w)
  const last = Math.floor(interval[1] / w) - 1
  // (A file whose samples span years would mean billions of empty windows: no spread then.)
  if (!(last >= first) || last - first > MAX_WINDOWS) return { windows: 0, mean: 0, stddev: 0 }
  const rates: number[] = []
  for (let i = first; i <= last; i++) {
    const slot = stats.windows.get(i)
    let n = 0
    if (slot) for (const [name, c] of slot) if (op === undefined || name === op) n += c.ops
    rates.push(n / (w / 1000))
  }
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length
  const variance = rates.length > 1 ? rates.reduce((a, r) => a + (r - mean) ** 2, 0) / (rates.length - 1) : 0
  return { windows: rates.length, mean, stddev: Math.sqrt(variance) }
}

function opSummary(
  stats: SampleStats,
  name: BenchOperation | 'total',
  s: OpStats,
  counted: { ok: number; bytes: number },
  interval: [number, number],
  latency: boolean,
): OpSummary {
  const seconds = Math.max((interval[1] - interval[0]) / 1000, 1e-9)
  return {
    op: name,
    ok: s.ok,
    failed: s.failed,
    errors: Object.fromEntries([...s.errors].sort((a, b) => b[1] - a[1])),
    bytes: s.bytes,
    objects: s.objects,
    opsPerSecond: counted.ok / seconds,
    mibPerSecond: counted.bytes / MiB / seconds,
    spread: spreadOf(stats, interval, name === 'total' ? undefined : name),
    latency: latency ? latencyOf(s.latency) : null,
    ttfb: latency ? latencyOf(s.ttfb) : null,
    cdf: latency ? cdfOf(s.latency) : [],
    histogram: latency ? histogramOf(s.latency) : [],
  }
}

/** Successful operations and bytes that finished inside an interval, per operation. */
export type IntervalCounts = Map<BenchOperation, { ok: number; bytes: number }>

/**
 * The summary of one measured phase. `interval` and `counted` come from a merge (see the module
 * docs); without them the interval is the samples' own and every operation counts.
 */
export function summarizeLevel(
  stats: SampleStats,
  base: Pick<LevelSummary, 'concurrency' | 'stoppedBy'> & Partial<Pick<LevelSummary, 'cpu' | 'autoterm'>>,
  merged?: { interval: [number, number]; counted: IntervalCounts },
): LevelSummary {
  const interval: [number, number] = merged?.interval ?? (stats.samples === 0 ? [0, 0] : [stats.first, stats.last])
  const order: BenchOperation[] = ['put', 'get', 'stat', 'delete', 'list', 'copy', 'multipart']
  const names = [...stats.ops.keys()].sort((a, b) => order.indexOf(a) - order.indexOf(b))
  const counted = (name: BenchOperation) =>
    merged?.counted.get(name) ?? (merged ? { ok: 0, bytes: 0 } : { ok: stats.ops.get(name)!.ok, bytes: stats.ops.get(name)!.bytes })
  const ops = names.map((name) => opSummary(stats, name, stats.ops.get(name)!, counted(name), interval, true))
  const seconds = Math.max((interval[1] - interval[0]) / 1000, 0)
  const errors: Record<string, number> = {}
  for (const o of ops) for (const [code, n] of Object.entries(o.errors)) errors[code] = (errors[code] ?? 0) + n
  const sum = (f: (o: OpSummary) => number) => ops.reduce((a, o) => a + f(o), 0)
  const single = ops.length === 1 ? ops[0]! : undefined
  const total: OpSummary = {
    op: 'total',
    ok: sum((o) => o.ok),
    failed: sum((o) => o.failed),
    errors: Object.fromEntries(Object.entries(errors).sort((a, b) => b[1] - a[1])),
    bytes: sum((o) => o.bytes),
    objects: sum((o) => o.objects),
    opsPerSecond: sum((o) => o.opsPerSecond),
    mibPerSecond: sum((o) => o.mibPerSecond),
    spread: spreadOf(stats, interval, undefined),
    latency: single?.latency ?? null,
    ttfb: single?.ttfb ?? null,
    cdf: single?.cdf ?? [],
    histogram: single?.histogram ?? [],
  }
  const windows: LevelSummary['windows'] = [...stats.windows.keys()]
    .sort((a, b) => a - b)
    .map((i) => [i * stats.window, Object.fromEntries([...stats.windows.get(i)!].map(([op, c]) => [op, { ops: c.ops, bytes: c.bytes }]))])
  return {
    concurrency: base.concurrency,
    stoppedBy: base.stoppedBy,
    interval,
    seconds,
    samples: stats.samples,
    total,
    ops,
    windows,
    ...(base.cpu ? { cpu: base.cpu } : {}),
    ...(base.autoterm ? { autoterm: base.autoterm } : {}),
  }
}

/** The knee rule, stated in every sweep summary. */
export const KNEE_RULE = 'the lowest concurrency whose throughput (ops/s) reaches 90% of the best level of the sweep'

/**
 * The knee of a sweep: the lowest concurrency whose throughput reaches 90% of the best level's.
 * Beyond it, more requests in flight mostly add latency. When that is the highest level tried,
 * throughput was still rising: try higher.
 *
 * @example
 * ```ts
 * import { kneeOf, type BenchmarkSummary } from 'bucketflow/bench'
 * declare const summary: BenchmarkSummary
 * kneeOf(summary.levels.map((l) => ({ concurrency: l.concurrency, opsPerSecond: l.total.opsPerSecond })))
 * ```
 */
export function kneeOf(levels: readonly { concurrency: number; opsPerSecond: number }[]): { concurrency: number; rule: string } | undefined {
  if (levels.length < 2) return undefined
  const sorted = [...levels].sort((a, b) => a.concurrency - b.concurrency)
  const best = Math.max(...sorted.map((l) => l.opsPerSecond))
  const knee = sorted.find((l) => l.opsPerSecond >= 0.9 * best)!
  const rising = knee.concurrency === sorted[sorted.length - 1]!.concurrency
  return { concurrency: knee.concurrency, rule: `${KNEE_RULE}${rising ? ' (the highest level tried: throughput was still rising)' : ''}` }
}

/**
 * The knee of a sweep's measured levels. A level stopped by the signal (Ctrl-C, an abort, a
 * results file that could not be written) was cut short: its throughput is not that level's, so
 * it takes no part (a sweep with fewer than two complete levels has no knee).
 *
 * @example
 * ```ts
 * import { kneeOfLevels, type BenchmarkSummary } from 'bucketflow/bench'
 * declare const summary: BenchmarkSummary
 * const knee = kneeOfLevels(summary.levels) // summary.knee of a run or of merged results
 * ```
 */
export function kneeOfLevels(levels: readonly Pick<LevelSummary, 'concurrency' | 'stoppedBy' | 'total'>[]): { concurrency: number; rule: string } | undefined {
  return kneeOf(levels.filter((l) => l.stoppedBy !== 'signal').map((l) => ({ concurrency: l.concurrency, opsPerSecond: l.total.opsPerSecond })))
}
