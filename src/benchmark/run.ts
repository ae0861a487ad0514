/**
 * `benchmark()`: a warp-style load generator on the library's own stages.
 *
 * A run: check that the prefix holds nothing else, upload the objects the workload reads,
 * wait for `startAt`, then for each concurrency level run `concurrency` workers, each issuing
 * one request after another until the duration passes, throughput is stable (autoterm),
 * `maxOps` is reached, the objects run out (delete) or the signal aborts; then delete what the
 * run wrote. Every request is a sample (see types.ts), given to `onSample`, written to
 * Parquet (`results`) and summed into the summary.
 *
 * Memory: the payload (the largest single-request size plus 4 KiB; multipart: up to 64 MiB, and
 * `concurrency x partSize x (queueSize + 1)` in the sinks), the object pool (~60 bytes an
 * object), the Parquet writer (under 10 MB, samples.ts), the statistics (16 bytes a successful
 * sample up to `exactLimit`, then fixed histograms; see stats.ts), throughput windows (a few
 * dozen bytes a second) and autoterm slots (4 bytes per 10 ms). No sample list is kept.
 *
 * @example
 * ```ts
 * import { Bucket } from 'bucketflow'
 * import { benchmark } from 'bucketflow/bench'
 * const bucket = new Bucket('bench-target', { concurrency: 32 })
 * const summary = await benchmark(bucket, { workload: 'get', duration: 60_000, concurrency: 32, sizes: 64 * 1024, results: 'get.parquet' })
 * const get = summary.levels[0]!.ops.find((o) => o.op === 'get')!
 * console.log(get.opsPerSecond, get.latency?.p99, summary.levels[0]!.cpu?.perOpMs)
 * ```
 * @packageDocumentation
 */
import { setMaxListeners } from 'node:events'
import { cpus, hostname } from 'node:os'
import { BucketflowError, type Bucket } from '../index.js'
import { Autoterm, autotermSettings } from './autoterm.js'
import { checkPrefix, cleanupObjects, ObjectPool, prepareObjects } from './objects.js'
import { closeListings, NoObject, runOperation, type OpContext } from './operations.js'
import { SampleWriter } from './samples.js'
import { MAX_TIMER, settingsOf, type Settings } from './settings.js'
import { describeSizes, maxSize, Random } from './sizes.js'
import { LogHistogram, SampleStats } from './stats.js'
import { kneeOfLevels, summarizeLevel } from './summary.js'
import type { BenchmarkOptions, BenchmarkSummary, BenchOperation, LevelSummary, MixedOperation } from './types.js'

const KiB = 1024
const MiB = 1024 * 1024

async function endpointOf(bucket: Bucket): Promise<string> {
  const provider = bucket.client.config.endpoint
  if (!provider) return `https://s3.${await bucket.client.config.region()}.amazonaws.com`
  const e = await provider()
  return `${e.protocol}//${e.hostname}${e.port ? `:${e.port}` : ''}${e.path === '/' ? '' : e.path}`
}

function codeOf(err: unknown): string {
  if (err instanceof BucketflowError) return err.code
  const e = err as { code?: unknown; name?: unknown }
  return typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'Error'
}

/** Abortable wait (in steps a Node timer can take). */
async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  for (let left = ms; left > 0 && !signal.aborted; left -= MAX_TIMER) await sleepStep(Math.min(left, MAX_TIMER), signal)
}

function sleepStep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

/**
 * Run a benchmark against `bucket` and resolve to its summary (see the module docs). Options are
 * validated before any request (a bad one rejects with InvalidArgumentError); a prefix holding
 * other objects rejects (InvalidArgumentError, argument `prefix`) unless `reuse`. Aborting
 * `signal` stops the run, cleans up and resolves with what was measured (`stoppedBy: 'signal'`).
 * A failure to write `results` rejects after cleanup.
 *
 * @example
 * ```ts
 * const summary = await benchmark(bucket, { workload: 'put', duration: 30_000, concurrency: 16, sizes: [4096, 1024 ** 2], results: 'put.parquet' })
 * for (const op of summary.levels[0]!.ops) console.log(op.op, op.opsPerSecond, op.latency?.p99)
 * ```
 */
