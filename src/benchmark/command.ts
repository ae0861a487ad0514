/**
 * The actions of `bucketflow bench put|get|mixed|list|stat|delete|multipart|copy`, `bench report`
 * and `bench compare` (registered in src/cli/bench.ts, which loads this module only when one of
 * them runs).
 * @packageDocumentation
 */
import { constants } from 'node:fs'
import { access, mkdir, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { type Bucket, InvalidArgumentError, isAwsEndpoint, resolveEndpoint, type ParquetDestination } from '../index.js'
import { EXIT_FAILED, EXIT_OK, openBucket, parseS3Url, signalCounter, type GlobalOptions, type Output } from '../cli/common.js'
import { latencyChart, throughputChart } from './charts.js'
import { compareSummaries, formatComparison } from './compare.js'
import { estimateRequests } from './cost.js'
import { ID } from './objects.js'
import { loadResults, summaryPathOf } from './results.js'
import { benchmark } from './run.js'
import { defaultClientId, newRunId } from './settings.js'
import { parseSize, parseSizes } from './sizes.js'
import { formatSummary, ms, rate } from './table.js'
import type { BenchmarkOptions, BenchmarkSummary, BenchWorkload, MixedOperation } from './types.js'

/** The global options as the bench commands see them: -c may be a list (`8,16,32`). */
export type BenchGlobals = Omit<GlobalOptions, 'concurrency'> & { concurrency?: number | string }

/** Exit code after an interrupt (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130

/** The flags of a workload subcommand, as commander hands them over (strings, parsed here). */
export interface WorkloadFlags {
  duration: string
  size?: string
  objects?: string
  weights?: string
  autoterm?: boolean
  autotermTolerance?: string
  autotermStable?: string
  results?: string
  runId?: string
  clientId?: string
  startAt?: string
  seed?: string
  maxOps?: string
  partSize?: string
  queueSize?: string
  pageSize?: string
  batch?: string
  reuse?: boolean
  yes?: boolean
  cleanup: boolean
}

function usage(argument: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError(message, { argument })
}

/** "30s", "2m", "1h", "500ms", "1m30s"; a bare number is seconds. Milliseconds. */
export function parseDuration(text: string, argument = 'duration'): number {
  const t = text.trim()
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  let total = 0
  let rest = t
  for (;;) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest)
    if (!m) break
    total += Number(m[1]) * units[m[2]!]!
    rest = rest.slice(m[0].length)
  }
  if (rest !== '' || t === '' || !(total > 0))
    throw usage(argument, `Expected ${argument} to be a duration such as 30s, 5m, 1h or 500ms, got ${JSON.stringify(text)}`)
  return total
}

function integer(text: string | undefined, argument: string, min: number): number | undefined {
  if (text === undefined) return undefined
  const n = Number(text)
  if (!Number.isInteger(n) || n < min) throw usage(argument, `Expected ${argument} to be an integer >= ${min}, got ${JSON.stringify(text)}`)
  return n
}

/** "8,16,32" or 8 -> the levels. */
export function parseLevels(value: number | string | undefined): number | number[] {
  if (value === undefined) return 16
  if (typeof value === 'number') return value
  const levels = value.split(',').map((p) => Number(p.trim()))
  if (levels.length === 0 || levels.some((n) => !Number.isInteger(n) || n < 1))
    throw usage('concurrency', `Expected concurrency to be an integer >= 1 or a list such as 8,16,32,64, got ${JSON.stringify(value)}`)
  return levels.length === 1 ? levels[0]! : levels
}

/** "get=60,put=40" -> weights. */
export function parseWeights(text: string): Partial<Record<MixedOperation, number>> {
  const out: Partial<Record<MixedOperation, number>> = {}
  for (const part of text.split(',')) {
    const m = /^\s*(get|stat|put|delete)\s*=\s*(\d+(?:\.\d+)?)\s*$/.exec(part)
    if (!m) throw usage('weights', `Expected weights such as get=45,stat=30,put=15,delete=10, got ${JSON.stringify(text)}`)
    out[m[1] as MixedOperation] = Number(m[2])
  }
  return out
}

/** Where the results go: a local .parquet path, or `<clientId>.parquet` in an s3:// folder. */
interface ResultsPlan {
  destination: ParquetDestination
  /** Shown to people. */
  parquet: string
  summary: string
  /** Writes the JSON summary beside the Parquet. */
  writeSummary: (json: string) => Promise<void>
  /** Fails now if the results could not be written later (missing bucket, no permission). */
  check: () => Promise<void>
}

/** The global options without a concurrency list (bench's own; a Bucket takes one number). */
function plain(g: BenchGlobals): GlobalOptions {
  const { concurrency, ...rest } = g
  return typeof concurrency === 'number' ? { ...rest, concurrency } : rest
}

