/**
 * The results as an SVG bar chart (no dependencies): one group of bars per workload phase, one
 * bar per tool, its length the tool's throughput relative to bucketflow's (1 = bucketflow,
 * longer is faster), labelled with the ratio and the absolute median throughput.
 * @packageDocumentation
 */
import type { BenchReport, SummaryRow } from './engine.js'
import { PEERS } from './tools/index.js'
import { num } from './format.js'

const COLORS: Record<string, string> = {
  bucketflow: '#2563eb',
  'sdk-naive': '#9ca3af',
  'sdk-batch': '#f59e0b',
  'lib-storage': '#8b5cf6',
  'minio-js': '#c2185b',
  rclone: '#10b981',
  'aws-cli': '#ef4444',
  corrupt: '#111827',
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function niceStep(max: number): number {
  for (const step of [0.25, 0.5, 1, 2, 5, 10, 20, 50]) if (max / step <= 8) return step
  return 100
}

interface Group {
  label: string
  subtitle: string
  bars: { row: SummaryRow; rel: number | null }[]
}

/** Render the report's summary as an SVG document. */
export function renderChart(report: BenchReport): string {
  const order = PEERS.map((p) => p.name)
  const groups: Group[] = []
  for (const w of report.workloads) {
    for (const phase of w.phases) {
      const rows = report.summary.filter((r) => r.workload === w.id && r.phase === phase).sort((a, b) => order.indexOf(a.tool) - order.indexOf(b.tool))
      if (rows.length === 0) continue
      const bf = rows.find((r) => r.tool === 'bucketflow')?.throughput ?? null
      const fastest = Math.max(0, ...rows.map((r) => r.throughput ?? 0))
      const reference = bf ?? (fastest || null)
      groups.push({
        label: `${w.id} ${phase}`,
        subtitle: `${w.title}${bf === null ? ' (no bucketflow result: relative to the fastest)' : ''}`,
        bars: rows.map((row) => ({ row, rel: row.throughput !== null && reference ? row.throughput / reference : null })),
      })
    }
  }
  const tools = order.filter((t) => report.summary.some((r) => r.tool === t))

  const width = 1000
  const left = 250
  const plotWidth = 500
  const barH = 15
  const barGap = 4
  const groupGap = 22
  const top = 92
  const maxRel = Math.max(1.25, ...groups.flatMap((g) => g.bars.map((b) => b.rel ?? 0))) * 1.05
  const step = niceStep(maxRel)
  const xMax = Math.ceil(maxRel / step) * step
  const x = (v: number) => left + (v / xMax) * plotWidth
  let y = top
  const parts: string[] = []
  for (const g of groups) {
    const h = g.bars.length * (barH + barGap) - barGap
    parts.push(`<text x="${left - 12}" y="${y + h / 2 - 3}" text-anchor="end" class="group">${esc(g.label)}</text>`)
    parts.push(
      `<text x="${left - 12}" y="${y + h / 2 + 12}" text-anchor="end" class="sub">${esc(g.subtitle.length > 40 ? `${g.subtitle.slice(0, 39)}…` : g.subtitle)}</text>`,
    )
    for (const b of g.bars) {
      const color = COLORS[b.row.tool] ?? '#6b7280'
      if (b.rel === null) {
        parts.push(`<text x="${left + 4}" y="${y + barH - 3}" class="fail">${esc(b.row.tool)}: failed (${b.row.okRuns}/${b.row.runs} runs verified)</text>`)
      } else {
        const w = Math.max(1, x(b.rel) - left)
        parts.push(
          `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${color}"><title>${esc(`${b.row.tool}: ${num(b.row.throughput)} ${b.row.unit}`)}</title></rect>`,
        )
        parts.push(
          `<text x="${(left + w + 6).toFixed(1)}" y="${y + barH - 3}" class="val">${esc(`${num(b.rel)}× · ${num(b.row.throughput)} ${b.row.unit}`)}</text>`,
        )
      }
      y += barH + barGap
    }
    y += groupGap - barGap
  }
  const bottom = y - groupGap + barGap + 8
  const grid: string[] = []
  for (let v = 0; v <= xMax + 1e-9; v += step) {
    grid.push(`<line x1="${x(v).toFixed(1)}" y1="${top - 6}" x2="${x(v).toFixed(1)}" y2="${bottom}" class="grid"/>`)
    grid.push(`<text x="${x(v).toFixed(1)}" y="${bottom + 16}" text-anchor="middle" class="tick">${Number(v.toFixed(2))}×</text>`)
  }
  grid.push(`<line x1="${x(1).toFixed(1)}" y1="${top - 10}" x2="${x(1).toFixed(1)}" y2="${bottom}" class="ref"/>`)
  const legend = tools
    .map((t, i) => {
      const lx = left + i * 120
      return `<rect x="${lx}" y="48" width="12" height="12" fill="${COLORS[t] ?? '#6b7280'}"/><text x="${lx + 17}" y="58" class="legend">${esc(t)}</text>`
    })
    .join('')
  const s = report.settings
  const height = bottom + 58
  const title = `S3 throughput relative to bucketflow (medians of ${s.runs} run${s.runs === 1 ? '' : 's'}, concurrency ${s.concurrency}, scale ${s.scale})`
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    '<style>.group{font-size:13px;font-weight:bold;fill:#111827}.sub{font-size:10.5px;fill:#4b5563}.val{font-size:11px;fill:#111827}.fail{font-size:11px;fill:#b91c1c;font-style:italic}.tick{font-size:11px;fill:#374151}.legend{font-size:12px;fill:#111827}.grid{stroke:#e5e7eb;stroke-width:1}.ref{stroke:#2563eb;stroke-width:1.2;stroke-dasharray:4 3}.title{font-size:15px;font-weight:bold;fill:#111827}.axis{font-size:12px;fill:#111827}</style>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="20" y="28" class="title">${esc(title)}</text>`,
    legend,
    ...grid,
    ...parts,
    `<text x="${left + plotWidth / 2}" y="${bottom + 38}" text-anchor="middle" class="axis">throughput relative to bucketflow (1× = bucketflow; longer is faster); labels: ratio · median throughput</text>`,
    `<text x="${left - 12}" y="${top - 14}" text-anchor="end" class="axis">workload, phase</text>`,
    '</svg>',
    '',
  ].join('\n')
}
