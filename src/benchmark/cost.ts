/**
 * How many requests a run may make, and what they would cost on AWS, before it starts: the CLI
 * prints this and asks for `--yes` against an AWS endpoint.
 *
 * Preparation and cleanup are counted exactly. The measured phase is bounded exactly with
 * `maxOps`; otherwise it is an estimate at an assumed 20 ms per request (concurrency x duration /
 * 20 ms): a fast store or network makes more. Prices are S3 Standard list prices in us-east-1
 * (PUT, COPY, POST, LIST $0.005 per 1,000; GET, HEAD $0.0004 per 1,000; DELETE free); storage
 * for the run's duration and data transfer out of the region are not counted.
 *
 * @example
 * ```ts
 * import { estimateRequests } from 'bucketflow/bench'
 * const e = estimateRequests({ workload: 'get', duration: 60_000, concurrency: 32, objects: 1000 })
 * console.log(e.total, e.usd)
 * ```
 * @packageDocumentation
 */
import { defaultObjects, defaultSizes, DEFAULT_WEIGHTS } from './settings.js'
import { meanSize } from './sizes.js'
import type { BenchmarkOptions, BenchOperation } from './types.js'

/** Assumed time per request for estimates, ms. */
export const ASSUMED_LATENCY = 20

const PRICE_PER_1000 = { write: 0.005, read: 0.0004, delete: 0 }

/** Requests by price class. */
export interface RequestCounts {
  /** PUT, COPY, POST (multipart), LIST. */
  write: number
  /** GET, HEAD. */
  read: number
  delete: number
}

/** What {@link estimateRequests} returns. */
export interface RequestEstimate {
  prepare: RequestCounts
  measured: RequestCounts
  cleanup: RequestCounts
  total: number
  /** US dollars at the list prices above. */
  usd: number
  /** True when `maxOps` bounds the measured phase (else it is an estimate). */
  bounded: boolean
  /** One paragraph for people. */
  text: string
}

function add(a: RequestCounts, b: RequestCounts, times = 1): RequestCounts {
  return { write: a.write + b.write * times, read: a.read + b.read * times, delete: a.delete + b.delete * times }
}

/** Requests of one operation, by price class. */
function perOp(op: BenchOperation, options: BenchmarkOptions, size: number): RequestCounts {
  switch (op) {
    case 'put':
    case 'copy':
    case 'list':
      return { write: 1, read: 0, delete: 0 }
    case 'get':
    case 'stat':
      return { write: 0, read: 1, delete: 0 }
    case 'delete':
      return { write: 0, read: 0, delete: 1 }
    case 'multipart':
      // Create, parts, Complete, and the HEAD that checks the stored size.
      return { write: Math.ceil(size / (options.partSize ?? 8 * 1024 * 1024)) + 2, read: 1, delete: 0 }
  }
}

/**
 * Estimate the requests (and their cost) of a run with these options.
 *
 * @example
 * ```ts
 * const { total, usd, text } = estimateRequests({ workload: 'mixed', concurrency: 32, duration: 300_000 })
 * ```
 */
export function estimateRequests(options: BenchmarkOptions): RequestEstimate {
  const levels = Array.isArray(options.concurrency) ? (options.concurrency as number[]) : [(options.concurrency as number | undefined) ?? 16]
  const duration = options.duration ?? 30_000
  const size = meanSize(options.sizes ?? defaultSizes(options.workload))
  const writesOnly = options.workload === 'put' || options.workload === 'multipart'
  const objects = writesOnly ? 0 : (options.objects ?? defaultObjects(options.workload))
  const preparations = options.workload === 'delete' ? levels.length : 1
  const prepare: RequestCounts = { write: objects * preparations + 2, read: 0, delete: 0 }
  const estimated = levels.reduce((a, c) => a + Math.ceil((c * duration) / ASSUMED_LATENCY), 0)
  const bounded = options.maxOps !== undefined
  let ops = bounded ? options.maxOps! : estimated
  if (options.workload === 'delete') ops = Math.min(ops, Math.ceil((objects * preparations) / (options.batch ?? 1)))
  let measured: RequestCounts = { write: 0, read: 0, delete: 0 }
  if (options.workload === 'mixed') {
    const w = { ...DEFAULT_WEIGHTS, ...options.weights }
    const total = w.get + w.stat + w.put + w.delete || 1
    for (const op of ['get', 'stat', 'put', 'delete'] as const) measured = add(measured, perOp(op, options, size), Math.ceil((ops * w[op]) / total))
  } else measured = add(measured, perOp(options.workload, options, size), ops)
  // Everything the run wrote is listed (1,000 keys a page) and deleted (1,000 keys a request).
  const written = objects * preparations + (options.workload === 'delete' ? 0 : measured.write)
  const cleanup: RequestCounts = { write: Math.ceil(written / 1000) + 2, read: 0, delete: Math.ceil(written / 1000) }
  const sum = add(add(prepare, measured), cleanup)
  const total = sum.write + sum.read + sum.delete
  const usd = (sum.write * PRICE_PER_1000.write + sum.read * PRICE_PER_1000.read) / 1000
  const text = [
    `Expected requests: ${total.toLocaleString('en-US')} (preparation ${(prepare.write + prepare.read).toLocaleString('en-US')}, measured ${bounded ? 'at most' : 'about'} ${(measured.write + measured.read + measured.delete).toLocaleString('en-US')}, cleanup ${(cleanup.write + cleanup.delete).toLocaleString('en-US')}),`,
    `about $${usd.toFixed(usd < 1 ? 4 : 2)} at S3 Standard us-east-1 request prices.`,
    bounded ? '' : `The measured phase is estimated at ${ASSUMED_LATENCY} ms per request; a faster store makes more requests (bound them with --max-ops).`,
  ]
    .filter(Boolean)
    .join(' ')
  return { prepare, measured, cleanup, total, usd, bounded, text }
}
