/**
 * The load generator's options filled in with their defaults and checked, before any request.
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { InvalidArgumentError, MAX_PART_SIZE, MIN_PART_SIZE } from '../index.js'
import { autotermSettings } from './autoterm.js'
import { ID } from './objects.js'
import { describeSizes, maxSize, validateSizes, type SizeSpec } from './sizes.js'
import { WORKLOADS, type BenchmarkOptions, type MixedOperation } from './types.js'

const KiB = 1024
const MiB = 1024 * 1024

/** Sizes per workload when none are given. */
export function defaultSizes(workload: BenchmarkOptions['workload']): SizeSpec {
  return workload === 'multipart' ? 64 * MiB : workload === 'stat' || workload === 'list' || workload === 'delete' ? KiB : MiB
}

/** Objects prepared per workload when not given (0: the workload reads nothing). */
export function defaultObjects(workload: BenchmarkOptions['workload']): number {
  return workload === 'put' || workload === 'multipart' ? 0 : workload === 'delete' ? 10_000 : 1000
}

/**
 * warp's mixed distribution: the weights of the mixed workload when none are given.
 *
 * @example
 * ```ts
 * import { benchmark, DEFAULT_WEIGHTS } from 'bucketflow/bench'
 * await benchmark(bucket, { workload: 'mixed', weights: { ...DEFAULT_WEIGHTS, delete: 0 } })
 * ```
 */
export const DEFAULT_WEIGHTS: Record<MixedOperation, number> = { get: 45, stat: 30, put: 15, delete: 10 }

/** The longest a Node timer waits, ms. */
export const MAX_TIMER = 2 ** 31 - 1

/** Largest size a single-request workload sends (larger objects: use multipart). */
const MAX_SINGLE = 256 * MiB

function bad(argument: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError(message, { argument })
}

function validateInteger(value: unknown, argument: string, min: number, max?: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
    throw bad(
      argument,
      `Expected ${argument} to be an integer ${max === undefined ? `>= ${min}` : `between ${min} and ${max}`}, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`,
    )
  }
}

/** A run id: UTC time and 4 random hex digits, e.g. `20261201-153000-a1b2`. */
export function newRunId(): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  return `${t}-${randomBytes(2).toString('hex')}`
}

/** The default client id: host name and process id, made key-safe. */
export function defaultClientId(): string {
  return `${
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 48) || 'client'
  }-${process.pid}`
}

/** Every option of a run, filled in. */
export interface Settings {
  workload: BenchmarkOptions['workload']
  levels: number[]
  duration: number
  sizes: SizeSpec
  objects: number
  weights: Record<MixedOperation, number> | undefined
  seed: number
  clientId: string
  runId: string
  prefix: string
  partSize: number
  queueSize: number
  pageSize: number
  batch: number
  maxOps: number | undefined
  window: number
  exactLimit: number
}