function planResults(flag: string | undefined, runId: string, clientId: string, workload: string, g: GlobalOptions): ResultsPlan {
  if (flag?.startsWith('s3://')) {
    const url = parseS3Url(flag, 'results')
    const folder = url.key === '' || url.key.endsWith('/') ? url.key : `${url.key}/`
    const bucket = openBucket(url.bucket, g)
    const key = `${folder}${clientId}.parquet`
    return {
      destination: { bucket, key },
      parquet: `s3://${url.bucket}/${key}`,
      summary: `s3://${url.bucket}/${summaryPathOf(key)}`,
      writeSummary: async (json) => void (await bucket.put(json, summaryPathOf(key), { literal: true, contentType: 'application/json' })),
      check: async () => {
        for await (const _ of bucket.list(folder)) break
      },
    }
  }
  const path =
    flag === undefined ? join('bench-results', `${runId}-${workload}.parquet`) : flag.endsWith('.parquet') ? flag : join(flag, `${runId}-${clientId}.parquet`)
  return {
    destination: path,
    parquet: path,
    summary: summaryPathOf(path),
    writeSummary: async (json) => {
      await mkdir(dirname(path), { recursive: true })
      await writeFile(summaryPathOf(path), json)
    },
    check: async () => {
      await mkdir(dirname(path), { recursive: true })
      await access(dirname(path), constants.W_OK)
    },
  }
}

