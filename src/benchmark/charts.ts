/**
 * SVG charts of a summary, without dependencies: throughput over time (successful operations
 * per second in each window, one line per operation and concurrency level) and latency per
 * operation (the CDF on a log scale, and a histogram with bins equally wide on that scale).
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises'
 * import { latencyChart, loadResults, throughputChart } from 'bucketflow/bench'
 * const { summary } = await loadResults('get.parquet')
 * await writeFile('throughput.svg', throughputChart(summary))
 * await writeFile('latency.svg', latencyChart(summary))
 * ```
 * @packageDocumentation
 */
import { ms } from './table.js'
import type { BenchmarkSummary, LevelSummary } from './types.js'

const COLORS = ['#2563eb', '#ef4444', '#10b981', '#f59e0b', '#8b5cf6', '#0ea5e9', '#ec4899', '#6b7280', '#84cc16', '#111827']
const W = 860
const H = 360
const PAD = { left: 64, right: 170, top: 36, bottom: 44 }

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** Round axis steps: 1, 2, 5 x 10^k. */
function niceStep(range: number, ticks = 6): number {
  if (!(range > 0)) return 1
  const raw = range / ticks
  const p = 10 ** Math.floor(Math.log10(raw))
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p
  return 10 * p
}

interface Series {
  label: string
  points: [number, number][]
}

function frame(title: string, xLabel: string, yLabel: string, body: string[], height = H): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${height}" fill="white"/>`,
    `<text x="${PAD.left}" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="${(PAD.left + W - PAD.right) / 2}" y="${height - 8}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text transform="translate(14 ${height / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
    ...body,
    '</svg>',
  ].join('\n')
}

/** A line plot; `logX` puts x on a log10 scale (values must be > 0). */
function plot(
  series: Series[],
  opts: { top: number; height: number; logX?: boolean; yMax?: number; yFormat?: (v: number) => string; xFormat?: (v: number) => string },
): string[] {
  const out: string[] = []
  const left = PAD.left
  const right = W - PAD.right
  const top = opts.top
  const bottom = top + opts.height
  const tx = (x: number) => (opts.logX ? Math.log10(Math.max(x, 1e-6)) : x)
  const xs = series.flatMap((s) => s.points.map((p) => tx(p[0])))
  const ys = series.flatMap((s) => s.points.map((p) => p[1]))
  if (xs.length === 0) return [`<text x="${left}" y="${top + 20}">no data</text>`]
  let x0 = Math.min(...xs)
  let x1 = Math.max(...xs)
  if (opts.logX) {
    x0 = Math.floor(x0)
    x1 = Math.ceil(x1)
  }
  if (x1 === x0) x1 = x0 + 1
  const yMax = opts.yMax ?? Math.max(...ys) * 1.1
  const y1 = yMax > 0 ? yMax : 1
  const px = (x: number) => left + ((tx(x) - x0) / (x1 - x0)) * (right - left)
  const py = (y: number) => bottom - (y / y1) * (bottom - top)
  out.push(
    `<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#111827"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#111827"/>`,
  )
  const yStep = niceStep(y1)
  for (let y = 0; y <= y1 + 1e-9; y += yStep) {
    out.push(`<line x1="${left}" y1="${py(y)}" x2="${right}" y2="${py(y)}" stroke="#e5e7eb"/>`)
    out.push(`<text x="${left - 6}" y="${py(y) + 4}" text-anchor="end">${esc(opts.yFormat ? opts.yFormat(y) : String(Number(y.toPrecision(6))))}</text>`)
  }
  if (opts.logX) {
    for (let e = x0; e <= x1; e++) {
      const x = left + ((e - x0) / (x1 - x0)) * (right - left)
      out.push(
        `<line x1="${x}" y1="${top}" x2="${x}" y2="${bottom}" stroke="#e5e7eb"/>`,
        `<text x="${x}" y="${bottom + 16}" text-anchor="middle">${esc(ms(10 ** e))}</text>`,
      )
    }
  } else {
    const step = niceStep(x1 - x0)
    for (let x = Math.ceil(x0 / step) * step; x <= x1 + 1e-9; x += step) {
      out.push(`<text x="${px(x)}" y="${bottom + 16}" text-anchor="middle">${esc(opts.xFormat ? opts.xFormat(x) : String(Number(x.toPrecision(6))))}</text>`)
    }
  }
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!
    const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ')
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.6"/>`)
    const ly = top + 12 + i * 16
    out.push(
      `<line x1="${right + 12}" y1="${ly - 4}" x2="${right + 30}" y2="${ly - 4}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${right + 36}" y="${ly}">${esc(s.label)}</text>`,
    )
  })
  return out
}

