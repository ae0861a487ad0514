import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli } from './support/cli.js'
import { describeJobXml } from './support/control.js'
import { sdkListing, writeInventoryReport, type WrittenReport } from './support/inventory.js'
import { useBucket } from './support/s3.js'

const ACCOUNT = '123456789012'

/** A local S3 Control stand-in on 127.0.0.1: records requests, answers from a script. */
async function fakeControl(
  answer: (method: string, path: string) => string,
): Promise<{ url: string; requests: { method: string; path: string; headers: Record<string, unknown>; body: string }[]; close: () => Promise<void> }> {
  const requests: { method: string; path: string; headers: Record<string, unknown>; body: string }[] = []
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      requests.push({ method: req.method!, path: req.url!, headers: req.headers, body })
      res.writeHead(200, { 'content-type': 'application/xml' })
      res.end(answer(req.method!, req.url!))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

describe('bucketflow inventory, batch and sfn commands', () => {
  const source = useBucket('cli-scale-src')
  const work = useBucket('cli-scale-work')
  let report: WrittenReport
  let dir: string
  const keys = ['a b/1.txt', 'a b/2.txt', 'c+d/3.txt', 'ü/4.txt', 'top.txt']

  beforeAll(async () => {
    for (const key of keys) await source().put(`body of ${key}`, key, { literal: true })
    const listing = await sdkListing(source().client, source().name)
    report = await writeInventoryReport(work().client, work().name, source().name, listing, {
      prefix: 'inv/',
      configId: 'daily',
      format: 'CSV',
      createdAt: new Date('2024-05-01T01:00:00Z'),
    })
    dir = await mkdtemp(join(tmpdir(), 'bf-cli-scale-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('lists and shows inventory reports', async () => {
    const ls = await cli(['--json', 'inventory', 'ls', `s3://${work().name}/inv/`])
    expect(ls.code, ls.stderr).toBe(0)
    expect(JSON.parse(ls.stdout.trim())).toMatchObject({ sourceBucket: source().name, configId: 'daily', url: `s3://${work().name}/${report.manifestKey}` })
    const show = await cli(['inventory', 'show', `s3://${work().name}/inv/`])
    expect(show.code, show.stderr).toBe(0)
    expect(show.stdout).toMatch(/checksum: verified/)
    expect(show.stdout).toMatch(/data files {3}2/)
  })

  it('indexes the newest report into Hive-partitioned Parquet that DuckDB reads', async () => {
    const folder = join(dir, 'by-prefix')
    const parts = await cli(['inventory', 'index', '--partition-by-prefix', '1', `s3://${work().name}/inv/`, folder])
    expect(parts.code, parts.stderr).toBe(0)
    expect(parts.stderr).toMatch(/no LIST request/)
    const db = await (await DuckDBInstance.create(':memory:')).connect()
    try {
      const all = await db.runAndReadAll(`select Key from read_parquet('${folder}/*/*.parquet', hive_partitioning = true) order by Key`)
      expect(all.getRows().map((r) => r[0])).toEqual([...keys].sort())
      const byPrefix = await db.runAndReadAll(
        `select prefix, count(*)::INTEGER from read_parquet('${folder}/*/*.parquet', hive_partitioning = true) group by 1 order by 1 nulls first`,
      )
      expect(byPrefix.getRows()).toEqual([
        [null, 1],
        ['a b/', 2],
        ['c+d/', 1],
        ['ü/', 1],
      ])
    } finally {
      db.closeSync()
    }
  })

  it('writes a manifest from an inventory and plans a freeze job over it', async () => {
    const manifest = await cli(['batch', 'manifest', '--from-inventory', `s3://${work().name}/inv/`, '--prefix', 'a b/', `s3://${work().name}/jobs/ab.csv`])
    expect(manifest.code, manifest.stderr).toBe(0)
    expect(await work().read('jobs/ab.csv')).toBe(`${source().name},a%20b/1.txt\n${source().name},a%20b/2.txt\n`)
    const plan = await cli([
      'batch',
      'plan',
      '--account-id',
      ACCOUNT,
      '--role-arn',
      `arn:aws:iam::${ACCOUNT}:role/batch`,
      '--operation',
      'freeze',
      '--storage-class',
      'GLACIER',
      '--manifest',
      `s3://${work().name}/jobs/ab.csv`,
      '--report',
      `s3://${work().name}/reports/`,
      '--token',
      'cli-token',
    ])
    expect(plan.code, plan.stderr).toBe(0)
    const input = JSON.parse(plan.stdout) as Record<string, unknown>
    const etag = (await work().head('jobs/ab.csv')).etag.replaceAll('"', '')
    expect(input).toMatchObject({
      AccountId: ACCOUNT,
      ClientRequestToken: 'cli-token',
      Operation: { S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${source().name}`, StorageClass: 'GLACIER' } },
      Manifest: { Location: { ObjectArn: `arn:aws:s3:::${work().name}/jobs/ab.csv`, ETag: etag }, Spec: { Fields: ['Bucket', 'Key'] } },
      Report: { Enabled: true, Bucket: `arn:aws:s3:::${work().name}`, Prefix: 'reports' },
    })
    await writeFile(join(dir, 'job.json'), plan.stdout)
  })

  it('refuses to submit without --yes, sending nothing', async () => {
    const control = await fakeControl(() => '<?xml version="1.0"?><CreateJobResult><JobId>never</JobId></CreateJobResult>')
    try {
      const refused = await cli(['batch', 'submit', join(dir, 'job.json'), '--control-endpoint', control.url])
      expect(refused.code).toBe(2)
      expect(refused.stderr).toMatch(/costs money.*--yes/)
      expect(control.requests).toEqual([])
    } finally {
      await control.close()
    }
  })

  it('submits with --yes and watches the job through an S3 Control endpoint', async () => {
    const control = await fakeControl((method) =>
      method === 'POST' ? '<?xml version="1.0"?><CreateJobResult><JobId>job-cli-1</JobId></CreateJobResult>' : describeJobXml('job-cli-1', 'Complete', 5, 5, 0),
    )
    try {
      const submitted = await cli(['batch', 'submit', join(dir, 'job.json'), '--yes', '--control-endpoint', control.url])
      expect(submitted.code, submitted.stderr).toBe(0)
      expect(submitted.stdout.trim()).toBe('job-cli-1')
      expect(control.requests.map((r) => [r.method, r.path, r.headers['x-amz-account-id']])).toEqual([['POST', '/v20180820/jobs', ACCOUNT]])
      expect(control.requests[0]!.body).toContain('<ClientRequestToken>cli-token</ClientRequestToken>')
      const watched = await cli(['batch', 'watch', 'job-cli-1', '--account-id', ACCOUNT, '--interval', '1', '--control-endpoint', control.url])
      expect(watched.code, watched.stderr).toBe(0)
      expect(watched.stdout).toMatch(/Complete {2}5 succeeded, 0 failed of 5/)
    } finally {
      await control.close()
    }
  })

  it('prints a completion report and exits 1 when tasks failed', async () => {
    const failed = `${source().name},a%20b/1.txt,,failed,403,AccessDenied,Access Denied\n`
    const ok = `${source().name},top.txt,,succeeded,200,,Successful\n`
    const results = []
    for (const [status, text] of [
      ['succeeded', ok],
      ['failed', failed],
    ] as const) {
      const key = `reports/job-1/results/${status}.csv`
      await work().put(text, key, { literal: true })
      results.push({ TaskExecutionStatus: status, Bucket: work().name, MD5Checksum: createHash('md5').update(text).digest('hex'), Key: key })
    }
    await work().put(
      JSON.stringify({
        Format: 'Report_CSV_20180820',
        ReportCreationDate: '2024-05-01T00:00:00Z',
        Results: results,
        ReportSchema: 'Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage',
      }),
      'reports/job-1/manifest.json',
      { literal: true },
    )
    const run = await cli(['batch', 'report', '--failed', `s3://${work().name}/reports/job-1/manifest.json`])
    expect(run.code).toBe(1)
    expect(run.stdout.trim()).toBe(`failed  403  AccessDenied  s3://${source().name}/a b/1.txt  Access Denied`)
    expect(run.stderr).toMatch(/1 succeeded, 1 failed/)
  })

  it('prints ItemReader JSON and writes key ranges', async () => {
    const reader = await cli(['sfn', 'item-reader', '--format', 'manifest', `s3://${work().name}/${report.manifestKey}`])
    expect(reader.code, reader.stderr).toBe(0)
    expect(JSON.parse(reader.stdout)).toEqual({
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'MANIFEST' },
        Parameters: { Bucket: work().name, Key: report.manifestKey },
      },
    })
    const ranges = await cli(['sfn', 'ranges', '--parts', '3', `s3://${source().name}/`, `s3://${work().name}/sfn/ranges.jsonl`])
    expect(ranges.code, ranges.stderr).toBe(0)
    const lines = (await work().read('sfn/ranges.jsonl'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { bucket: string })
    expect(lines.length).toBeGreaterThanOrEqual(1)
    expect(lines.every((l) => l.bucket === source().name)).toBe(true)
  })
})
