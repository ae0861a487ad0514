import { describe, expect, it } from 'vitest'
import { AbortError, boundedMap, collect, mapResults, NoSuchKeyError } from '../src/index.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function tracked() {
  let inflight = 0
  let peak = 0
  const fn = async (i: number) => {
    inflight++
    peak = Math.max(peak, inflight)
    await sleep((i * 7919) % 5)
    inflight--
    return i
  }
  return { fn, peak: () => peak }
}

describe('boundedMap and mapResults', () => {
  for (const ordered of [true, false]) {
    it(`never has more than concurrency calls in flight (${ordered ? 'ordered' : 'unordered'})`, async () => {
      const t = tracked()
      const out = await collect(
        boundedMap(
          Array.from({ length: 500 }, (_, i) => i),
          t.fn,
          7,
          ordered,
        ),
      )
      expect(t.peak()).toBe(7)
      expect(out).toHaveLength(500)
      if (ordered) expect(out).toEqual(Array.from({ length: 500 }, (_, i) => i))
      else expect([...out].sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i))
    })
  }

  it('pulls the source only as calls finish, and releases it on early exit', async () => {
    let pulled = 0
    let released = false
    async function* source() {
      try {
        for (let i = 0; ; i++) {
          pulled++
          yield i
        }
      } finally {
        released = true
      }
    }
    const seen: number[] = []
    for await (const v of boundedMap(source(), async (i) => i, 4, true)) {
      seen.push(v)
      if (seen.length === 10) break
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(pulled).toBeLessThanOrEqual(10 + 4)
    expect(released).toBe(true)
  })

  it('turns failures into results, in input order, and aborts in-flight work when the consumer stops', async () => {
    const results = await collect(
      mapResults([1, 2, 3], String, async (i) => {
        if (i === 2) throw new NoSuchKeyError('missing', { key: '2' })
        return i * 10
      }),
    )
    expect(results.map((r) => (r.ok ? r.value : r.error.code))).toEqual([10, 'NoSuchKey', 30])
    const aborted: string[] = []
    const stage = mapResults(
      [1, 2, 3, 4],
      String,
      (i, signal) =>
        new Promise<number>((resolve, reject) => {
          if (i === 1) return resolve(1)
          signal.addEventListener('abort', () => {
            aborted.push(String(i))
            reject(new AbortError())
          })
        }),
      { concurrency: 4 },
    )
    for await (const r of stage) {
      expect(r.key).toBe('1')
      break
    }
    expect(aborted.sort()).toEqual(['2', '3', '4'])
  })

  it('throws the first failure with stopOnError and rejects concurrency < 1', async () => {
    const stage = mapResults(
      ['a', 'b'],
      (k) => k,
      async (k) => {
        throw new NoSuchKeyError(`no ${k}`, { key: k })
      },
      { stopOnError: true },
    )
    await expect(collect(stage)).rejects.toThrow('no a')
    await expect(collect(mapResults([1], String, async (i) => i, { concurrency: 0 }))).rejects.toThrow(/Expected concurrency to be an integer >= 1, got 0/)
  })
})
