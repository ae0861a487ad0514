/**
 * The fault-injection soak in CI: 2,000 mixed operations (put, get, get to file, ranged get,
 * stream, parallel ranges, head, copy, list, multipart sink, rotating log) through a proxy that
 * injects a fault into 5% of the requests: resets before and after the request, 500 / 503
 * SlowDown, stalls past the idle timeout, truncated and corrupted bodies, dropped ETags, 200 with
 * an <Error> on Complete and Copy (with and without trailing whitespace), corrupted request
 * bodies, listing pages that lie. Set BUCKETFLOW_SOAK_SEED to replay a seed.
 */
import { describe, expect, inject, it } from 'vitest'
import { formatReport, runSoak } from './soak-engine.js'

describe('fault-injection soak', () => {
  it('2,000 operations at a 5% fault rate: 0 lost, 0 silently corrupt, every failure typed, 0 orphaned uploads, nothing outside destinations', async () => {
    const s3 = inject('s3')
    const seed = Number(process.env.BUCKETFLOW_SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31))
    console.log(`soak seed ${seed} (replay with BUCKETFLOW_SOAK_SEED=${seed})`)
    const report = await runSoak({ s3, ops: 2000, faultRate: 0.05, seed, log: (line) => console.log(line) })
    console.log(formatReport(report))
    expect(report.ops).toBe(2000)
    // Every kind of fault was injected.
    for (const kind of [
      'reset',
      'reset-after',
      'status-500',
      'status-503',
      'stall',
      'stall-body',
      'truncate',
      'corrupt-body',
      'drop-etag',
      'corrupt-request',
      'error-200',
      'error-200-unprocessed',
      'list-drop-entry',
      'list-stale-token',
    ]) {
      expect(report.faults[kind] ?? 0, kind).toBeGreaterThan(0)
    }
    expect(report.lost).toEqual([])
    expect(report.corrupt).toEqual([])
    expect(report.untyped).toEqual([])
    expect(report.orphans).toEqual([])
    expect(report.outside).toEqual([])
  }, 180_000)
})
