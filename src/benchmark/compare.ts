/**
 * Compare two runs: per operation (and concurrency level), throughput and latency before and
 * after, the change, and whether it exceeds the noise.
 *
 * Spread: throughput is given as the mean ± standard deviation of the per-window rates; a change
 * counts as real when it exceeds twice the standard error of the difference of the two means
 * (`2 sqrt(sa²/na + sb²/nb)`, na and nb windows). Latency percentiles come with their 95%
 * confidence intervals (order statistics); a change counts as real when the intervals do not
 * overlap.
 *
 * @example
 * ```ts
 * import { compareSummaries, formatComparison, loadResults } from 'bucketflow/bench'
 * const a = (await loadResults('before.parquet')).summary
 * const b = (await loadResults('after.parquet')).summary
 * console.log(formatComparison(compareSummaries(a, b)))
 * ```
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../index.js'
import { alignTable, ms, rate } from './table.js'
import type { BenchmarkSummary, OpSummary } from './types.js'

/** One figure before and after. */
export interface Change {
  a: number
  b: number
  /** (b - a) / a; NaN when a is 0. */
  change: number
  /** Spread of a and b: ± standard deviation (throughput) or the 95% interval (latency). */
  spreadA: [number, number]
  spreadB: [number, number]
  /** The change exceeds the noise (see the module docs). */
  significant: boolean
}

/** One operation at one concurrency. */
export interface ComparisonRow {
  op: string
  concurrency: number
  opsPerSecond: Change
  p50: Change | null
  p99: Change | null
}

/**
 * Compare two summaries (runs, or merged clients) operation by operation, level by level. Two
 * results of different workloads (a `get` run against a `mixed` one) measure different things:
 * that rejects with an InvalidArgumentError naming both, before any figure is compared.
 *
 * @example
 * ```ts
 * import { compareSummaries, loadResults } from 'bucketflow/bench'
 * const before = (await loadResults('main.parquet')).summary
 * const after = (await loadResults('branch.parquet')).summary
 * const rows = compareSummaries(before, after)
 * console.log(rows.filter((r) => r.opsPerSecond.significant).map((r) => `${r.op} ${r.opsPerSecond.change}`))
 * ```
 */
export function compareSummaries(a: BenchmarkSummary, b: BenchmarkSummary): ComparisonRow[] {
  if (a.workload !== b.workload) {
    throw new InvalidArgumentError(`Expected two results of the same workload, got ${a.workload} (run ${a.runId}) and ${b.workload} (run ${b.runId})`, {
      argument: 'results',
    })
  }
  const rows: ComparisonRow[] = []
  const single = a.levels.length === 1 && b.levels.length === 1
  for (const la of a.levels) {
    const lb = single ? b.levels[0] : b.levels.find((l) => l.concurrency === la.concurrency)
    if (!lb) continue
    for (const oa of la.ops) {
      const ob = lb.ops.find((o) => o.op === oa.op)
      if (!ob) continue
      rows.push({
        op: oa.op,
        concurrency: single && la.concurrency !== lb.concurrency ? Number.NaN : la.concurrency,
        opsPerSecond: throughput(oa, ob),
        p50: latency(oa, ob, 'p50'),
        p99: latency(oa, ob, 'p99'),
      })
    }
  }
  return rows
}

function throughput(a: OpSummary, b: OpSummary): Change {
  const sa = a.spread
  const sb = b.spread
  const se = Math.sqrt((sa.windows > 0 ? sa.stddev ** 2 / sa.windows : 0) + (sb.windows > 0 ? sb.stddev ** 2 / sb.windows : 0))
  return {
    a: a.opsPerSecond,
    b: b.opsPerSecond,
    change: a.opsPerSecond > 0 ? (b.opsPerSecond - a.opsPerSecond) / a.opsPerSecond : Number.NaN,
    spreadA: [a.opsPerSecond - sa.stddev, a.opsPerSecond + sa.stddev],
    spreadB: [b.opsPerSecond - sb.stddev, b.opsPerSecond + sb.stddev],
    significant: sa.windows >= 2 && sb.windows >= 2 && Math.abs(sb.mean - sa.mean) > 2 * se,
  }
}

function latency(a: OpSummary, b: OpSummary, key: 'p50' | 'p99'): Change | null {
  if (!a.latency || !b.latency) return null
  const ia = a.latency.ci95[key]
  const ib = b.latency.ci95[key]
  return {
    a: a.latency[key],
    b: b.latency[key],
    change: a.latency[key] > 0 ? (b.latency[key] - a.latency[key]) / a.latency[key] : Number.NaN,
    spreadA: ia,
    spreadB: ib,
    significant: ia[1] < ib[0] || ib[1] < ia[0],
  }
}

function pct(c: Change): string {
  if (!Number.isFinite(c.change)) return '-'
  const s = `${c.change >= 0 ? '+' : ''}${(c.change * 100).toFixed(1)}%`
  return c.significant ? s : `${s} (noise)`
}

/**
 * The comparison as a table: a -> b, change, and whether it is beyond the noise.
 *
 * @example
 * ```ts
 * import { compareSummaries, formatComparison, type BenchmarkSummary } from 'bucketflow/bench'
 * declare const before: BenchmarkSummary, after: BenchmarkSummary
 * console.log(formatComparison(compareSummaries(before, after), ['main', 'branch']))
 * ```
 */
export function formatComparison(rows: readonly ComparisonRow[], labels: [string, string] = ['a', 'b']): string {
  if (rows.length === 0) return 'nothing to compare: the two results share no operation at the same concurrency'
  const table = [
    [
      'op',
      'conc',
      `ops/s ${labels[0]}`,
      `ops/s ${labels[1]}`,
      'change',
      `p50 ${labels[0]}`,
      `p50 ${labels[1]}`,
      'change',
      `p99 ${labels[0]}`,
      `p99 ${labels[1]}`,
      'change',
    ],
  ]
  for (const r of rows) {
    const t = r.opsPerSecond
    const half = (s: [number, number]) => (s[1] - s[0]) / 2
    table.push([
      r.op,
      Number.isNaN(r.concurrency) ? '-' : String(r.concurrency),
      `${rate(t.a)} ±${rate(half(t.spreadA))}`,
      `${rate(t.b)} ±${rate(half(t.spreadB))}`,
      pct(t),
      r.p50 ? `${ms(r.p50.a)} [${ms(r.p50.spreadA[0])}-${ms(r.p50.spreadA[1])}]` : '-',
      r.p50 ? `${ms(r.p50.b)} [${ms(r.p50.spreadB[0])}-${ms(r.p50.spreadB[1])}]` : '-',
      r.p50 ? pct(r.p50) : '-',
      r.p99 ? `${ms(r.p99.a)} [${ms(r.p99.spreadA[0])}-${ms(r.p99.spreadA[1])}]` : '-',
      r.p99 ? `${ms(r.p99.b)} [${ms(r.p99.spreadB[0])}-${ms(r.p99.spreadB[1])}]` : '-',
      r.p99 ? pct(r.p99) : '-',
    ])
  }
  return [
    alignTable(table),
    'ops/s: mean ± standard deviation over time windows; latency (ms): value [95% confidence interval]; "(noise)": the change is within the spread.',
  ].join('\n')
}
