/**
 * `bucketflow bench` as people run it: a real process, Ctrl-C halfway, two clients sharing one
 * run, the report merging them, an AWS endpoint without --yes, a prefix that is not empty.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { describe, expect, inject, it } from 'vitest'
import type { BenchmarkSummary, ComparisonRow } from '../src/benchmark/index.js'
import { cli } from './support/cli.js'
import { runScript } from './support/run-script.js'
import { useBucket } from './support/s3.js'

const main = resolve(import.meta.dirname, '../src/cli/main.ts')
const loopbackOnly = resolve(import.meta.dirname, 'support/loopback-only.mjs')

/** Start the CLI and keep hold of it (to signal it); resolves when it exits. */
function start(args: string[], env: Record<string, string> = {}) {
  const s3 = inject('s3')
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
    env: {
      ...process.env,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  const listeners: (() => void)[] = []
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
    for (const l of listeners) l()
  })
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })))
  return {
    child,
    exit,
    get stdout() {
      return stdout
    },
    get stderr() {
      return stderr
    },
    /** Resolves once stderr matches. */
    waitFor(re: RegExp): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (re.test(stderr)) resolve()
        }
        listeners.push(check)
        exit.then(
          () => reject(new Error(`exited before ${re}: ${stderr}`)),
          () => undefined,
        )
        check()
      })
    },
  }
}

