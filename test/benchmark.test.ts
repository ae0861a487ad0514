/**
 * The load generator (bucketflow/bench) against the real radosgw, through a recording proxy:
 * every request it makes is seen, so the samples, the operation mix and the keys it touches are
 * checked against the wire, and its figures against DuckDB reading its own Parquet file.
 */
import { mkdtemp, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Bucket, InvalidArgumentError } from '../src/index.js'
import { benchmark, loadResults, type BenchmarkSummary, type BenchSample, type BenchWorkload } from '../src/benchmark/index.js'
import { FaultProxy, type ProxiedRequest } from './support/proxy.js'
import { bucketName, s3Options } from './support/s3.js'

const MiB = 1024 * 1024

describe('benchmark() (bucketflow/bench) on radosgw', () => {
  let proxy: FaultProxy
  let bucket: Bucket
  let direct: Bucket
  let db: DuckDBConnection
  let dir: string
  beforeAll(async () => {
    const name = bucketName('bench')
    direct = await Bucket.create(name, s3Options())
    proxy = await FaultProxy.start(s3Options().endpoint!)
    bucket = new Bucket(name, s3Options({ endpoint: proxy.url, concurrency: 8 }))
    db = await (await DuckDBInstance.create(':memory:')).connect()
    dir = await mkdtemp(join(tmpdir(), 'bf-bench-'))
  })
  afterAll(async () => {
    await proxy?.close()
    await direct?.delete({ force: true })
  })

  async function sql(query: string): Promise<Record<string, unknown>[]> {
    return (await db.runAndReadAll(query)).getRowObjectsJS() as Record<string, unknown>[]
  }

  /** Requests the proxy saw from `since` on, for keys under `prefix` (listings: with that prefix). */
  function seen(since: number, prefix: string): ProxiedRequest[] {
    return proxy.requests.slice(since).filter((r) => r.key.startsWith(prefix) || (r.key === '' && (r.query.get('prefix') ?? '').startsWith(prefix)))
  }

  async function run(workload: BenchWorkload, extra: Partial<Parameters<typeof benchmark>[1]> = {}) {
    const prefix = `w-${workload}/`
    const file = join(dir, `${workload}.parquet`)
    const since = proxy.requests.length
    const samples: BenchSample[] = []
    // The measured phase as a span of the proxy's requests (it runs in this process): those that
    // arrived after the phase began and before the cleanup began (every measured request reached
    // the proxy before its answer, so before the cleanup began; every preparing one had ended).
    const window = { start: Number.NaN, end: Number.POSITIVE_INFINITY }
    /** Wall-clock (epoch ms) when the measured phase began and when the cleanup began, read here. */
    const clock = { measure: Number.NaN, cleanup: Number.NaN }
    const summary = await benchmark(bucket, {
      workload,
      duration: 1200,
      concurrency: 4,
      sizes: 2048,
      objects: 24,
      seed: 7,
      prefix,
      results: file,
      onSample: (s) => samples.push(s),
      onPhase: (p) => {
        if (p.phase === 'measure' && Number.isNaN(window.start)) {
          window.start = proxy.requests.length
          clock.measure = Date.now()
        }
        if (p.phase === 'cleanup') {
          window.end = proxy.requests.length
          clock.cleanup = Date.now()
        }
      },
      ...extra,
    })
    return { summary, samples, file, prefix, requests: seen(since, prefix), level: summary.levels[0]!, window, clock }
  }

  /** The measured phase's requests: those that started inside the level's interval. */
  function measured(requests: ProxiedRequest[], window: { start: number; end: number }): ProxiedRequest[] {
    return requests.filter((r) => r.id > window.start && r.id <= window.end)
  }

  it('runs each workload with the right requests, records every one as a sample, writes and deletes only under its own keys, and leaves the prefix empty', async () => {
    const expected: Record<string, (r: ProxiedRequest) => boolean> = {
      put: (r) => r.op === 'PutObject' && r.headers['x-amz-copy-source'] === undefined,
      get: (r) => r.op === 'GetObject',
      stat: (r) => r.op === 'HeadObject',
      delete: (r) => r.op === 'DeleteObject',
      copy: (r) => r.op === 'CopyObject' && r.headers['x-amz-copy-source'] !== undefined,
      list: (r) => r.op === 'ListObjects',
    }
    for (const workload of ['put', 'get', 'stat', 'delete', 'copy', 'list'] as const) {
      const { summary, samples, file, prefix, requests, level, window } = await run(workload, workload === 'delete' ? { objects: 400 } : {})
      const base = summary.keyPrefix
      expect(base).toBe(`${prefix}${summary.runId}/${summary.clients[0]}/`)
      expect(samples.length, workload).toBeGreaterThan(0)
      expect(
        samples.every((s) => s.op === workload && s.outcome === 'ok'),
        workload,
      ).toBe(true)
      // One request on the wire per sample (listings: the prefix check and cleanup listed too).
      const onWire = measured(requests, window).filter(expected[workload]!)
      if (workload === 'list') expect(onWire.filter((r) => r.query.get('prefix') === base).length).toBe(samples.length)
      else expect(onWire.length, workload).toBe(samples.length)
      // Writes and deletes only under the run's own keys.
      const writes = proxy.requests.filter((r) =>
        [
          'PutObject',
          'CopyObject',
          'DeleteObject',
          'DeleteObjects',
          'CreateMultipartUpload',
          'UploadPart',
          'CompleteMultipartUpload',
          'AbortMultipartUpload',
        ].includes(r.op),
      )
      for (const r of requests.filter((x) => writes.includes(x))) expect(r.op === 'DeleteObjects' || r.key.startsWith(base), `${r.op} ${r.key}`).toBe(true)
      // Every sample is in the Parquet file.
      const [row] = await sql(`SELECT count(*)::INT AS n, count(DISTINCT worker)::INT AS workers, min(concurrency)::INT AS c FROM '${file}'`)
      expect(row).toEqual({ n: samples.length, workers: 4, c: 4 })
      expect(level.samples).toBe(samples.length)
      // Cleanup deleted everything the run wrote.
      expect(await direct.list(prefix), workload).toEqual([])
      expect(await direct.listUploads({ prefix }).toArray()).toEqual([])
      if (workload === 'delete') {
        expect(level.stoppedBy === 'exhausted' || level.stoppedBy === 'duration').toBe(true)
        expect(summary.cleanup?.deleted).toBe(400 - samples.length)
      }
      if (workload === 'get') expect(samples.every((s) => s.size === 2048 && s.ttfb !== null && s.ttfb <= s.duration)).toBe(true)
      if (workload === 'list') expect(samples.every((s) => s.objects === 24)).toBe(true)
    }
  }, 240_000)

  it('multipart: each sample is one streamed upload of the whole size through the multipart sink', async () => {
    const { samples, requests, window, prefix } = await run('multipart', { sizes: 11 * MiB, partSize: 5 * MiB, concurrency: 2, duration: 500 })
    expect(samples.length).toBeGreaterThan(0)
    const wire = measured(requests, window)
    expect(wire.filter((r) => r.op === 'CompleteMultipartUpload')).toHaveLength(samples.length)
    expect(wire.filter((r) => r.op === 'UploadPart')).toHaveLength(3 * samples.length)
    expect(samples.every((s) => s.size === 11 * MiB && s.outcome === 'ok')).toBe(true)
    expect(await direct.list(prefix)).toEqual([])
  }, 120_000)

  it('mixed: the operations follow the weights, and the summary figures equal DuckDB on the Parquet file (quantile_cont)', async () => {
    const { summary, samples, file, requests, level, window, clock } = await run('mixed', {
      duration: 2500,
      concurrency: 6,
      sizes: [1024, 4096],
      objects: 40,
      weights: { get: 40, stat: 30, put: 20, delete: 10 },
    })
    const wire = measured(requests, window)
    const count = (op: string) => samples.filter((s) => s.op === op).length
    const n = samples.length
    // Each operation's share within 5 standard deviations of its weight (binomial).
    for (const [op, w] of [
      ['get', 0.4],
      ['stat', 0.3],
      ['put', 0.2],
      ['delete', 0.1],
    ] as const) {
      expect(Math.abs(count(op) - n * w), `${op}: ${count(op)} of ${n}`).toBeLessThanOrEqual(5 * Math.sqrt(n * w * (1 - w)) + 1)
    }
    expect(wire.filter((r) => r.op === 'GetObject')).toHaveLength(count('get'))
    expect(wire.filter((r) => r.op === 'HeadObject')).toHaveLength(count('stat'))
    expect(wire.filter((r) => r.op === 'DeleteObject')).toHaveLength(count('delete'))
    expect(wire.filter((r) => r.op === 'PutObject')).toHaveLength(count('put'))
    // No request failed because of another request of the same run.
    expect(level.total.failed).toBe(0)

    const rows = await sql(`
      SELECT op, count(*)::INT AS ok, sum(size)::BIGINT AS bytes,
             quantile_cont(duration_ms, [0.5, 0.9, 0.99, 0.999]) AS q,
             quantile_cont(ttfb_ms, [0.5, 0.99]) AS t,
             min(duration_ms) AS lo, max(duration_ms) AS hi, avg(duration_ms) AS mean
      FROM '${file}' WHERE outcome = 'ok' GROUP BY op ORDER BY op`)
    const [span] = await sql(`SELECT min(epoch_us(start))::DOUBLE / 1000 AS a, max(epoch_us(start)::DOUBLE / 1000 + duration_ms) AS b FROM '${file}'`)
    expect(level.interval).toEqual([span!.a, span!.b])
    const seconds = ((span!.b as number) - (span!.a as number)) / 1000
    // Against a clock the benchmark does not own: the interval lies inside the measured phase as
    // seen from here, so it is no longer than that phase, and the throughput is at least the
    // operations over the phase's wall-clock length (1 ms slack for the clock's resolution).
    expect(span!.a as number).toBeGreaterThanOrEqual(clock.measure - 1)
    expect(span!.b as number).toBeLessThanOrEqual(clock.cleanup + 1)
    const wall = (clock.cleanup - clock.measure + 2) / 1000
    expect(level.total.opsPerSecond).toBeGreaterThanOrEqual(level.total.ok / wall)
    expect(level.total.ok).toBe(samples.filter((s) => s.outcome === 'ok').length)
    expect(rows.map((r) => r.op)).toEqual(['delete', 'get', 'put', 'stat'])
    for (const r of rows) {
      const o = level.ops.find((x) => x.op === r.op)!
      const q = r.q as number[]
      expect(o.ok).toBe(r.ok)
      expect(o.bytes).toBe(Number(r.bytes))
      expect(o.latency!.exact).toBe(true)
      expect(o.latency!.p50).toBeCloseTo(q[0]!, 9)
      expect(o.latency!.p90).toBeCloseTo(q[1]!, 9)
      expect(o.latency!.p99).toBeCloseTo(q[2]!, 9)
      expect(o.latency!.p999).toBeCloseTo(q[3]!, 9)
      expect(o.latency!.min).toBe(r.lo)
      expect(o.latency!.max).toBe(r.hi)
      expect(o.latency!.mean).toBeCloseTo(r.mean as number, 9)
      expect(o.opsPerSecond).toBeCloseTo((r.ok as number) / seconds, 9)
      expect(o.mibPerSecond).toBeCloseTo(Number(r.bytes) / MiB / seconds, 9)
      if (r.op === 'get') {
        expect(o.ttfb!.p50).toBeCloseTo((r.t as number[])[0]!, 9)
        expect(o.ttfb!.p99).toBeCloseTo((r.t as number[])[1]!, 9)
      } else expect(o.ttfb).toBeNull()
    }
    // Read back from the file, the figures are the same.
    const { summary: again } = await loadResults(file)
    expect(again.levels[0]!.ops).toEqual(level.ops)
    expect(again.levels[0]!.cpu).toEqual(undefined)
    expect(summary.levels[0]!.cpu!.perOpMs).toBeGreaterThan(0)
  }, 120_000)

  it('records a failed request as a sample with its typed error code', async () => {
    // Every GET of one object has its connection reset (retries included).
    const victim = (r: ProxiedRequest) => r.op === 'GetObject' && r.key.endsWith('/0')
    proxy.addRule({ match: victim, reset: true })
    try {
      const { samples, file, level } = await run('get', { objects: 3, duration: 1500, concurrency: 3, seed: 11 })
      const failed = samples.filter((s) => s.outcome !== 'ok')
      expect(failed.length).toBeGreaterThan(0)
      expect(samples.filter((s) => s.outcome === 'ok').length).toBeGreaterThan(0)
      const byCode = await sql(`SELECT outcome, count(*)::INT AS n FROM '${file}' WHERE outcome <> 'ok' GROUP BY outcome`)
      expect(Object.fromEntries(byCode.map((r) => [r.outcome, r.n]))).toEqual(level.total.errors)
      expect(level.total.failed).toBe(failed.length)
      expect(Object.keys(level.total.errors).every((code) => /^[A-Za-z]+$/.test(code))).toBe(true)
    } finally {
      proxy.clearRules()
    }
  }, 120_000)

  it('refuses a prefix that holds objects of anything else (before writing), unless reuse, and never touches them', async () => {
    await direct.put('not mine', 'shared/foreign.txt', { literal: true })
    const since = proxy.requests.length
    const refused = benchmark(bucket, { workload: 'put', duration: 500, prefix: 'shared/' })
    await expect(refused).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(refused).rejects.toMatchObject({ argument: 'prefix', key: 'shared/foreign.txt' })
    expect(proxy.requests.slice(since).filter((r) => r.op !== 'ListObjects')).toEqual([])
    const ok = await benchmark(bucket, { workload: 'put', duration: 500, concurrency: 2, sizes: 100, prefix: 'shared/', reuse: true })
    expect(ok.levels[0]!.total.ok).toBeGreaterThan(0)
    expect(await direct.list('shared/')).toEqual(['shared/foreign.txt'])
    expect(await direct.read('shared/foreign.txt')).toBe('not mine')
  }, 60_000)

  it('rejects bad options before any request', async () => {
    const since = proxy.requests.length
    const bad: [Partial<Parameters<typeof benchmark>[1]>, string][] = [
      [{ workload: 'nope' as BenchWorkload }, 'workload'],
      [{ concurrency: 0 }, 'concurrency'],
      [{ concurrency: [8, 0] }, 'concurrency'],
      [{ concurrency: [8, 8] }, 'concurrency'],
      [{ duration: 30 * 24 * 3600_000 }, 'duration'],
      [{ duration: -1 }, 'duration'],
      [{ sizes: [] }, 'sizes'],
      [{ sizes: { min: 10, max: 1 } }, 'sizes'],
      [{ workload: 'get', objects: 0 }, 'objects'],
      [{ workload: 'mixed', weights: { get: 0, stat: 0, put: 0, delete: 0 } }, 'weights'],
      [{ clientId: 'a/b' }, 'clientId'],
      [{ autoterm: { tolerance: 2 } }, 'autoterm.tolerance'],
      [{ startAt: new Date(Number.NaN) }, 'startAt'],
      [{ workload: 'put', sizes: 300 * MiB }, 'sizes'],
    ]
    for (const [options, argument] of bad) {
      await expect(benchmark(bucket, { workload: 'put', ...options }), argument).rejects.toMatchObject({ name: 'InvalidArgumentError', argument })
    }
    expect(proxy.requests.length).toBe(since)
  })

  it('autoterm stops a stable run, and the blocks it decided on match the samples', async () => {
    const settings = { blocks: 10, last: 5, tolerance: 0.5, minStable: 2000 }
    const { summary, file, level } = await run('stat', { duration: 90_000, concurrency: 4, autoterm: settings, objects: 16 })
    expect(level.stoppedBy).toBe('autoterm')
    expect(level.seconds).toBeLessThan(60)
    expect(summary.settings.autoterm).toEqual(settings)
    // The request layer is part of what was measured, and is recorded.
    expect(summary.settings.transport).toBe(bucket.transport.kind)
    const { bounds, counts } = level.autoterm!
    expect(bounds).toHaveLength(5)
    expect(bounds.at(-1)![1] - bounds[0]![0]).toBeGreaterThanOrEqual(2000)
    // The same blocks counted by DuckDB from the file.
    for (const [i, [a, b]] of bounds.entries()) {
      const [row] = await sql(
        `SELECT count(*)::INT AS n FROM '${file}' WHERE outcome = 'ok' AND epoch_us(start)::DOUBLE / 1000 + duration_ms >= ${a} AND epoch_us(start)::DOUBLE / 1000 + duration_ms < ${b}`,
      )
      expect(row!.n, `block ${i}`).toBe(counts[i])
    }
    const rates = counts.map((c, i) => c / (bounds[i]![1] - bounds[i]![0]))
    const mean = rates.reduce((x, y) => x + y, 0) / rates.length
    for (const r of rates) expect(Math.abs(r - mean)).toBeLessThanOrEqual(0.5 * mean)
  }, 150_000)

  it('a sweep runs one measured phase per level and names the knee; aborting stops at once, cleans up and keeps what was measured', async () => {
    const controller = new AbortController()
    let phases = 0
    const summary: BenchmarkSummary = await benchmark(bucket, {
      workload: 'stat',
      concurrency: [1, 4, 8],
      duration: 1500,
      objects: 10,
      prefix: 'sweep/',
      signal: controller.signal,
      onPhase: (p) => {
        if (p.phase === 'measure' && ++phases === 3) setTimeout(() => controller.abort(), 300)
      },
    })
    expect(summary.levels.map((l) => l.concurrency)).toEqual([1, 4, 8])
    expect(summary.levels.map((l) => l.stoppedBy)).toEqual(['duration', 'duration', 'signal'])
    expect(summary.levels[2]!.seconds).toBeLessThan(1.4)
    // The interrupted level is no measurement of its concurrency: the knee comes from the complete ones.
    const complete = summary.levels.slice(0, 2)
    const best = Math.max(...complete.map((l) => l.total.opsPerSecond))
    expect(summary.knee?.concurrency).toBe(complete.find((l) => l.total.opsPerSecond >= 0.9 * best)!.concurrency)
    expect(summary.levels.every((l) => l.total.failed === 0 && l.total.ok > 0)).toBe(true)
    expect(summary.cleanup?.deleted).toBe(10)
    expect(await direct.list('sweep/')).toEqual([])
  }, 120_000)

  it('aborted while preparing: resolves with nothing measured, deletes what it uploaded, writes no results file', async () => {
    const controller = new AbortController()
    const file = join(dir, 'aborted.parquet')
    const summary = await benchmark(bucket, {
      workload: 'get',
      objects: 2000,
      sizes: 100,
      prefix: 'early/',
      results: file,
      signal: controller.signal,
      onPhase: (p) => {
        if (p.phase === 'prepare') setTimeout(() => controller.abort(), 200)
      },
    })
    expect(summary.levels).toEqual([])
    expect(summary.cleanup!.deleted).toBeGreaterThan(0)
    expect(summary.cleanup!.deleted).toBeLessThan(2000)
    expect(await direct.list('early/')).toEqual([])
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' })
    expect(summary.notes.join(' ')).toMatch(/No samples: no results file was written/)
  }, 60_000)
})
