/**
 * The load generator's pure parts, without a server: sizes, the seeded generator, percentiles
 * (against DuckDB's definitions), the histogram's error bound, the autoterm rule, the knee, the
 * request estimate, and the CLI's value parsers.
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { describe, expect, it } from 'vitest'
import { Autoterm, AUTOTERM_DEFAULTS, autotermSettings, isStable } from '../../src/benchmark/autoterm.js'
import { parseDuration, parseLevels, parseWeights } from '../../src/benchmark/command.js'
import { estimateRequests, kneeOf, parseSize, parseSizes, quantile } from '../../src/benchmark/index.js'
import { quantileInterval } from '../../src/benchmark/stats.js'
import { meanSize, Random } from '../../src/benchmark/sizes.js'
import { SampleWriter } from '../../src/benchmark/samples.js'
import { LogHistogram } from '../../src/benchmark/stats.js'
import type { BenchSample } from '../../src/benchmark/types.js'

describe('sizes', () => {
  it('parses sizes, lists and ranges with binary and decimal units', () => {
    expect(parseSize('4096')).toBe(4096)
    expect(parseSize('4KiB')).toBe(4096)
    expect(parseSize('4k')).toBe(4096)
    expect(parseSize('1.5 MiB')).toBe(1572864)
    expect(parseSize('10MB')).toBe(10_000_000)
    expect(parseSize('2GiB')).toBe(2 * 1024 ** 3)
    expect(parseSizes('4KiB,1MiB')).toEqual([4096, 1048576])
    expect(parseSizes('1KiB-10MiB')).toEqual({ min: 1024, max: 10485760 })
    for (const bad of ['', 'ten', '4 parsecs', '-1', '1KiB-', '10MiB-1KiB', '0-5']) expect(() => parseSizes(bad), bad).toThrow(/Expected size/)
  })

  it('draws the same sizes from the same seed, within bounds, spread log-uniformly', () => {
    const a = new Random(42)
    const b = new Random(42)
    const spec = { min: 1024, max: 1024 * 1024 }
    const xs = Array.from({ length: 20_000 }, () => a.size(spec))
    expect(xs).toEqual(Array.from({ length: 20_000 }, () => b.size(spec)))
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(1024)
    expect(Math.max(...xs)).toBeLessThanOrEqual(1024 * 1024)
    // Log-uniform over 10 powers of two: each octave holds about a tenth.
    const below32k = xs.filter((x) => x < 32 * 1024).length / xs.length
    expect(below32k).toBeGreaterThan(0.45)
    expect(below32k).toBeLessThan(0.55)
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length
    expect(Math.abs(mean - meanSize(spec)) / meanSize(spec)).toBeLessThan(0.05)
    const listed = Array.from({ length: 3000 }, () => a.size([1, 2, 3]))
    for (const v of [1, 2, 3]) expect(listed.filter((x) => x === v).length).toBeGreaterThan(850)
  })

  it('fills payload bytes that do not repeat and differ by seed', () => {
    const x = new Random(1).fill(Buffer.alloc(1 << 16))
    const y = new Random(2).fill(Buffer.alloc(1 << 16))
    expect(x.equals(y)).toBe(false)
    expect(x.subarray(0, 4096).equals(x.subarray(4096, 8192))).toBe(false)
    expect(new Set(x).size).toBe(256)
  })
})

describe('percentiles', () => {
  it('equal DuckDB quantile_cont, and its confidence interval brackets the value', async () => {
    const db = await (await DuckDBInstance.create(':memory:')).connect()
    const random = new Random(9)
    for (const n of [1, 2, 3, 10, 101, 1000]) {
      const values = Array.from({ length: n }, () => random.next() * 100)
      const sorted = Float64Array.from(values).sort()
      await db.run('CREATE OR REPLACE TABLE t (x DOUBLE)')
      const appender = await db.createAppender('t')
      for (const v of values) {
        appender.appendDouble(v)
        appender.endRow()
      }
      appender.closeSync()
      const [row] = (await db.runAndReadAll('SELECT quantile_cont(x, [0.5, 0.9, 0.99, 0.999]) AS q FROM t')).getRowObjectsJS() as { q: number[] }[]
      const ps = [0.5, 0.9, 0.99, 0.999]
      for (const [i, p] of ps.entries()) {
        expect(quantile(sorted, p), `n=${n} p=${p}`).toBeCloseTo(row!.q[i]!, 12)
        const [lo, hi] = quantileInterval(sorted, p)
        expect(lo).toBeLessThanOrEqual(quantile(sorted, p))
        expect(hi).toBeGreaterThanOrEqual(quantile(sorted, p))
      }
    }
    expect(Number.isNaN(quantile(new Float64Array(0), 0.5))).toBe(true)
  })

  it('the histogram stays within 0.4% of the exact percentile', () => {
    const random = new Random(3)
    const h = new LogHistogram()
    const values = Array.from({ length: 50_000 }, () => Math.exp(random.next() * 8) / 10) // 0.1 ms to 300 ms
    for (const v of values) h.add(v)
    const sorted = Float64Array.from(values).sort()
    for (const p of [0.01, 0.5, 0.9, 0.99, 0.999]) {
      const exact = quantile(sorted, p)
      expect(Math.abs(h.quantile(p) - exact) / exact, `p=${p}`).toBeLessThan(0.004)
    }
  })
})

describe('autoterm', () => {
  const settings = { blocks: 10, last: 4, tolerance: 0.1, minStable: 400 }
  function feed(rate: (t: number) => number, until: number): Autoterm {
    // One completion every 1 / rate(t) ms, rate in operations per ms.
    const a = new Autoterm(settings, 0)
    for (let t = 0; t < until; t += 1 / rate(t)) a.add(t)
    return a
  }

  it('stops a flat throughput once the stable blocks cover minStable', () => {
    const flat = feed(() => 1, 1000)
    expect(flat.check(800)).toBeUndefined() // 4 of 10 blocks of 80 ms: 320 ms < 400 ms
    const b = flat.check(1000)!
    expect(b.counts).toHaveLength(4)
    expect(b.bounds[0]![0]).toBe(600)
    expect(b.bounds.at(-1)![1]).toBe(1000)
    expect(b.counts.every((c) => c === 100)).toBe(true)
  })

  it('keeps going while throughput ramps up or drifts by more than the tolerance', () => {
    expect(feed((t) => 0.2 + t / 500, 3000).check(3000)).toBeUndefined()
    expect(feed((t) => (t < 2600 ? 1 : 0.5), 3000).check(3000)).toBeUndefined()
    expect(feed(() => 1, 3000).check(3000)).toBeDefined()
    // Nothing completed: not stable.
    expect(new Autoterm(settings, 0).check(5000)).toBeUndefined()
    expect(
      isStable(
        {
          bounds: [
            [0, 100],
            [100, 200],
          ],
          counts: [10, 11],
        },
        { ...AUTOTERM_DEFAULTS, minStable: 200, tolerance: 0.05 },
      ),
    ).toBe(true)
    expect(
      isStable(
        {
          bounds: [
            [0, 100],
            [100, 200],
          ],
          counts: [10, 12],
        },
        { ...AUTOTERM_DEFAULTS, minStable: 200, tolerance: 0.05 },
      ),
    ).toBe(false)
  })

  it('validates its settings', () => {
    expect(autotermSettings(true)).toEqual({ blocks: 25, last: 7, tolerance: 0.075, minStable: 10_000 })
    expect(autotermSettings(false)).toBeUndefined()
    expect(() => autotermSettings({ last: 30 })).toThrow(/autoterm.last/)
    expect(() => autotermSettings({ tolerance: 0 })).toThrow(/autoterm.tolerance/)
  })
})

describe('SampleWriter', () => {
  const sample = (i: number): BenchSample => ({
    op: i % 3 === 0 ? 'get' : 'put',
    size: i,
    objects: 1,
    start: 1_800_000_000_000 + i / 1000,
    ttfb: i % 3 === 0 ? i / 7 : null,
    duration: i / 3,
    outcome: i % 100 === 0 ? 'NoSuchKey' : 'ok',
    client: 'c-1',
    concurrency: 4,
    worker: i % 4,
  })

  it('streams batches to Parquet with backpressure, every value intact', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bf-writer-'))
    const file = join(dir, 's.parquet')
    const writer = new SampleWriter(file, 'run-1', 'mixed', { batchRows: 1000, maxQueued: 2 })
    let waited = 0
    for (let i = 0; i < 25_000; i++) {
      if (writer.full) {
        waited++
        await writer.ready()
      }
      writer.push(sample(i))
    }
    const result = await writer.end()
    expect(result?.rows).toBe(25_000)
    expect(waited).toBeGreaterThan(0)
    const db = await (await DuckDBInstance.create(':memory:')).connect()
    const rows = (
      await db.runAndReadAll(`SELECT count(*)::INT AS n, count(DISTINCT run)::INT AS runs, sum(size)::BIGINT AS bytes, count(ttfb_ms)::INT AS ttfbs,
      sum(CASE WHEN outcome = 'NoSuchKey' THEN 1 ELSE 0 END)::INT AS failed, max(epoch_us(start))::BIGINT AS last, max(duration_ms) AS longest FROM '${file}'`)
    ).getRowObjectsJS()
    expect(rows).toEqual([
      { n: 25_000, runs: 1, bytes: BigInt((24_999 * 25_000) / 2), ttfbs: 8334, failed: 250, last: 1_800_000_000_000_000n + 24_999n, longest: 24_999 / 3 },
    ])
  })

  it('leaves no file when aborted, and writes none without samples', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bf-writer-'))
    const aborted = new SampleWriter(join(dir, 'a.parquet'), 'r', 'put', { batchRows: 10 })
    for (let i = 0; i < 95; i++) aborted.push(sample(i))
    await aborted.abort(new Error('stop'))
    expect(await new SampleWriter(join(dir, 'b.parquet'), 'r', 'put').end()).toBeUndefined()
    expect(await readdir(dir)).toEqual([])
  })
})

describe('knee, cost and CLI values', () => {
  it('names the lowest concurrency within 90% of the best throughput', () => {
    expect(
      kneeOf([
        { concurrency: 8, opsPerSecond: 800 },
        { concurrency: 16, opsPerSecond: 1500 },
        { concurrency: 32, opsPerSecond: 1580 },
        { concurrency: 64, opsPerSecond: 1550 },
      ])?.concurrency,
    ).toBe(16)
    const rising = kneeOf([
      { concurrency: 8, opsPerSecond: 100 },
      { concurrency: 16, opsPerSecond: 200 },
    ])!
    expect(rising.concurrency).toBe(16)
    expect(rising.rule).toMatch(/still rising/)
    expect(kneeOf([{ concurrency: 8, opsPerSecond: 100 }])).toBeUndefined()
  })

  it('bounds the requests exactly with maxOps', () => {
    const e = estimateRequests({ workload: 'stat', objects: 1000, maxOps: 10_000, concurrency: 8 })
    expect(e.bounded).toBe(true)
    expect(e.prepare).toEqual({ write: 1002, read: 0, delete: 0 })
    expect(e.measured).toEqual({ write: 0, read: 10_000, delete: 0 })
    expect(e.cleanup).toEqual({ write: 3, read: 0, delete: 1 })
    expect(e.total).toBe(11_006)
    expect(e.usd).toBeCloseTo((1005 * 0.005 + 10_000 * 0.0004) / 1000, 12)
    const mp = estimateRequests({ workload: 'multipart', sizes: 64 * 1024 * 1024, maxOps: 10 })
    expect(mp.measured).toEqual({ write: 100, read: 10, delete: 0 })
    expect(estimateRequests({ workload: 'put', duration: 10_000, concurrency: 4 }).text).toMatch(/estimated at 20 ms per request/)
  })

  it('parses durations, levels and weights', () => {
    expect(parseDuration('30s')).toBe(30_000)
    expect(parseDuration('1m30s')).toBe(90_000)
    expect(parseDuration('500ms')).toBe(500)
    expect(parseDuration('2')).toBe(2000)
    for (const bad of ['', '0s', 'soon', '5 minutes', '-3s']) expect(() => parseDuration(bad), bad).toThrow(/Expected duration/)
    expect(parseLevels('8,16,32')).toEqual([8, 16, 32])
    expect(parseLevels(16)).toBe(16)
    expect(parseLevels(undefined)).toBe(16)
    expect(() => parseLevels('8,x')).toThrow(/Expected concurrency/)
    expect(parseWeights('get=60, put=40')).toEqual({ get: 60, put: 40 })
    expect(() => parseWeights('get=60,list=40')).toThrow(/Expected weights/)
  })
})

describe('the library boundary', () => {
  it("import 'bucketflow' does not load the benchmark engine, and bucketflow/bench does", () => {
    const hooks = resolve(import.meta.dirname, '../support/record-imports.mjs')
    const probe = (entry: string) => {
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', '--import', hooks, '-e', `await import(${JSON.stringify(resolve(import.meta.dirname, '../..', entry))})`],
        { encoding: 'utf8' },
      )
      expect(r.status, r.stderr).toBe(0)
      return r.stderr.split('\n').filter((l) => l.startsWith('loaded '))
    }
    const library = probe('src/index.ts')
    expect(library.some((l) => l.includes('/src/bucket.ts'))).toBe(true)
    expect(library.filter((l) => /\/src\/(benchmark|radosgw)/.test(l))).toEqual([])
    // The CLI registers bench without loading it.
    const cli = spawnSync(process.execPath, ['--import', 'tsx', '--import', hooks, resolve(import.meta.dirname, '../../src/cli/main.ts'), '--version'], {
      encoding: 'utf8',
    })
    expect(cli.status, cli.stderr).toBe(0)
    const cliLoaded = cli.stderr.split('\n').filter((l) => l.startsWith('loaded '))
    expect(cliLoaded.some((l) => l.includes('/src/cli/bench.ts'))).toBe(true)
    expect(cliLoaded.filter((l) => l.includes('/src/benchmark/'))).toEqual([])
    const bench = probe('src/benchmark/index.ts')
    expect(bench.some((l) => l.includes('/src/benchmark/run.ts'))).toBe(true)
    expect(bench.filter((l) => l.includes('/src/benchmark/peers/'))).toEqual([])
  })
})