/**
 * The windows that lie wholly inside the level's measured interval. Windows sit on the epoch
 * grid, so the first and last usually cover only part of the run: drawn at full height they
 * would show a dip that is no slowdown. A run shorter than two windows keeps them all.
 */
function fullWindows(level: LevelSummary, window: number): LevelSummary['windows'] {
  const inside = level.windows.filter(([t]) => t >= level.interval[0] && t + window <= level.interval[1])
  return inside.length > 0 ? inside : level.windows
}

/**
 * Throughput over time: successful operations per second per window, per operation and level;
 * only windows wholly inside the measured interval are drawn (see fullWindows).
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises'
 * import { benchmark, throughputChart } from 'bucketflow/bench'
 * const summary = await benchmark(bucket, { workload: 'get', duration: 30_000, concurrency: [8, 16, 32] })
 * await writeFile('throughput.svg', throughputChart(summary))
 * ```
 */
export function throughputChart(summary: BenchmarkSummary): string {
  const origin = Math.min(...summary.levels.flatMap((l) => l.windows.map((w) => w[0])), Number.POSITIVE_INFINITY)
  const windowSeconds = summary.settings.window / 1000
  const series: Series[] = []
  for (const level of summary.levels) {
    const ops = level.ops.map((o) => o.op)
    const windows = fullWindows(level, summary.settings.window)
    for (const op of ops) {
      const points: [number, number][] = windows.map(([t, c]) => [(t - origin) / 1000, (c[op]?.ops ?? 0) / windowSeconds])
      series.push({ label: summary.levels.length > 1 ? `${op} @${level.concurrency}` : op, points })
    }
  }
  const clients = summary.clients.length > 1 ? ` (${summary.clients.length} clients, summed)` : ''
  return frame(
    `${summary.workload}: throughput over time${clients}`,
    'seconds',
    `ops/s per ${windowSeconds} s window`,
    plot(series, { top: PAD.top, height: H - PAD.top - PAD.bottom, yFormat: (v) => String(Number(v.toPrecision(4))) }),
  )
}

/**
 * Latency per operation: CDF (top) and histogram (bottom), both on a log scale of milliseconds.
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises'
 * import { latencyChart, loadResults } from 'bucketflow/bench'
 * await writeFile('latency.svg', latencyChart((await loadResults('get.parquet')).summary))
 * ```
 */
export function latencyChart(summary: BenchmarkSummary): string {
  const cdf: Series[] = []
  const hist: Series[] = []
  for (const level of summary.levels) {
    for (const o of level.ops) {
      const label = `${o.op}${summary.levels.length > 1 ? ` @${level.concurrency}` : ''} p99 ${ms(o.latency?.p99)} ms`
      cdf.push({ label, points: o.cdf.map(([v, p]) => [Math.max(v, 0.001), p]) })
      const total = o.histogram.reduce((a, b) => a + b[2], 0) || 1
      // Steps: each bin as a flat segment over its width.
      hist.push({
        label,
        points: o.histogram.flatMap(([a, b, n]): [number, number][] => [
          [a, n / total],
          [b, n / total],
        ]),
      })
    }
  }
  const panel = 250
  const body = [
    ...plot(cdf, { top: PAD.top, height: panel, logX: true, yMax: 1, yFormat: (v) => v.toFixed(1) }),
    `<text x="${PAD.left}" y="${PAD.top + panel + 40}" font-weight="bold">histogram (fraction of operations per bin)</text>`,
    ...plot(hist, { top: PAD.top + panel + 52, height: panel - 50, logX: true }),
  ]
  return frame(`${summary.workload}: latency (CDF)`, 'milliseconds (log scale)', 'fraction of operations', body, PAD.top + 2 * panel + PAD.bottom + 10)
}
