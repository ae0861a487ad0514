/**
 * What the load generator's summaries say about a run cut short, two results that cannot be
 * compared, and the first and last time windows of a chart: computed from synthetic samples, so
 * the expected figures are known exactly.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../src/index.js'
import {
  compareSummaries,
  kneeOfLevels,
  SampleWriter,
  throughputChart,
  type BenchmarkSummary,
  type BenchSample,
  type BenchWorkload,
  type LevelSummary,
} from '../src/benchmark/index.js'
import { SampleStats } from '../src/benchmark/stats.js'
import { summarizeLevel } from '../src/benchmark/summary.js'
import { README_BEGIN, README_END, updateReadme } from '../src/benchmark/peers/report.js'
import type { BenchReport } from '../src/benchmark/peers/engine.js'
import { runCli, useS3Env } from './support/cli.js'

/** `perSecond` successful stats, evenly spread from `from` (ms since the epoch) for `seconds`. */
function samples(from: number, seconds: number, perSecond: number, op: BenchSample['op'] = 'stat'): BenchSample[] {
  return Array.from({ length: seconds * perSecond }, (_, i) => ({
    op,
    size: 0,
    objects: 1,
    start: from + (i * 1000) / perSecond,
    ttfb: null,
    duration: 2,
    outcome: 'ok',
    client: 'c',
    concurrency: 4,
    worker: i % 4,
  }))
}

function level(concurrency: number, stoppedBy: LevelSummary['stoppedBy'], list: BenchSample[]): LevelSummary {
  const stats = new SampleStats()
  for (const s of list) stats.add(s)
  return summarizeLevel(stats, { concurrency, stoppedBy })
}

function summary(workload: BenchWorkload, levels: LevelSummary[]): BenchmarkSummary {
  return {
    version: 1,
    runId: `run-${workload}`,
    clients: ['c'],
    workload,
    endpoint: 'http://127.0.0.1:1',
    bucket: 'b',
    keyPrefix: 'p/',
    settings: { duration: 10_000, sizes: '0 B', objects: 10, seed: 1, window: 1000 },
    startedAt: new Date(0).toISOString(),
    finishedAt: new Date(0).toISOString(),
    levels,
    notes: [],
  }
}

describe('sweep knee', () => {
  it('leaves out a level the signal cut short, however fast it looked', () => {
    // The interrupted level ran 0.4 s at a rate no complete level reached.
    const levels = [
      level(1, 'duration', samples(1e12, 3, 100)),
      level(4, 'duration', samples(1e12 + 5000, 3, 200)),
      level(8, 'signal', samples(1e12 + 10_000, 1, 900).slice(0, 360)),
    ]
    expect(levels[2]!.total.opsPerSecond).toBeGreaterThan(levels[1]!.total.opsPerSecond)
    expect(kneeOfLevels(levels)?.concurrency).toBe(4)
    expect(kneeOfLevels(levels)?.rule).toMatch(/still rising/)
    // The same levels, all complete: the fastest one sets the bar.
    expect(kneeOfLevels(levels.map((l) => ({ ...l, stoppedBy: 'duration' as const })))?.concurrency).toBe(8)
    // One complete level is no sweep.
    expect(kneeOfLevels(levels.slice(1))).toBeUndefined()
  })
})

describe('compare', () => {
  it('refuses two results of different workloads, naming both', () => {
    const get = summary('get', [level(4, 'duration', samples(1e12, 3, 100, 'get'))])
    const put = summary('put', [level(4, 'duration', samples(1e12, 3, 100, 'put'))])
    expect(() => compareSummaries(get, put)).toThrow(InvalidArgumentError)
    expect(() => compareSummaries(get, put)).toThrow(/get \(run run-get\) and put \(run run-put\)/)
    expect(compareSummaries(get, get)).toHaveLength(1)
  })

  describe('from the command line', () => {
    let dir = ''
    beforeAll(async () => {
      useS3Env()
      dir = await mkdtemp(join(tmpdir(), 'bf-bench-summary-'))
    })
    afterAll(() => rm(dir, { recursive: true, force: true }))

    it('exits non-zero with both workloads in the error', async () => {
      const files: string[] = []
      for (const op of ['get', 'put'] as const) {
        const file = join(dir, `${op}.parquet`)
        const writer = new SampleWriter(file, `run-${op}`, op)
        for (const s of samples(1e12, 3, 50, op)) writer.push(s)
        await writer.end()
        files.push(file)
      }
      const r = await runCli(['bench', 'compare', files[0]!, files[1]!])
      expect(r.code).not.toBe(0)
      expect(r.stderr).toMatch(/get/)
      expect(r.stderr).toMatch(/put/)
      expect(r.stderr).toMatch(/same workload/)
      const same = await runCli(['bench', 'compare', files[0]!, files[0]!])
      expect(same.code, same.stderr).toBe(0)
    }, 60_000)
  })
})

describe('throughput chart', () => {
  it('draws only the windows wholly inside the measured interval', () => {
    // 100 ops/s from x.3 s to x+5.3 s: the windows at x and x+5 hold 70 and 30 operations.
    const from = 1_000_000_000_300
    const l = level(4, 'duration', samples(from, 5, 100))
    const full = l.windows.filter(([t]) => t >= l.interval[0] && t + 1000 <= l.interval[1])
    expect(l.windows.length).toBe(full.length + 2)
    const svg = throughputChart(summary('stat', [l]))
    const path = /<path d="([^"]+)" fill="none"/.exec(svg)![1]!
    const points = path.split(/[ML]/).filter((p) => p.trim() !== '')
    expect(points).toHaveLength(full.length)
    // Every drawn window is a full one: the line is flat (all at the same height).
    const ys = new Set(points.map((p) => p.trim().split(/[ ,]/)[1]))
    expect(ys.size).toBe(1)
  })
})

describe('README peer table', () => {
  it('rewrites only the block between the markers, the same way every time, and refuses a file without them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bf-bench-readme-'))
    try {
      const report = JSON.parse(await readFile(join(import.meta.dirname, '../bench/results/latest.json'), 'utf8')) as BenchReport
      const file = join(dir, 'README.md')
      const before = `# x\n\ntext before\n\n${README_BEGIN}\nold table\n${README_END}\n\ntext after\n`
      await writeFile(file, before)
      await updateReadme(report, file)
      const once = await readFile(file, 'utf8')
      expect(once.startsWith(`# x\n\ntext before\n\n${README_BEGIN}\n\n`)).toBe(true)
      expect(once.endsWith(`\n\n${README_END}\n\ntext after\n`)).toBe(true)
      expect(once).not.toMatch(/old table/)
      const bf = report.summary.find((r) => r.tool === 'bucketflow')!
      expect(once).toContain(`| ${bf.workload} ${bf.phase} (`)
      expect(once.split('\n').filter((l) => l.startsWith('|')).length).toBe(report.summary.length + 2)
      await updateReadme(report, file)
      expect(await readFile(file, 'utf8')).toBe(once)
      await writeFile(file, 'no markers\n')
      await expect(updateReadme(report, file)).rejects.toThrow(InvalidArgumentError)
      expect(await readFile(file, 'utf8')).toBe('no markers\n')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