export async function benchmark(bucket: Bucket, options: BenchmarkOptions): Promise<BenchmarkSummary> {
  const s = settingsOf(options)
  const autoterm = autotermSettings(options.autoterm)
  const startedAt = new Date()
  const outer = options.signal
  const base = `${s.prefix}${s.runId}/${s.clientId}/`
  const notes: string[] = []
  const random = new Random(s.seed)
  await checkPrefix(bucket, s.prefix, s.runId, base, options.reuse ?? false, outer)

  const single = s.workload === 'multipart' ? Math.min(maxSize(s.sizes), 64 * MiB) : maxSize(s.sizes)
  const payload = random.fill(Buffer.allocUnsafeSlow(single + 4 * KiB))
  const pool = new ObjectPool(base)
  const ctx: OpContext = {
    bucket,
    pool,
    random,
    sizes: s.sizes,
    payload,
    partSize: s.partSize,
    queueSize: s.queueSize,
    pageSize: s.pageSize,
    batch: s.batch,
    poolLimit: s.workload === 'mixed' ? Math.max(2 * s.objects, 64) : 0,
  }
  const maxLevel = Math.max(...s.levels)
  if (maxLevel > Math.max(64, 2 * bucket.concurrency))
    notes.push(
      `The bucket's client keeps max(64, 2 x bucket.concurrency) = ${Math.max(64, 2 * bucket.concurrency)} sockets per host: create the Bucket with concurrency >= ${Math.ceil(maxLevel / 2)} so that ${maxLevel} requests can be in flight.`,
    )
  const writer = options.results === undefined ? undefined : new SampleWriter(options.results, s.runId, s.workload)
  // Instantiate parquet-wasm now, so that its start-up is not counted as client CPU.
  if (writer) await import('parquet-wasm')
  const levels: LevelSummary[] = []
  let cleanup: BenchmarkSummary['cleanup']
  let failure: unknown
  try {
    for (const [i, concurrency] of s.levels.entries()) {
      if (outer?.aborted) break
      const refill = i === 0 || s.workload === 'delete'
      if (refill && s.objects > 0) options.onPhase?.({ phase: 'prepare', objects: s.objects - pool.size })
      if (refill && s.objects > 0) await prepareObjects(bucket, pool, s.objects - pool.size, s.sizes, random, payload, Math.min(concurrency, 64), outer)
      if (i === 0 && options.startAt) {
        const wait = options.startAt.getTime() - Date.now()
        if (wait > 0) options.onPhase?.({ phase: 'wait', until: options.startAt })
        if (wait < 0)
          notes.push(`The measured phase started ${(-wait / 1000).toFixed(1)} s after startAt (${options.startAt.toISOString()}): preparing took longer.`)
        await sleep(wait, outer ?? new AbortController().signal)
      }
      if (outer?.aborted) break
      options.onPhase?.({ phase: 'measure', concurrency, duration: s.duration })
      levels.push(await runLevel(ctx, s, concurrency, autoterm, options, writer))
      if (writer?.failure !== undefined) throw writer.failure
    }
  } catch (err) {
    // After an abort, the errors are its echoes: the run resolves with what it measured.
    if (!outer?.aborted) failure = err
  } finally {
    await closeListings(ctx)
    if (options.cleanup ?? true) {
      options.onPhase?.({ phase: 'cleanup', prefix: base })
      try {
        cleanup = await cleanupObjects(bucket, base)
        if (cleanup.failed > 0) notes.push(`Cleanup could not delete ${cleanup.failed} objects under s3://${bucket.name}/${base}.`)
      } catch (err) {
        notes.push(`Cleanup of s3://${bucket.name}/${base} failed: ${(err as Error).message}`)
      }
    }
  }
  if (writer && failure !== undefined) await writer.abort(failure)
  else if (writer) {
    try {
      if ((await writer.end()) === undefined) notes.push('No samples: no results file was written.')
    } catch (err) {
      failure = err
    }
  }
  if (failure !== undefined) throw failure
  if (levels.some((l) => l.total.ok > 0 && !(l.total.latency?.exact ?? l.ops.every((o) => o.latency?.exact ?? true)))) {
    notes.push(
      `Past ${s.exactLimit} successful samples per operation, percentiles come from a histogram with buckets 0.8% wide; the Parquet file has every sample.`,
    )
  }
  return {
    version: 1,
    runId: s.runId,
    clients: [s.clientId],
    workload: s.workload,
    endpoint: await endpointOf(bucket),
    bucket: bucket.name,
    keyPrefix: base,
    settings: {
      transport: bucket.transport.kind,
      duration: s.duration,
      sizes: describeSizes(s.sizes),
      objects: s.objects,
      ...(s.weights ? { weights: s.weights } : {}),
      seed: s.seed,
      ...(s.workload === 'multipart' ? { partSize: s.partSize, queueSize: s.queueSize } : {}),
      ...(s.workload === 'list' ? { pageSize: s.pageSize } : {}),
      ...(s.workload === 'delete' ? { batch: s.batch } : {}),
      ...(autoterm ? { autoterm } : {}),
      window: s.window,
    },
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    levels,
    knee: kneeOfLevels(levels),
    ...(cleanup ? { cleanup } : {}),
    machine: {
      hostname: hostname(),
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? '',
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    notes,
  }
}

/** Pick an operation of the mixed workload by weight. */
function mixedPicker(weights: Record<MixedOperation, number>, random: Random): () => BenchOperation {
  const entries = Object.entries(weights).filter(([, w]) => w > 0) as [MixedOperation, number][]
  const total = entries.reduce((a, [, w]) => a + w, 0)
  return () => {
    let r = random.next() * total
    for (const [op, w] of entries) if ((r -= w) < 0) return op
    return entries[entries.length - 1]![0]
  }
}

/** One measured phase at one concurrency. */
async function runLevel(
  ctx: OpContext,
  s: Settings,
  concurrency: number,
  autotermOptions: ReturnType<typeof autotermSettings>,
  options: BenchmarkOptions,
  writer: SampleWriter | undefined,
): Promise<LevelSummary> {
  const stats = new SampleStats({ exactLimit: s.exactLimit, window: s.window })
  const controller = new AbortController()
  // Every request in flight links its own controller to this signal.
  setMaxListeners(0, controller.signal)
  const outer = options.signal
  const onAbort = () => controller.abort(outer?.reason)
  outer?.addEventListener('abort', onAbort, { once: true })
  const pick: () => BenchOperation = s.workload === 'mixed' ? mixedPicker(s.weights!, ctx.random) : () => s.workload as BenchOperation
  const from = performance.timeOrigin + performance.now()
  const autoterm = autotermOptions ? new Autoterm(autotermOptions, from) : undefined
  let stoppedBy: LevelSummary['stoppedBy'] | undefined
  let decided: LevelSummary['autoterm']
  const stop = (why: LevelSummary['stoppedBy']) => (stoppedBy ??= why)
  const progress = { ok: 0, failed: 0, bytes: 0, lastOk: 0, lastBytes: 0, p99: new LogHistogram() }
  let issued = 0
  const deadline = setTimeout(() => stop('duration'), s.duration)
  const ticker = autoterm
    ? setInterval(() => {
        const now = performance.timeOrigin + performance.now()
        const b = stoppedBy === undefined ? autoterm.check(now) : undefined
        if (b) {
          decided = { decidedAt: now, bounds: b.bounds, counts: b.counts }
          stop('autoterm')
        }
      }, 100)
    : undefined
  const reporter = options.onProgress
    ? setInterval(() => {
        options.onProgress!({
          concurrency,
          elapsed: performance.timeOrigin + performance.now() - from,
          ops: progress.ok,
          errors: progress.failed,
          opsPerSecond: progress.ok - progress.lastOk,
          bytesPerSecond: progress.bytes - progress.lastBytes,
          p99: progress.p99.quantile(0.99),
        })
        progress.lastOk = progress.ok
        progress.lastBytes = progress.bytes
      }, 1000)
    : undefined
  const cpuBefore = process.cpuUsage()

  async function worker(w: number): Promise<void> {
    while (stoppedBy === undefined) {
      if (controller.signal.aborted) return void stop('signal')
      if (s.maxOps !== undefined && issued >= s.maxOps) return void stop('maxOps')
      if (writer?.full) await writer.ready()
      const op = pick()
      issued++
      const t0 = performance.now()
      let outcome = 'ok'
      let result = { size: 0, objects: 0, ttfb: null as number | null }
      try {
        result = await runOperation(ctx, op, w, controller.signal, t0)
      } catch (err) {
        if (controller.signal.aborted) return void stop('signal')
        if (err instanceof NoObject) {
          issued--
          // delete: the objects ran out, this worker is done. Otherwise every object was busy
          // (mixed, a small pool): let the others progress and pick again.
          if (s.workload === 'delete') return
          // mixed without puts: once its objects are deleted, nothing is left to do.
          if (ctx.pool.size === 0 && s.weights?.put === 0) return void stop('exhausted')
          await new Promise((resolve) => setImmediate(resolve))
          continue
        }
        outcome = codeOf(err)
      }
      const t1 = performance.now()
      const sample = {
        op,
        size: result.size,
        objects: result.objects,
        start: Math.round((performance.timeOrigin + t0) * 1000) / 1000,
        ttfb: result.ttfb,
        duration: t1 - t0,
        outcome,
        client: s.clientId,
        concurrency,
        worker: w,
      }
      stats.add(sample)
      writer?.push(sample)
      if (outcome === 'ok') {
        progress.ok++
        progress.bytes += sample.size
        progress.p99.add(sample.duration)
        autoterm?.add(sample.start + sample.duration)
      } else progress.failed++
      options.onSample?.(sample)
      if (writer?.failure !== undefined) {
        stop('signal')
        controller.abort(writer.failure)
      }
    }
  }

  try {
    await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)))
  } finally {
    clearTimeout(deadline)
    if (ticker) clearInterval(ticker)
    if (reporter) clearInterval(reporter)
    outer?.removeEventListener('abort', onAbort)
    await closeListings(ctx)
  }
  const cpu = process.cpuUsage(cpuBefore)
  const cpuMs = (cpu.user + cpu.system) / 1000
  const done = stats.samples
  const wall = stats.samples > 0 ? stats.last - stats.first : 0
  return summarizeLevel(stats, {
    concurrency,
    stoppedBy: stoppedBy ?? 'exhausted',
    cpu: { cpuMs, perOpMs: done > 0 ? cpuMs / done : 0, cores: wall > 0 ? cpuMs / wall : 0, maxRssMiB: process.resourceUsage().maxRSS / 1024 },
    ...(decided ? { autoterm: decided } : {}),
  })
}
