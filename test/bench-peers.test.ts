import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { describe, expect, inject, it } from 'vitest'
import { renderChart } from '../src/benchmark/peers/chart.js'
import { runBenchmark } from '../src/benchmark/peers/engine.js'
import { formatTable } from '../src/benchmark/peers/report.js'
import { parseWorkloadList, workloads } from '../src/benchmark/peers/workloads.js'

describe('peer benchmark engine (bench peers)', () => {
  it('times verified samples and reports a corrupting peer as failed, not timed', async () => {
    const s3 = inject('s3')
    const report = await runBenchmark({
      runs: 1,
      scale: 0.005,
      only: ['W1', 'W3'],
      tools: ['bucketflow', 'sdk-batch', 'corrupt'],
      external: false,
      startup: false,
      s3: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, ...(s3.dir ? { dir: s3.dir } : {}) },
    })

    const honest = report.samples.filter((s) => s.tool !== 'corrupt')
    // W1 put+get by two tools, W3 put+get by bucketflow (sdk-batch has no W3).
    expect(honest.map((s) => `${s.workload} ${s.phase} ${s.tool}`).sort()).toEqual([
      'W1 get bucketflow',
      'W1 get sdk-batch',
      'W1 put bucketflow',
      'W1 put sdk-batch',
      'W3 get bucketflow',
      'W3 put bucketflow',
    ])
    for (const s of honest) {
      expect(s.ok, `${s.workload} ${s.phase} ${s.tool}: ${s.error}`).toBe(true)
      expect(s.throughput).toBeGreaterThan(0)
    }

    const corrupt = report.samples.filter((s) => s.tool === 'corrupt')
    expect(corrupt).toHaveLength(4)
    for (const s of corrupt) {
      expect(s.ok).toBe(false)
      expect(s.throughput).toBeNull()
      expect(s.error).toMatch(/^verification: .*content differs/)
    }
    const row = report.summary.find((r) => r.tool === 'corrupt' && r.workload === 'W1' && r.phase === 'put')!
    expect(row).toMatchObject({ okRuns: 0, runs: 1, throughput: null, ratio: null })
    // One run: every row is its one verified sample, and its ratio is bucketflow's throughput over it.
    for (const r of report.summary.filter((x) => x.okRuns > 0)) {
      const mine = report.samples.filter((x) => x.workload === r.workload && x.phase === r.phase && x.tool === r.tool && x.ok)
      expect(mine).toHaveLength(1)
      expect(r.throughput).toBe(mine[0]!.throughput)
      const bf = report.summary.find((x) => x.tool === 'bucketflow' && x.workload === r.workload && x.phase === r.phase)!
      expect(r.ratio).toBeCloseTo(bf.throughput! / r.throughput!, 12)
    }

    expect(formatTable(report)).toMatch(/corrupt\s+FAILED/)
    const svg = renderChart(report)
    expect(svg).toMatch(/^<svg /)
    expect(svg).toContain('corrupt: failed (0/1 runs verified)')

    // Everything the run created is gone.
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      forcePathStyle: true,
    })
    await expect(client.send(new HeadBucketCommand({ Bucket: report.server.bucket }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } })
    client.destroy()
  }, 240_000)

  it('scales workloads and validates the workload list', () => {
    const [w1, w3] = workloads(0.25, ['W1', 'W3'])
    expect(w1).toMatchObject({ id: 'W1', count: 500, size: 4096, title: '500 x 4 KiB' })
    expect(w3).toMatchObject({ id: 'W3', count: 1, size: 128 * 1024 * 1024, title: '128 MiB stream' })
    expect(parseWorkloadList('w3, W1,w3')).toEqual(['W3', 'W1'])
    expect(() => parseWorkloadList('W1,W9')).toThrow('Expected workloads from W1, W2, W3, W4, W5, got "W9"')
  })
})
