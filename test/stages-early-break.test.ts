/**
 * Breaking out of a stage early stops its work: the requests in flight at the break are aborted
 * (the proxy sees their connections close, though the server never answers them) and no new
 * request starts.
 */
import { describe, expect, it } from 'vitest'
import { Bucket, deleteObjects, headObjects, type Result } from '../src/index.js'
import { FaultProxy } from './support/proxy.js'
import { s3Options, useBucket } from './support/s3.js'
import { waitUntil } from './support/wait.js'

const keys = Array.from({ length: 200 }, (_, i) => `k/${String(i).padStart(3, '0')}`)
const concurrency = 8

async function takeThree<T>(stage: AsyncIterable<Result<T>>): Promise<Result<T>[]> {
  const taken: Result<T>[] = []
  for await (const r of stage) {
    taken.push(r)
    if (taken.length === 3) break
  }
  return taken
}

/**
 * Wait until every `op` request the proxy saw has finished (a held one only finishes when the
 * client closes it: the proxy holds it 60 s), and no new one arrived for a while after.
 */
async function settled(proxy: FaultProxy, op: 'HeadObject' | 'DeleteObjects'): Promise<void> {
  let seen = -1
  await waitUntil(
    async () => {
      const now = proxy.of(op)
      if (now.length !== seen || now.some((r) => r.finishedAt === undefined)) {
        seen = now.length
        await new Promise((resolve) => setTimeout(resolve, 100))
        return false
      }
      return true
    },
    `every ${op} to be answered or aborted by the client`,
    5_000,
  )
}

/**
 * After the break: the three answered requests plus at most one window of `concurrency` held
 * ones reached the proxy, and each held one was closed by the client without an answer.
 */
async function expectOnlyTheWindowAborted(proxy: FaultProxy, op: 'HeadObject' | 'DeleteObjects'): Promise<void> {
  await settled(proxy, op)
  const started = proxy.of(op)
  expect(started.length).toBeGreaterThan(3)
  expect(started.length).toBeLessThanOrEqual(3 + concurrency)
  const stalled = started.filter((r) => r.fault === 'stall')
  expect(stalled).toHaveLength(started.length - 3)
  expect(stalled.every((r) => r.status === undefined && r.finishedAt !== undefined)).toBe(true)
}

describe('a stage the consumer breaks out of', () => {
  const bucket = useBucket('stages-break')

  it('headObjects aborts the in-flight HEADs and starts no new one', async () => {
    const b = bucket()
    await b.put(
      keys.map(() => 'x'),
      keys,
      { literal: true, concurrency: 16 },
    )
    const proxy = await FaultProxy.start(s3Options().endpoint!)
    try {
      // The first three keys answer; every other HEAD is held open without an answer.
      proxy.addRule({ match: (r) => r.op === 'HeadObject' && !keys.slice(0, 3).includes(r.key), fault: 'stall', stallMs: 60_000 })
      const viaProxy = new Bucket(b.name, s3Options({ endpoint: proxy.url }))
      const taken = await takeThree(headObjects(viaProxy, { concurrency })(keys))
      expect(taken.map((r) => [r.key, r.ok])).toEqual(keys.slice(0, 3).map((k) => [k, true]))
      // Ordered: the window of 8 refills once per result taken, so at most 3 + 8 requests were
      // started; some may have been aborted before they reached the proxy.
      await expectOnlyTheWindowAborted(proxy, 'HeadObject')
    } finally {
      await proxy.close()
    }
  })

  it('deleteObjects aborts the in-flight batches and sends no new one', async () => {
    const b = bucket()
    const proxy = await FaultProxy.start(s3Options().endpoint!)
    try {
      // The first three DeleteObjects requests to arrive answer; every later one is held open.
      let arrived = 0
      const held = new Set<number>()
      proxy.addRule({
        match: (r) => {
          if (r.op !== 'DeleteObjects') return false
          if (!held.has(r.id) && ++arrived <= 3) return false
          held.add(r.id)
          return true
        },
        fault: 'stall',
        stallMs: 60_000,
      })
      const viaProxy = new Bucket(b.name, s3Options({ endpoint: proxy.url }))
      const taken = await takeThree(deleteObjects(viaProxy, { concurrency, batchSize: 1, ordered: false })(keys))
      expect(taken.every((r) => r.ok)).toBe(true)
      // Unordered: one new batch per result taken, so at most 3 + 8 batches were started.
      await expectOnlyTheWindowAborted(proxy, 'DeleteObjects')
    } finally {
      await proxy.close()
    }
  })
})
