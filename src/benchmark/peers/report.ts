/**
 * The benchmark's output: a plain-text table (and the same as Markdown) of medians per tool and
 * phase, and the files under the results folder: `<timestamp>.json`, `latest.json`,
 * `latest.md`, `throughput.svg` (and `throughput.png` when rsvg-convert is installed).
 * @packageDocumentation
 */
import { execFile } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { InvalidArgumentError } from '../../errors.js'
import { renderChart } from './chart.js'
import type { BenchReport, SummaryRow } from './engine.js'
import { num } from './format.js'
import { onPath } from './tools/tools.js'

const COLUMNS = ['workload', 'tool', 'throughput', 'min-max', 'wall s', 'CPU s', 'peak RSS MiB', 'bucketflow/peer', 'ok runs'] as const

function rows(report: BenchReport): string[][] {
  const out: string[][] = []
  let last = ''
  for (const r of report.summary) {
    const w = report.workloads.find((x) => x.id === r.workload)
    const group = `${r.workload} ${r.phase}`
    const label = group === last ? '' : `${group} (${w?.title ?? ''})`
    last = group
    out.push([
      label,
      r.tool,
      r.throughput === null ? `FAILED` : `${num(r.throughput)} ${r.unit}`,
      r.min === null || r.max === null ? '-' : `${num(r.min)}-${num(r.max)}`,
      num(r.wall),
      num(r.cpu),
      num(r.maxRssMiB, 0),
      r.ratio === null ? '-' : `${num(r.ratio)}x`,
      `${r.okRuns}/${r.runs}`,
    ])
  }
  return out
}

function failures(report: BenchReport): string[] {
  return report.summary.filter((r: SummaryRow) => r.error).map((r) => `${r.workload} ${r.phase} ${r.tool}: ${r.okRuns}/${r.runs} runs ok; ${r.error}`)
}

function header(report: BenchReport): string {
  const s = report.settings
  const code = report.code ? ` (bucketflow ${report.code.version}${report.code.commit ? ` @ ${report.code.commit}` : ''})` : ''
  return `bucketflow bench${code}: ${s.runs} run(s), medians; scale ${s.scale}; concurrency ${s.concurrency}; part size ${s.partSizeMiB} MiB; ${report.server.endpoint} (${report.server.source}); ${report.machine.cpus} CPUs, node ${report.machine.node}`
}

/** The summary as an aligned plain-text table, with skipped tools, failures and notes after it. */
export function formatTable(report: BenchReport): string {
  const body = rows(report)
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...body.map((r) => r[i]!.length)))
  const right = (i: number) => i >= 2
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (right(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  const out = [header(report), '', line(COLUMNS), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)]
  const skipped = report.tools.filter((t) => !t.available)
  if (skipped.length) out.push('', ...skipped.map((t) => `skipped ${t.name}: ${t.note ?? ''}`))
  const f = failures(report)
  if (f.length) out.push('', 'failed samples (not timed):', ...f.map((x) => `  ${x}`))
  out.push('', 'tools:')
  for (const t of report.tools.filter((x) => x.available)) {
    const st = t.startup ? `; start-up ${num(t.startup.wall)} s wall, ${num(t.startup.cpu)} s CPU, ${num(t.startup.maxRssMiB, 0)} MiB` : ''
    out.push(`  ${t.name}${t.version ? ` (${t.version})` : ''}: ${t.description}${st}`)
  }
  out.push('', 'notes:', ...report.notes.map((n) => `  - ${n}`))
  return out.join('\n')
}

const esc = (s: string) => s.replace(/\|/g, '\\|')

/** The header line, the Markdown table, failed samples and skipped tools (no trailing newline). */
function markdownTable(report: BenchReport): string {
  const out = [
    header(report),
    '',
    `| ${COLUMNS.join(' | ')} |`,
    `|${COLUMNS.map((_, i) => (i >= 2 ? '---:' : '---')).join('|')}|`,
    ...rows(report).map((r) => `| ${r.map(esc).join(' | ')} |`),
  ]
  const f = failures(report)
  if (f.length) out.push('', 'Failed samples (not timed):', '', ...f.map((x) => `- ${esc(x)}`))
  const skipped = report.tools.filter((t) => !t.available)
  if (skipped.length) out.push('', ...skipped.map((t) => `- skipped ${t.name}: ${esc(t.note ?? '')}`))
  return out.join('\n')
}

/** The summary as a Markdown table with the notes (latest.md). */
export function formatMarkdown(report: BenchReport): string {
  return `${[markdownTable(report), '', ...report.notes.map((n) => `- ${n}`)].join('\n')}\n`
}

/** Written files. */
export interface Written {
  json: string
  latest: string
  markdown: string
  svg: string
  png?: string
}

/** Write the report's files into `dir` (created if needed). */
export async function writeReport(report: BenchReport, dir: string): Promise<Written> {
  await mkdir(dir, { recursive: true })
  const stamp = report.startedAt.replace(/[:.]/g, '-')
  const json = `${JSON.stringify(report, null, 2)}\n`
  const written: Written = {
    json: join(dir, `${stamp}.json`),
    latest: join(dir, 'latest.json'),
    markdown: join(dir, 'latest.md'),
    svg: join(dir, 'throughput.svg'),
  }
  await writeFile(written.json, json)
  await writeFile(written.latest, json)
  await writeFile(written.markdown, formatMarkdown(report))
  await writeFile(written.svg, renderChart(report))
  const rsvg = onPath('rsvg-convert')
  if (rsvg) {
    const png = join(dir, 'throughput.png')
    const ok = await promisify(execFile)(rsvg, ['-f', 'png', '-z', '1.5', '-o', png, written.svg]).then(
      () => true,
      () => false,
    )
    if (ok) written.png = png
  }
  return written
}

/** The markers around the generated peer table in a Markdown file (the README). */
export const README_BEGIN = '<!-- bench-peers:begin (generated by `npm run bench -- --readme README.md`) -->'
export const README_END = '<!-- bench-peers:end -->'

/** The text before and after the generated block; InvalidArgumentError when the markers are missing or out of order. */
function splitReadme(text: string, file: string): [string, string] {
  const a = text.indexOf(README_BEGIN)
  const b = text.indexOf(README_END)
  if (a < 0 || b < a) {
    throw new InvalidArgumentError(
      `Expected ${file} to hold the lines ${JSON.stringify(README_BEGIN)} and ${JSON.stringify(README_END)} (in that order) around the peer table, got ${a < 0 ? 'no begin marker' : b < 0 ? 'no end marker' : 'the end marker first'}`,
      { argument: 'readme' },
    )
  }
  return [text.slice(0, a + README_BEGIN.length), text.slice(b)]
}

/**
 * Check before a run that `file` can take the peer table (it exists and holds the markers), so
 * that a long run does not end in an error.
 */
export async function checkReadme(file: string): Promise<void> {
  splitReadme(await readFile(file, 'utf8'), file)
}

/**
 * Replace the block between the markers of `file` with the run's Markdown table (the header
 * line, the table, failed samples and skipped tools; the notes stay in latest.md). Everything
 * outside the markers is kept byte for byte.
 */
export async function updateReadme(report: BenchReport, file: string): Promise<void> {
  const [before, after] = splitReadme(await readFile(file, 'utf8'), file)
  await writeFile(file, `${before}\n\n${markdownTable(report)}\n\n${after}`)
}
