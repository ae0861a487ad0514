/**
 * Results on disk and in S3: a run's samples (`<name>.parquet`) beside its summary
 * (`<name>.json`), and the merge of several clients' files into one summary.
 *
 * Several machines need no coordinator: each client writes `<clientId>.parquet` and
 * `<clientId>.json` under one shared `s3://bucket/results/<run-id>/`; {@link loadResults} of that
 * folder merges them: throughput summed over the time all clients were running (see
 * summary.ts), latency percentiles from every sample, CPU summed from the summaries.
 *
 * @example
 * ```ts
 * import { loadResults } from 'bucketflow/bench'
 * const { summary } = await loadResults('s3://bench/results/run-42/', { openBucket: (name) => new Bucket(name) })
 * console.log(summary.clients, summary.levels[0]!.total.opsPerSecond)
 * ```
 * @packageDocumentation
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { InvalidArgumentError, NoSuchKeyError, getObject, getToFile, type Bucket } from '../index.js'
import { readSamples } from './samples.js'
import { SampleStats } from './stats.js'
import { summarizeLevel, kneeOfLevels, type IntervalCounts } from './summary.js'
import type { BenchmarkSummary, BenchOperation, BenchWorkload, CpuSummary, LevelSummary } from './types.js'

/** A Parquet results path's summary: `x.parquet` -> `x.json`. */
export function summaryPathOf(parquetPath: string): string {
  return `${parquetPath.replace(/\.parquet$/i, '')}.json`
}

/** What {@link loadResults} found. */
export interface LoadedResults {
  /** The merged summary (one client: that client's figures, recomputed from its samples). */
  summary: BenchmarkSummary
  /** The Parquet files read. */
  files: string[]
}

/** Options of {@link loadResults}. */
export interface LoadResultsOptions {
  /** How to reach a bucket named in an `s3://` source. */
  openBucket?: (name: string) => Bucket
  /** Exact percentiles up to this many samples per operation (see stats.ts). @default 1000000 */
  exactLimit?: number
}

interface Source {
  parquet: string
  summary: BenchmarkSummary | undefined
}

async function readJson(path: string): Promise<BenchmarkSummary | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as BenchmarkSummary
  } catch {
    return undefined
  }
}

/** Local files: a .parquet file, or every .parquet file in a folder. */
async function localSources(path: string): Promise<Source[]> {
  const info = await stat(path).catch(() => undefined)
  if (!info)
    throw new InvalidArgumentError(`Expected results to be a .parquet file, a folder of them or an s3:// folder, got ${JSON.stringify(path)} (not found)`, {
      argument: 'results',
    })
  const files = info.isDirectory()
    ? (await readdir(path))
        .filter((f) => f.endsWith('.parquet'))
        .sort()
        .map((f) => join(path, f))
    : [path]
  return Promise.all(files.map(async (parquet) => ({ parquet, summary: await readJson(summaryPathOf(parquet)) })))
}

/** S3: every .parquet object under a prefix (or one key), downloaded into `tmp`. */
async function s3Sources(url: string, openBucket: (name: string) => Bucket, tmp: string): Promise<Source[]> {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url)
  if (!m) throw new InvalidArgumentError(`Expected an s3://bucket/prefix/ URL, got ${JSON.stringify(url)}`, { argument: 'results' })
  const bucket = openBucket(m[1]!)
  const prefix = m[2]!
  const keys = prefix.endsWith('.parquet') ? [prefix] : (await bucket.list(prefix)).filter((k) => k.endsWith('.parquet'))
  const out: Source[] = []
  for (const [i, key] of keys.entries()) {
    const parquet = join(tmp, `${i}-${basename(key)}`)
    await getToFile(bucket, key, parquet)
    let summary: BenchmarkSummary | undefined
    try {
      summary = JSON.parse((await getObject(bucket, summaryPathOf(key))).toString('utf8')) as BenchmarkSummary
    } catch (err) {
      if (!(err instanceof NoSuchKeyError)) throw err
    }
    out.push({ parquet, summary })
  }
  return out
}

/**
 * Read and merge benchmark results: a `.parquet` file, a folder of them, an `s3://` folder
 * (every client of a run), or a list of these. Memory: one batch of samples at a time plus the
 * statistics (see stats.ts); S3 files are downloaded to a temporary folder, removed after.
 *
 * @example
 * ```ts
 * const { summary, files } = await loadResults(['bench-results/a.parquet', 'bench-results/b.parquet'])
 * ```
 */