/** Fill in and check the options. Throws InvalidArgumentError naming the bad one. */
export function settingsOf(o: BenchmarkOptions): Settings {
  if (o === null || typeof o !== 'object') throw bad('options', `Expected options to be an object, got ${String(o)}`)
  if (!WORKLOADS.includes(o.workload)) throw bad('workload', `Expected workload to be one of ${WORKLOADS.join(', ')}, got ${JSON.stringify(o.workload)}`)
  const levels = Array.isArray(o.concurrency) ? [...(o.concurrency as number[])] : [(o.concurrency as number | undefined) ?? 16]
  if (levels.length === 0) throw bad('concurrency', 'Expected concurrency to be an integer >= 1 or a non-empty list of them, got []')
  for (const c of levels) validateInteger(c, 'concurrency', 1)
  if (new Set(levels).size !== levels.length) throw bad('concurrency', `Expected distinct concurrency levels, got ${levels.join(',')}`)
  const duration = o.duration ?? 30_000
  if (typeof duration !== 'number' || !Number.isFinite(duration) || duration <= 0 || duration > MAX_TIMER) {
    throw bad('duration', `Expected duration to be milliseconds > 0 and at most ${MAX_TIMER} (24.8 days), got ${String(duration)}`)
  }
  const sizes = o.sizes ?? defaultSizes(o.workload)
  validateSizes(sizes)
  const largest = maxSize(sizes)
  if (o.workload !== 'multipart' && largest > MAX_SINGLE)
    throw bad(
      'sizes',
      `Expected sizes up to 256 MiB for ${o.workload} (one request per object; use the multipart workload for larger objects), got ${describeSizes(sizes)}`,
    )
  // put and multipart write new objects and read none.
  const writesOnly = o.workload === 'put' || o.workload === 'multipart'
  if (o.objects !== undefined) validateInteger(o.objects, 'objects', 0)
  const objects = writesOnly ? 0 : (o.objects ?? defaultObjects(o.workload))
  if (objects === 0 && !writesOnly) throw bad('objects', `Expected objects to be an integer >= 1 for the ${o.workload} workload, got 0`)
  let weights: Record<MixedOperation, number> | undefined
  if (o.workload === 'mixed') {
    weights = { ...DEFAULT_WEIGHTS, ...o.weights }
    const entries = Object.entries(weights)
    if (entries.some(([k, v]) => !(k in DEFAULT_WEIGHTS) || typeof v !== 'number' || !Number.isFinite(v) || v < 0) || entries.every(([, v]) => v === 0)) {
      throw bad('weights', `Expected weights to be numbers >= 0 for get, stat, put and delete (not all 0), got ${JSON.stringify(o.weights)}`)
    }
  }
  const seed = o.seed ?? randomBytes(4).readUInt32BE(0)
  validateInteger(seed, 'seed', 0, 2 ** 32 - 1)
  const clientId = o.clientId ?? defaultClientId()
  const runId = o.runId ?? newRunId()
  if (!ID.test(clientId)) throw bad('clientId', `Expected clientId to be 1-64 letters, digits, '.', '_' or '-', got ${JSON.stringify(clientId)}`)
  if (!ID.test(runId)) throw bad('runId', `Expected runId to be 1-64 letters, digits, '.', '_' or '-', got ${JSON.stringify(runId)}`)
  const prefix = o.prefix ?? 'bucketflow-bench/'
  if (typeof prefix !== 'string' || Buffer.byteLength(prefix) > 900)
    throw bad('prefix', `Expected prefix to be a string of up to 900 bytes, got ${JSON.stringify(prefix)}`)
  const partSize = o.partSize ?? 8 * MiB
  validateInteger(partSize, 'partSize', MIN_PART_SIZE, MAX_PART_SIZE)
  const queueSize = o.queueSize ?? 4
  validateInteger(queueSize, 'queueSize', 1)
  const pageSize = o.pageSize ?? 1000
  validateInteger(pageSize, 'pageSize', 1, 1000)
  const batch = o.batch ?? 1
  validateInteger(batch, 'batch', 1, 1000)
  if (o.maxOps !== undefined) validateInteger(o.maxOps, 'maxOps', 1)
  const window = o.window ?? 1000
  validateInteger(window, 'window', 10)
  const exactLimit = o.exactLimit ?? 1_000_000
  validateInteger(exactLimit, 'exactLimit', 0)
  if (o.startAt !== undefined && !(o.startAt instanceof Date && Number.isFinite(o.startAt.getTime())))
    throw bad('startAt', `Expected startAt to be a valid Date, got ${String(o.startAt)}`)
  autotermSettings(o.autoterm)
  return {
    workload: o.workload,
    levels,
    duration,
    sizes,
    objects,
    weights,
    seed,
    clientId,
    runId,
    prefix,
    partSize,
    queueSize,
    pageSize,
    batch,
    maxOps: o.maxOps,
    window,
    exactLimit,
  }
}