/** `bucketflow bench <workload> s3://bucket/prefix/`. */
export async function runWorkload(workload: BenchWorkload, url: string, flags: WorkloadFlags, g: BenchGlobals, out: Output): Promise<number> {
  const target = parseS3Url(url)
  // A prefix is a folder: `s3://b/bench` means bench/ (else keys would be bench<run-id>/...).
  if (target.key !== '' && !target.key.endsWith('/')) target.key += '/'
  const concurrency = parseLevels(g.concurrency)
  const duration = parseDuration(flags.duration)
  const levels = Array.isArray(concurrency) ? concurrency : [concurrency]
  // The run id: given, else the results folder's name when the results go to a shared s3:// folder
  // (so that every client writing there shares the run), else a new one.
  let runId = flags.runId
  if (runId === undefined && flags.results?.startsWith('s3://')) {
    const last = parseS3Url(flags.results, 'results').key.replace(/\/+$/, '').split('/').pop() ?? ''
    if (ID.test(last) && !last.endsWith('.parquet')) runId = last
  }
  runId ??= newRunId()
  const clientId = flags.clientId ?? defaultClientId()
  if (flags.startAt !== undefined && !Number.isFinite(Date.parse(flags.startAt)))
    throw usage('start-at', `Expected --start-at to be an ISO time such as 2026-12-01T15:30:00Z, got ${JSON.stringify(flags.startAt)}`)
  const autoterm = flags.autoterm
    ? {
        ...(flags.autotermTolerance !== undefined ? { tolerance: Number(flags.autotermTolerance) / 100 } : {}),
        ...(flags.autotermStable !== undefined ? { minStable: parseDuration(flags.autotermStable, 'autoterm-stable') } : {}),
      }
    : false
  const options: BenchmarkOptions = {
    workload,
    duration,
    concurrency,
    prefix: target.key,
    runId,
    clientId,
    autoterm,
    cleanup: flags.cleanup,
    reuse: flags.reuse ?? false,
    ...(flags.size !== undefined ? { sizes: parseSizes(flags.size) } : {}),
    ...(flags.objects !== undefined ? { objects: integer(flags.objects, 'objects', 0)! } : {}),
    ...(flags.weights !== undefined ? { weights: parseWeights(flags.weights) } : {}),
    ...(flags.startAt !== undefined ? { startAt: new Date(flags.startAt) } : {}),
    ...(flags.seed !== undefined ? { seed: integer(flags.seed, 'seed', 0)! } : {}),
    ...(flags.maxOps !== undefined ? { maxOps: integer(flags.maxOps, 'max-ops', 1)! } : {}),
    ...(flags.partSize !== undefined ? { partSize: parseSize(flags.partSize, 'part-size') } : {}),
    ...(flags.queueSize !== undefined ? { queueSize: integer(flags.queueSize, 'queue-size', 1)! } : {}),
    ...(flags.pageSize !== undefined ? { pageSize: integer(flags.pageSize, 'page-size', 1)! } : {}),
    ...(flags.batch !== undefined ? { batch: integer(flags.batch, 'batch', 1)! } : {}),
  }
  const results = planResults(flags.results, runId, clientId, workload, plain(g))
  if (results.parquet.startsWith(`s3://${target.bucket}/${target.key}`)) {
    throw usage(
      'results',
      `Expected --results outside the benchmark's prefix s3://${target.bucket}/${target.key} (the next run would refuse the prefix), got ${flags.results}`,
    )
  }
  const endpoint = resolveEndpoint(g.endpoint ? { endpoint: g.endpoint } : {})
  if (isAwsEndpoint(endpoint)) {
    const estimate = estimateRequests(options)
    process.stderr.write(`${estimate.text}\n`)
    if (!flags.yes) throw usage('yes', `The endpoint is AWS (${endpoint ?? 'the default'}), where requests cost money: add --yes to run`)
  }
  await results.check()
  const bucket: Bucket = openBucket(target.bucket, { ...plain(g), concurrency: Math.max(8, Math.ceil(Math.max(...levels) / 2)) })

  // Ctrl-C (or SIGTERM): stop, clean up, report what was measured; a second one exits at once.
  const controller = new AbortController()
  const signals = signalCounter()
  const onSignal = (name: NodeJS.Signals) => {
    const seen = signals()
    if (seen === 'echo') return
    if (seen === 'again') {
      process.stderr.write(`\n${name} again: exiting without cleanup; objects may be left under s3://${target.bucket}/${target.key}${runId}/${clientId}/\n`)
      process.exit(EXIT_INTERRUPTED)
    }
    process.stderr.write(`\n${name}: stopping, cleaning up (again to exit at once)\n`)
    controller.abort(new Error(`interrupted by ${name}`))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const live = !g.quiet && process.stderr.isTTY
  const status = (line: string) => {
    if (!g.quiet) process.stderr.write(`${live ? '\r\x1b[K' : ''}${line}\n`)
  }
  let summary: BenchmarkSummary
  try {
    summary = await benchmark(bucket, {
      ...options,
      results: results.destination,
      signal: controller.signal,
      onPhase: (p) => {
        if (p.phase === 'prepare') status(`preparing ${p.objects} objects under s3://${target.bucket}/${target.key}${runId}/${clientId}/`)
        else if (p.phase === 'wait') status(`waiting until ${p.until.toISOString()}`)
        else if (p.phase === 'measure')
          status(`measuring ${workload} at concurrency ${p.concurrency} for up to ${p.duration / 1000} s${autoterm ? ' (autoterm)' : ''}`)
        else status('cleaning up')
      },
      ...(live
        ? {
            onProgress: (p) =>
              process.stderr.write(
                `\r\x1b[K${workload} c=${p.concurrency} ${(p.elapsed / 1000).toFixed(0)}s  ${rate(p.opsPerSecond)} ops/s  ${rate(p.bytesPerSecond / 1024 / 1024)} MiB/s  p99 ${ms(p.p99)} ms  ok ${p.ops}  errors ${p.errors}`,
              ),
          }
        : {}),
    })
  } finally {
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
    if (live) process.stderr.write('\r\x1b[K')
  }
  const json = `${JSON.stringify(summary, null, 2)}\n`
  await results.writeSummary(json)
  if (g.json) process.stdout.write(`${JSON.stringify(summary)}\n`)
  else process.stdout.write(`${formatSummary(summary)}\n`)
  const samples = summary.levels.reduce((n, l) => n + l.samples, 0)
  out.summary(samples > 0 ? `wrote ${results.parquet} and ${results.summary}` : `no samples; wrote ${results.summary}`)
  if (controller.signal.aborted) return EXIT_INTERRUPTED
  return summary.levels.some((l) => l.total.failed > 0) || (summary.cleanup?.failed ?? 0) > 0 ? EXIT_FAILED : EXIT_OK
}

/** `bucketflow bench report <results...>`: the summary table, and SVG charts. */
export async function report(sources: string[], flags: { out?: string; charts: boolean }, globals: BenchGlobals, out: Output): Promise<number> {
  const g = plain(globals)
  const { summary, files } = await loadResults(sources, { openBucket: (name) => openBucket(name, g) })
  if (g.json) process.stdout.write(`${JSON.stringify(summary)}\n`)
  else process.stdout.write(`${formatSummary(summary)}\n`)
  if (flags.charts) {
    const first = sources[0]!
    const local = !first.startsWith('s3://') && first.endsWith('.parquet')
    const dir = flags.out ?? (local ? dirname(first) : 'bench-results')
    const stem = local && sources.length === 1 ? basename(first, '.parquet') : summary.runId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80) || 'results'
    await mkdir(dir, { recursive: true })
    const throughput = join(dir, `${stem}-throughput.svg`)
    const latency = join(dir, `${stem}-latency.svg`)
    await writeFile(throughput, throughputChart(summary))
    await writeFile(latency, latencyChart(summary))
    out.summary(`read ${files.length} file${files.length === 1 ? '' : 's'}; wrote ${throughput} and ${latency}`)
  }
  return EXIT_OK
}

/** `bucketflow bench compare <a> <b>`. */
export async function compare(a: string, b: string, globals: BenchGlobals): Promise<number> {
  const g = plain(globals)
  const open = { openBucket: (name: string) => openBucket(name, g) }
  const [ra, rb] = [await loadResults(a, open), await loadResults(b, open)]
  const rows = compareSummaries(ra.summary, rb.summary)
  if (g.json) process.stdout.write(`${JSON.stringify(rows)}\n`)
  else process.stdout.write(`${formatComparison(rows, ['a', 'b'])}\n`)
  return EXIT_OK
}