export async function loadResults(source: string | readonly string[], options: LoadResultsOptions = {}): Promise<LoadedResults> {
  const list = typeof source === 'string' ? [source] : [...source]
  if (list.length === 0) throw new InvalidArgumentError('Expected at least one results file or folder', { argument: 'results' })
  const tmp = await mkdtemp(join(tmpdir(), 'bucketflow-results-'))
  try {
    const sources: Source[] = []
    for (const s of list) {
      if (s.startsWith('s3://')) {
        if (!options.openBucket) throw new InvalidArgumentError(`Reading ${s} needs openBucket`, { argument: 'openBucket' })
        sources.push(...(await s3Sources(s, options.openBucket, tmp)))
      } else sources.push(...(await localSources(s)))
    }
    if (sources.length === 0) throw new InvalidArgumentError(`No .parquet results found in ${list.join(', ')}`, { argument: 'results' })
    return { summary: await merge(sources, options.exactLimit ?? 1_000_000), files: sources.map((s) => s.parquet) }
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

/** Per level: each client's first start and last end. */
type Spans = Map<number, Map<string, [number, number]>>

async function merge(sources: Source[], exactLimit: number): Promise<BenchmarkSummary> {
  // Pass 1: who ran when, per level.
  const spans: Spans = new Map()
  const runs = new Set<string>()
  const workloads = new Set<string>()
  for (const src of sources) {
    for await (const rows of readSamples(src.parquet)) {
      for (const r of rows) {
        runs.add(r.run)
        workloads.add(r.workload)
        let level = spans.get(r.concurrency)
        if (!level) spans.set(r.concurrency, (level = new Map()))
        const span = level.get(r.client)
        const end = r.start + r.duration
        if (!span) level.set(r.client, [r.start, end])
        else {
          if (r.start < span[0]) span[0] = r.start
          if (end > span[1]) span[1] = end
        }
      }
    }
  }
  const notes: string[] = []
  const intervals = new Map<number, [number, number]>()
  for (const [concurrency, clients] of spans) {
    const all = [...clients.values()]
    const common: [number, number] = [Math.max(...all.map((s) => s[0])), Math.min(...all.map((s) => s[1]))]
    if (common[1] <= common[0]) {
      notes.push(`At concurrency ${concurrency} the clients never ran at the same time: throughput is over the union of their runs, not summed.`)
      intervals.set(concurrency, [Math.min(...all.map((s) => s[0])), Math.max(...all.map((s) => s[1]))])
    } else intervals.set(concurrency, common)
  }
  // Pass 2: statistics, and what finished inside each level's interval.
  const given = Number(sources.find((s) => s.summary)?.summary?.settings?.window)
  const window = Number.isInteger(given) && given >= 10 && given <= 3_600_000 ? given : 1000
  const stats = new Map<number, SampleStats>()
  const counted = new Map<number, IntervalCounts>()
  for (const src of sources) {
    for await (const rows of readSamples(src.parquet)) {
      for (const r of rows) {
        let st = stats.get(r.concurrency)
        if (!st) {
          stats.set(r.concurrency, (st = new SampleStats({ exactLimit, window })))
          counted.set(r.concurrency, new Map())
        }
        st.add(r)
        const [a, b] = intervals.get(r.concurrency)!
        const end = r.start + r.duration
        if (r.outcome === 'ok' && end >= a && end <= b) {
          const c = counted.get(r.concurrency)!
          const n = c.get(r.op as BenchOperation)
          if (n) {
            n.ok++
            n.bytes += r.size
          } else c.set(r.op as BenchOperation, { ok: 1, bytes: r.size })
        }
      }
    }
  }
  const summaries = sources.map((s) => s.summary)
  const known = summaries.filter((s): s is BenchmarkSummary => s !== undefined)
  const levels: LevelSummary[] = [...stats.keys()]
    .sort((a, b) => a - b)
    .map((concurrency) => {
      const st = stats.get(concurrency)!
      const theirs = known.map((s) => s.levels.find((l) => l.concurrency === concurrency))
      let cpu: CpuSummary | undefined
      if (known.length === sources.length && theirs.every((l) => l?.cpu)) {
        const cpuMs = theirs.reduce((a, l) => a + l!.cpu!.cpuMs, 0)
        cpu = {
          cpuMs,
          perOpMs: st.samples > 0 ? cpuMs / st.samples : 0,
          cores: theirs.reduce((a, l) => a + l!.cpu!.cores, 0),
          maxRssMiB: Math.max(...theirs.map((l) => l!.cpu!.maxRssMiB)),
        }
      }
      const stoppedBy = theirs.find((l) => l)?.stoppedBy ?? 'duration'
      return summarizeLevel(
        st,
        { concurrency, stoppedBy, ...(cpu ? { cpu } : {}) },
        { interval: intervals.get(concurrency)!, counted: counted.get(concurrency)! },
      )
    })
  if (known.length < sources.length)
    notes.push(`${sources.length - known.length} of ${sources.length} results files had no summary beside them: client CPU is not reported.`)
  if (runs.size > 1) notes.push(`Samples of ${runs.size} runs were merged: ${[...runs].join(', ')}.`)
  const first = known[0]
  const clients = [...new Set([...spans.values()].flatMap((m) => [...m.keys()]))].sort()
  return {
    version: 1,
    runId: [...runs].join(','),
    clients,
    workload: (first?.workload ?? [...workloads][0] ?? 'put') as BenchWorkload,
    endpoint: first?.endpoint ?? '',
    bucket: first?.bucket ?? '',
    keyPrefix: first?.keyPrefix ?? '',
    settings: first?.settings ?? { duration: 0, sizes: 'unknown', objects: 0, seed: 0, window },
    startedAt: known.map((s) => s.startedAt).sort()[0] ?? new Date(Math.min(...levels.map((l) => l.interval[0]))).toISOString(),
    finishedAt:
      known
        .map((s) => s.finishedAt)
        .sort()
        .at(-1) ?? new Date(Math.max(...levels.map((l) => l.interval[1]))).toISOString(),
    levels,
    knee: kneeOfLevels(levels),
    ...(first?.machine ? { machine: first.machine } : {}),
    notes: [...notes, ...(known.length === 1 && sources.length === 1 ? first!.notes : [])],
  }
}
