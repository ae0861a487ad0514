/**
 * The types of the load generator: options, samples and summaries.
 * @packageDocumentation
 */
import type { ParquetDestination } from '../index.js'
import type { SizeSpec } from './sizes.js'

/** One kind of request the load generator times. */
export type BenchOperation = 'put' | 'get' | 'stat' | 'delete' | 'list' | 'copy' | 'multipart'

/** What a run does: one operation, or `mixed` (get, stat, put and delete by weight). */
export type BenchWorkload = BenchOperation | 'mixed'

/**
 * Every workload, in the order the CLI lists them.
 *
 * @example
 * ```ts
 * import { benchmark, WORKLOADS } from 'bucketflow/bench'
 * for (const workload of WORKLOADS) await benchmark(bucket, { workload, duration: 10_000 })
 * ```
 */
export const WORKLOADS: readonly BenchWorkload[] = ['put', 'get', 'mixed', 'list', 'stat', 'delete', 'multipart', 'copy']

/** Operations of the mixed workload. */
export type MixedOperation = 'get' | 'stat' | 'put' | 'delete'

/**
 * One timed operation. Times are milliseconds; `start` is milliseconds since the Unix epoch with
 * microsecond resolution (so that clients on several machines merge on one time line).
 */
export interface BenchSample {
  op: BenchOperation
  /** Payload bytes moved (0 for stat, delete and list). */
  size: number
  /** Objects the request covered: 1, the keys of a list page, or the keys of a delete batch. */
  objects: number
  /** When the request started (ms since the epoch, microsecond resolution). */
  start: number
  /** Time to the first byte of the response body (get only; the whole duration for an empty object), else null. */
  ttfb: number | null
  /** From start to the last byte of the response. */
  duration: number
  /** `ok`, or the code of the typed error (`NoSuchKey`, `AccessDenied`, `IntegrityError`, ...). */
  outcome: string
  /** The client that made the request (several clients can share one run). */
  client: string
  /** Requests in flight in this part of the run (a sweep has one part per level). */
  concurrency: number
  /** The worker (0 to concurrency - 1) that made it. */
  worker: number
}

/**
 * When to stop before `duration`: the run so far is split into `blocks` equal time blocks; it
 * stops once the throughput (successful operations per second) of each of the `last` blocks
 * lies within `tolerance` of their mean and those blocks cover at least `minStable` ms. This is
 * warp's rule (25 blocks, the last 7 within 7.5%), with the tolerance around the blocks' mean.
 */
export interface AutotermOptions {
  /** @default 25 */
  blocks?: number
  /** @default 7 */
  last?: number
  /** Relative tolerance. @default 0.075 */
  tolerance?: number
  /** Minimum time the stable blocks cover, ms. @default 10000 */
  minStable?: number
}

/** A phase of the run, for status lines. */
export type BenchPhase =
  | { phase: 'prepare'; objects: number }
  | { phase: 'wait'; until: Date }
  | { phase: 'measure'; concurrency: number; duration: number }
  | { phase: 'cleanup'; prefix: string }

/** Live figures, about once a second. */
export interface BenchProgress {
  concurrency: number
  /** Since the measured phase started, ms. */
  elapsed: number
  /** Successful operations so far. */
  ops: number
  /** Failed operations so far. */
  errors: number
  /** Successful operations per second over the last second. */
  opsPerSecond: number
  /** Payload bytes per second over the last second. */
  bytesPerSecond: number
  /** Latency p99 so far over every operation (ms; from the histogram). */
  p99: number
}

/** Options of {@link benchmark} and {@link sweep}. */
export interface BenchmarkOptions {
  workload: BenchWorkload
  /** Longest measured time, ms (preparation and cleanup not counted). @default 30000 */
  duration?: number
  /** Requests in flight; a list (e.g. `[8, 16, 32, 64]`) runs one measured phase per level, a sweep. @default 16 */
  concurrency?: number | readonly number[]
  /**
   * Object sizes (bytes). @default 1 MiB for put, get, copy and mixed; 1 KiB for stat, list and
   * delete; 64 MiB for multipart
   */
  sizes?: SizeSpec
  /**
   * Where the run's objects go: every key it writes (and deletes) starts with
   * `<prefix><runId>/<clientId>/`. A prefix that holds objects of anything else is refused
   * unless `reuse`. @default "bucketflow-bench/"
   */
  prefix?: string
  /** Stop early once throughput is stable (`true` for the defaults). @default false */
  autoterm?: boolean | AutotermOptions
  /** Stop now: in-flight requests are aborted (and not recorded), the run's objects deleted, and the summary of what was measured returned (`stoppedBy: 'signal'`). */
  signal?: AbortSignal
  /** Called with every sample as it completes. */
  onSample?: (sample: BenchSample) => void
  /** Called about once a second during the measured phase. */
  onProgress?: (progress: BenchProgress) => void
  /** Called when the run enters a phase: preparing objects, measuring (once per level), cleaning up. */
  onPhase?: (phase: BenchPhase) => void
  /** Objects uploaded before the measured phase, for get, stat, copy, list, delete and mixed. @default 1000 (delete: 10000) */
  objects?: number
  /** Mixed workload: relative weight of each operation. @default { get: 45, stat: 30, put: 15, delete: 10 } (warp's) */
  weights?: Partial<Record<MixedOperation, number>>
  /** Seed of sizes, objects picked, operations chosen and payload bytes. @default random */
  seed?: number
  /** This client's id in the samples and its keys (letters, digits, '.', '_', '-'). @default `<hostname>-<pid>` */
  clientId?: string
  /** The run's id: clients that share it share one run. @default `<UTC time>-<random>` */
  runId?: string
  /** Run although the prefix holds other objects (they are never touched). @default false */
  reuse?: boolean
  /** Start the measured phase at this time (after preparing), to align several clients. */
  startAt?: Date
  /** Stop after this many operations (in total, not per worker). */
  maxOps?: number
  /** Multipart: part size. @default 8 MiB */
  partSize?: number
  /** Multipart: parts in flight per upload. @default 4 */
  queueSize?: number
  /** List: keys per ListObjectsV2 page. @default 1000 */
  pageSize?: number
  /** Delete: keys per request (1: DeleteObject; more: DeleteObjects). @default 1 */
  batch?: number
  /** Write every sample to Parquet here (a path, a Writable, or `{ bucket, key }`). */
  results?: ParquetDestination
  /** Delete the run's objects at the end. @default true */
  cleanup?: boolean
  /** Throughput window for progress, charts and summaries, ms. @default 1000 */
  window?: number
  /** Exact percentiles up to this many successful samples per operation (see stats.ts). @default 1000000 */
  exactLimit?: number
}