describe('bucketflow bench (CLI)', () => {
  const bucket = useBucket('bench-cli')

  it('Ctrl-C halfway: stops, deletes what it wrote, keeps the samples, exits 130', async () => {
    const b = bucket()
    const dir = await mkdtemp(join(tmpdir(), 'bf-bench-cli-'))
    const results = join(dir, 'put.parquet')
    const run = start(['bench', 'put', `s3://${b.name}/int/`, '-d', '120s', '-c', '4', '--size', '1KiB', '--results', results])
    await run.waitFor(/measuring put at concurrency 4/)
    // Wait until the run has written objects, so that the interrupt has something to clean up.
    while ((await b.list('int/')).length < 5) await new Promise((r) => setTimeout(r, 50))
    run.child.kill('SIGINT')
    const { code } = await run.exit
    expect(code, run.stderr).toBe(130)
    expect(run.stderr).toMatch(/SIGINT: stopping, cleaning up/)
    expect(await b.list('int/')).toEqual([])
    const summary = JSON.parse(await readFile(join(dir, 'put.json'), 'utf8')) as BenchmarkSummary
    expect(summary.levels[0]!.stoppedBy).toBe('signal')
    expect(summary.levels[0]!.seconds).toBeLessThan(100)
    // Every recorded put, and the ones in flight at the interrupt that the server stored anyway.
    expect(summary.cleanup!.deleted).toBeGreaterThanOrEqual(summary.levels[0]!.total.ok)
    expect(summary.cleanup!.deleted).toBeLessThanOrEqual(summary.levels[0]!.total.ok + 4)
    const db = await (await DuckDBInstance.create(':memory:')).connect()
    const [[n]] = (await db.runAndReadAll(`SELECT count(*)::INT FROM '${results}' WHERE outcome = 'ok'`)).getRows() as [[number]]
    expect(n).toBe(summary.levels[0]!.total.ok)
    expect(run.stdout).toMatch(/^put on http/m)
    // Not a terminal: status lines, no live progress.
    expect(run.stderr).not.toMatch(/\x1b\[K/)
    expect(run.stderr).not.toMatch(/ops\/s {2}/)
  }, 120_000)

  it('shows live progress (ops/s, MiB/s, p99 so far) on a terminal', async () => {
    const b = bucket()
    const dir = await mkdtemp(join(tmpdir(), 'bf-bench-tty-'))
    // `script` gives the command a pseudo-terminal, as a person's shell would.
    const command = `${process.execPath} --import tsx ${main} bench stat s3://${b.name}/tty/ -d 3s -c 2 --objects 5 --results ${join(dir, 'tty.parquet')}`
    const run = await runScript('/usr/bin/script', ['-qec', command, '/dev/null'], { direct: true })
    expect(run.code, run.stdout).toBe(0)
    expect(run.stdout).toMatch(/\r\x1b\[Kstat c=2 \d+s {2}[\d.]+ ops\/s {2}[\d.]+ MiB\/s {2}p99 [\d.]+ ms {2}ok \d+ {2}errors 0/)
    expect(run.stdout).toMatch(/^stat +[\d.]+ +- +[\d.]+/m)
    expect(await b.list('tty/')).toEqual([])
  }, 60_000)

  it('two clients share a run through s3://…/results/<run-id>/; the report merges them and sums their throughput', async () => {
    const b = bucket()
    const results = `s3://${b.name}/results/run-two/`
    // Far enough ahead that both clients have started and prepared on a loaded machine: a client
    // that starts late measures alone, and the two runs would not overlap.
    const startAt = new Date(Date.now() + 30_000).toISOString()
    const args = (client: string) => [
      '-q',
      'bench',
      'stat',
      `s3://${b.name}/shared/`,
      '-d',
      '3s',
      '-c',
      '3',
      '--objects',
      '12',
      '--results',
      results,
      '--client-id',
      client,
      '--start-at',
      startAt,
    ]
    const [one, two] = await Promise.all([runScript(main, args('one')), runScript(main, args('two'))])
    expect(one.code, one.stderr).toBe(0)
    expect(two.code, two.stderr).toBe(0)
    expect((await b.list('results/run-two/')).sort()).toEqual([
      'results/run-two/one.json',
      'results/run-two/one.parquet',
      'results/run-two/two.json',
      'results/run-two/two.parquet',
    ])
    expect(await b.list('shared/')).toEqual([])

    const dir = await mkdtemp(join(tmpdir(), 'bf-bench-merge-'))
    const report = await cli(['--json', 'bench', 'report', results, '--out', dir])
    expect(report.code, report.stderr).toBe(0)
    const merged = JSON.parse(report.stdout) as BenchmarkSummary
    expect(merged.runId).toBe('run-two')
    expect(merged.clients).toEqual(['one', 'two'])
    expect((await stat(join(dir, 'run-two-throughput.svg'))).size).toBeGreaterThan(500)
    expect(await readFile(join(dir, 'run-two-latency.svg'), 'utf8')).toMatch(/^<svg /)

    // Independently: both files in DuckDB. The merged interval is the time both ran; the merged
    // throughput is what each client finished inside it, summed, over its length.
    const files = await Promise.all(
      ['one', 'two'].map(async (c) => {
        const path = join(dir, `${c}.parquet`)
        await b.get(`results/run-two/${c}.parquet`, path)
        return path
      }),
    )
    const db = await (await DuckDBInstance.create(':memory:')).connect()
    const rows = async (q: string) => (await db.runAndReadAll(q)).getRowObjectsJS() as Record<string, number>[]
    const all = `read_parquet(['${files[0]}', '${files[1]}'])`
    const spans = await rows(
      `SELECT client, min(epoch_us(start))::DOUBLE / 1000 AS a, max(epoch_us(start)::DOUBLE / 1000 + duration_ms) AS b FROM ${all} GROUP BY client ORDER BY client`,
    )
    const a = Math.max(...spans.map((s) => s.a!))
    const z = Math.min(...spans.map((s) => s.b!))
    expect(z).toBeGreaterThan(a)
    const level = merged.levels[0]!
    expect(level.interval).toEqual([a, z])
    const perClient = await rows(
      `SELECT client, count(*)::INT AS n FROM ${all} WHERE outcome = 'ok' AND epoch_us(start)::DOUBLE / 1000 + duration_ms BETWEEN ${a} AND ${z} GROUP BY client ORDER BY client`,
    )
    expect(perClient).toHaveLength(2)
    const sum = perClient.reduce((x, r) => x + r.n! / ((z - a) / 1000), 0)
    expect(level.total.opsPerSecond).toBeCloseTo(sum, 9)
    const [q] = await rows(`SELECT count(*)::INT AS n, quantile_cont(duration_ms, 0.99) AS p99 FROM ${all} WHERE outcome = 'ok'`)
    expect(level.ops[0]!.ok).toBe(q!.n)
    expect(level.ops[0]!.latency!.p99).toBeCloseTo(q!.p99!, 9)
    // CPU from both clients' summaries.
    const own = await Promise.all(['one', 'two'].map(async (c) => JSON.parse((await b.get(`results/run-two/${c}.json`)).toString()) as BenchmarkSummary))
    expect(level.cpu!.cpuMs).toBeCloseTo(own[0]!.levels[0]!.cpu!.cpuMs + own[1]!.levels[0]!.cpu!.cpuMs, 6)

    // Compare the two clients with each other.
    const cmp = await cli(['--json', 'bench', 'compare', files[0]!, files[1]!])
    expect(cmp.code, cmp.stderr).toBe(0)
    const [row] = JSON.parse(cmp.stdout) as ComparisonRow[]
    expect(row!.op).toBe('stat')
    expect(row!.opsPerSecond.a).toBeCloseTo(own[0]!.levels[0]!.total.opsPerSecond, 6)
  }, 240_000)

  it('refuses an AWS endpoint without --yes, after printing the expected requests', async () => {
    // Any connection attempt would go to 127.0.0.1 (and fail): nothing can reach AWS.
    const aws = await cli(
      [
        '--endpoint',
        'https://s3.us-east-1.amazonaws.com',
        'bench',
        'get',
        's3://some-bucket/bench/',
        '-d',
        '10s',
        '-c',
        '4',
        '--max-ops',
        '500',
        '--objects',
        '100',
      ],
      {
        env: { NODE_OPTIONS: `--import=${loopbackOnly}` },
      },
    )
    expect(aws.code).toBe(2)
    expect(aws.stderr).toMatch(/Expected requests: 606 \(preparation 102, measured at most 500, cleanup 4\)/)
    expect(aws.stderr).toMatch(/add --yes to run/)
    expect(aws.stderr).not.toMatch(/ECONNREFUSED/)
  }, 180_000)

  it('refuses a prefix holding other objects, and results it could not write, before writing anything', async () => {
    const b = bucket()
    await b.put('x', 'taken/keep.txt', { literal: true })
    const refused = await cli(['bench', 'put', `s3://${b.name}/taken/`, '-d', '1s'])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/already holds objects that are not this run's \(e\.g\. "taken\/keep\.txt"\)/)
    expect(await b.list('taken/')).toEqual(['taken/keep.txt'])
    // Results that could not be written are found before the run, not after it.
    const noResults = await cli(['bench', 'put', `s3://${b.name}/fresh/`, '-d', '1s', '--results', `s3://${b.name}-missing/results/r1/`])
    expect(noResults.code).toBe(1)
    expect(noResults.stderr).toMatch(/NoSuchBucket/)
    expect(await b.list('fresh/')).toEqual([])
  }, 180_000)

  it('exits 2 on usage errors: nested bench commands, a bad concurrency list, a list given to another command', async () => {
    const b = bucket()
    const missing = await cli(['bench', 'put'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/missing required argument 'url'/)
    const badList = await cli(['bench', 'get', `s3://${b.name}/x/`, '-c', '8,0'])
    expect(badList.code).toBe(2)
    expect(badList.stderr).toMatch(/Expected concurrency to be an integer >= 1 or a list/)
    const otherCommand = await cli(['-c', '8,16', 'ls', `s3://${b.name}/`])
    expect(otherCommand.code).toBe(2)
    expect(otherCommand.stderr).toMatch(/concurrency/)
  }, 180_000)
})
