/**
 * The summary as text: one table per measured phase (ops/s, MiB/s, latency p50/p90/p99/p99.9,
 * TTFB p50/p99, errors by code), the client CPU per operation, and for a sweep one line per
 * level with the knee marked.
 *
 * @example
 * ```ts
 * import { benchmark, formatSummary } from 'bucketflow/bench'
 * console.log(formatSummary(await benchmark(bucket, { workload: 'stat', duration: 10_000 })))
 * ```
 * @packageDocumentation
 */
import type { BenchmarkSummary, LatencySummary, LevelSummary, OpSummary } from './types.js'

/** Milliseconds with 3 significant digits: 0.412, 12.3, 1234. */
export function ms(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '-'
  const a = Math.abs(value)
  return a >= 100 ? value.toFixed(0) : a >= 10 ? value.toFixed(1) : a >= 1 ? value.toFixed(2) : value.toFixed(3)
}

/** A throughput figure: 1234, 12.3, 0.42. */
export function rate(value: number): string {
  const a = Math.abs(value)
  return a >= 100 ? value.toFixed(0) : a >= 10 ? value.toFixed(1) : value.toFixed(2)
}

/** Align columns: the first left, the others right. */
export function alignTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

function errorsOf(o: OpSummary): string {
  const e = Object.entries(o.errors)
  return e.length === 0 ? '0' : e.map(([code, n]) => `${code} ${n}`).join(', ')
}

function lat(l: LatencySummary | null, key: 'p50' | 'p90' | 'p99' | 'p999'): string {
  return l ? ms(l[key]) : '-'
}

/** The table of one measured phase. */
export function formatLevel(level: LevelSummary): string {
  const header = ['op', 'ops/s', 'MiB/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'TTFB p50', 'TTFB p99', 'ok', 'errors']
  const rows = [header]
  const shown = level.ops.length > 1 ? [...level.ops, level.total] : level.ops
  for (const o of shown) {
    rows.push([
      o.op,
      rate(o.opsPerSecond),
      o.bytes > 0 ? rate(o.mibPerSecond) : '-',
      lat(o.latency, 'p50'),
      lat(o.latency, 'p90'),
      lat(o.latency, 'p99'),
      lat(o.latency, 'p999'),
      lat(o.ttfb, 'p50'),
      lat(o.ttfb, 'p99'),
      String(o.ok),
      errorsOf(o),
    ])
  }
  const lines = [alignTable(rows)]
  const spread = level.total.spread
  const parts = [
    `concurrency ${level.concurrency}`,
    `${level.seconds.toFixed(1)} s measured`,
    `stopped by ${level.stoppedBy}`,
    spread.windows > 1 ? `ops/s per ${spread.windows} windows ${rate(spread.mean)} ± ${rate(spread.stddev)}` : '',
  ].filter(Boolean)
  lines.push(parts.join(', '))
  if (level.cpu) {
    lines.push(
      `client CPU ${ms(level.cpu.perOpMs)} ms per operation (${(level.cpu.cpuMs / 1000).toFixed(2)} s, ${level.cpu.cores.toFixed(2)} cores busy), peak RSS ${level.cpu.maxRssMiB.toFixed(0)} MiB`,
    )
  }
  return lines.join('\n')
}

/** The sweep table: one line per level, the knee marked. */
export function formatSweep(summary: BenchmarkSummary): string {
  const rows = [['concurrency', 'ops/s', 'MiB/s', 'p50 ms', 'p99 ms', 'errors', 'CPU ms/op', '']]
  for (const l of summary.levels) {
    const single = l.ops.length === 1 ? l.ops[0]! : undefined
    rows.push([
      String(l.concurrency),
      rate(l.total.opsPerSecond),
      l.total.bytes > 0 ? rate(l.total.mibPerSecond) : '-',
      single ? lat(single.latency, 'p50') : '-',
      single ? lat(single.latency, 'p99') : '-',
      String(l.total.failed),
      l.cpu ? ms(l.cpu.perOpMs) : '-',
      summary.knee?.concurrency === l.concurrency ? '<- knee' : '',
    ])
  }
  const lines = [alignTable(rows)]
  if (summary.knee) lines.push(`knee: concurrency ${summary.knee.concurrency}: ${summary.knee.rule}`)
  return lines.join('\n')
}

/**
 * The whole summary: a header line, one table per level, the sweep table, notes.
 *
 * @example
 * ```ts
 * import { Bucket } from 'bucketflow'
 * import { formatSummary, loadResults } from 'bucketflow/bench'
 * console.log(formatSummary((await loadResults('s3://bench/results/run-42/', { openBucket: (n: string) => new Bucket(n) })).summary))
 * ```
 */
export function formatSummary(summary: BenchmarkSummary): string {
  const head = `${summary.workload} on ${summary.endpoint || '?'} s3://${summary.bucket}/${summary.keyPrefix}  sizes ${summary.settings.sizes}${summary.settings.transport ? `  transport ${summary.settings.transport}` : ''}  run ${summary.runId}  client${summary.clients.length > 1 ? 's' : ''} ${summary.clients.join(', ')}`
  const out = [head, '']
  for (const l of summary.levels) out.push(formatLevel(l), '')
  if (summary.levels.length > 1) out.push(formatSweep(summary), '')
  if (summary.cleanup)
    out.push(
      `cleanup: ${summary.cleanup.deleted} objects deleted${summary.cleanup.failed ? `, ${summary.cleanup.failed} FAILED` : ''}${summary.cleanup.aborted ? `, ${summary.cleanup.aborted} uploads aborted` : ''}`,
    )
  for (const n of summary.notes) out.push(`note: ${n}`)
  return out.join('\n').trimEnd()
}