/** Latency figures of one operation, ms. */
export interface LatencySummary {
  p50: number
  p90: number
  p99: number
  p999: number
  mean: number
  min: number
  max: number
  /** 95% confidence intervals of p50 and p99 (order statistics). */
  ci95: { p50: [number, number]; p99: [number, number] }
  /** Percentiles computed from every sample (else from the histogram, see stats.ts). */
  exact: boolean
}

/** What one operation (or `total`) did. */
export interface OpSummary {
  op: BenchOperation | 'total'
  ok: number
  failed: number
  /** Failed operations by error code. */
  errors: Record<string, number>
  bytes: number
  objects: number
  opsPerSecond: number
  mibPerSecond: number
  /** Successful operations per second, per window: mean and standard deviation (full windows only). */
  spread: { windows: number; mean: number; stddev: number }
  latency: LatencySummary | null
  /** Time to first byte (get only). */
  ttfb: LatencySummary | null
  /** Latency distribution for charts: [ms, fraction of operations at or below]. */
  cdf: [number, number][]
  /** Latency histogram for charts: [bin start ms, bin end ms, operations], bins equally wide on a log scale. */
  histogram: [number, number, number][]
}

/** Client CPU spent in the measured phase. */
export interface CpuSummary {
  /** User plus system CPU, ms. */
  cpuMs: number
  /** CPU per operation (successful or not), ms. */
  perOpMs: number
  /** Average cores busy (CPU time / wall time). */
  cores: number
  /** Peak resident memory of the process, MiB. */
  maxRssMiB: number
}

/** One measured phase: the whole run, or one level of a sweep. */
export interface LevelSummary {
  concurrency: number
  /** Why it stopped. */
  stoppedBy: 'duration' | 'autoterm' | 'signal' | 'maxOps' | 'exhausted'
  /** The measured interval: first request started to last request finished (ms since the epoch). */
  interval: [number, number]
  /** Seconds of the interval. */
  seconds: number
  samples: number
  total: OpSummary
  ops: OpSummary[]
  /** Successful operations and bytes per window: [window start (ms since the epoch), op -> { ops, bytes }]. */
  windows: [number, Record<string, { ops: number; bytes: number }>][]
  /** Client CPU (absent for results merged from files without it). */
  cpu?: CpuSummary
  /** The autoterm decision: when, and the operations per block it saw. */
  autoterm?: { decidedAt: number; bounds: [number, number][]; counts: number[] }
}

/** What {@link benchmark} returns and `--json` prints. */
export interface BenchmarkSummary {
  version: 1
  runId: string
  clients: string[]
  workload: BenchWorkload
  endpoint: string
  bucket: string
  /** Where the run's objects went: `<prefix><runId>/<clientId>/`. */
  keyPrefix: string
  settings: {
    /** The bucket's request layer (`fast` or `sdk`); absent in results written before it was recorded. */
    transport?: 'fast' | 'sdk'
    duration: number
    sizes: string
    objects: number
    weights?: Partial<Record<MixedOperation, number>>
    seed: number
    partSize?: number
    queueSize?: number
    pageSize?: number
    batch?: number
    autoterm?: Required<AutotermOptions>
    window: number
  }
  startedAt: string
  finishedAt: string
  /** One per concurrency level (one for a plain run). */
  levels: LevelSummary[]
  /** For a sweep: the concurrency after which throughput stops growing (see sweep.ts). */
  knee?: { concurrency: number; rule: string } | undefined
  /** Objects deleted at the end (and multipart uploads aborted). */
  cleanup?: { deleted: number; failed: number; aborted: number }
  /** Machine and software. */
  machine?: { hostname: string; cpus: number; cpuModel: string; node: string; platform: string }
  notes: string[]
}
