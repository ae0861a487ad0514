import { beforeAll, describe, expect, it } from 'vitest'
import { AbortError, compareKeys, InvalidArgumentError, listPages, Bucket, type ListPage } from '../src/index.js'
import { KeyShape, listPartitioned, planSplit, type ListCheckpoint, type ListProgress } from '../src/stages/partition/index.js'
import { s3Options, useBucket } from './support/s3.js'
import { waitUntil } from './support/wait.js'

const pad = (n: number, width = 5) => String(n).padStart(width, '0')
const utf8 = (s: string) => Buffer.byteLength(s, 'utf8')

/** ~6,000 keys in awkward shapes; 90% under one hot prefix. */
function awkwardKeys(): string[] {
  const keys: string[] = []
  // The hot prefix: 5,400 keys (90%), plus the prefix itself as a key and keys that extend it.
  for (let i = 0; i < 5400; i++) keys.push(`hot/${pad(i)}${i % 3 === 0 ? '.json' : ''}`)
  keys.push('hot/', 'hot', 'hot0', 'hot/\u00e9t\u00e9', 'hot/\u{1F600}')
  // Unicode: Latin-1, CJK, BMP above the surrogates (U+FF21) and astral characters, whose UTF-16
  // order differs from UTF-8 order.
  for (let i = 0; i < 60; i++) {
    keys.push(`\u00fc/${pad(i, 3)}`, `\u65e5\u672c/${pad(i, 3)}`, `\u{1F600}/${pad(i, 3)}`, `\uFF21${pad(i, 3)}`, `caf\u00e9-${pad(i, 3)}`, `\u{10FFFD}${i}`)
  }
  // 1024-byte keys: ASCII, 2-byte, 3-byte and 4-byte characters.
  keys.push(`long/${'x'.repeat(1019)}`)
  keys.push(`long/${'\u00e9'.repeat(509)}x`)
  keys.push(`long/${'\u65e5'.repeat(339)}xy`)
  keys.push(`long/${'\u{1F600}'.repeat(254)}xyz`)
  for (let i = 0; i < 40; i++) keys.push(`long/${'\u00e9'.repeat(500)}/${pad(i, 4)}-${'z'.repeat(i % 7)}`)
  // No delimiter at all, and characters that need escaping in URLs and XML.
  for (let i = 0; i < 150; i++) keys.push(`flat-${pad(i, 4)}`)
  keys.push(
    'a',
    'z',
    '~',
    '0',
    'README',
    'with space',
    'plus+sign',
    'percent%20',
    'amp&lt;',
    'quote"s',
    'question?mark',
    'hash#tag',
    'back\\slash',
    '!bang',
    ' leading-space',
  )
  // A few more prefixes with a little in each, and deep nesting.
  for (let i = 0; i < 40; i++) keys.push(`a/b/c/d/e/${pad(i, 3)}`, `logs/2024-0${1 + (i % 9)}-${pad(10 + (i % 20), 2)}/part-${pad(i, 3)}`, `z/${i}`)
  return [...new Set(keys)]
}

async function keysOf(pages: AsyncIterable<ListPage>): Promise<string[]> {
  const out: string[] = []
  for await (const page of pages) for (const o of page.objects) out.push(o.key)
  return out
}

function expectSameSet(got: string[], expected: string[], label: string): void {
  const unique = new Set(got)
  expect(unique.size, `${label}: duplicates`).toBe(got.length)
  const missing = expected.filter((k) => !unique.has(k))
  const extra = got.filter((k) => !expected.includes(k))
  expect(missing.slice(0, 5), `${label}: missing`).toEqual([])
  expect(extra.slice(0, 5), `${label}: extra`).toEqual([])
  expect(got.length, label).toBe(expected.length)
}

describe('listPartitioned over an awkward key set', () => {
  const bucket = useBucket('listpart')
  const seeded = awkwardKeys()
  let serial: string[] = []

  beforeAll(async () => {
    const b = bucket()
    const results = await b.put(
      seeded.map(() => null),
      seeded,
      { concurrency: 32 },
    )
    expect(results.filter((r) => !r.ok)).toEqual([])
    serial = await keysOf(listPages(b))
  })

  it('seeds what it meant to, and the serial listing is in UTF-8 byte order', () => {
    expect(seeded.filter((k) => k.startsWith('hot/')).length / seeded.length).toBeGreaterThan(0.88)
    expect(seeded.some((k) => utf8(k) === 1024 && /\u{1F600}/u.test(k))).toBe(true)
    expect(serial.length).toBe(seeded.length)
    expect([...serial].sort(compareKeys)).toEqual(serial)
    expectSameSet(serial, seeded, 'serial')
  })

  for (const concurrency of [1, 4, 16]) {
    for (const pageSize of [1000, 100]) {
      it(`yields exactly the serial listing's keys, each once, at concurrency ${concurrency} with ${pageSize}-key pages`, async () => {
        const got = await keysOf(listPartitioned(bucket(), { concurrency, pageSize }))
        expectSameSet(got, serial, `c=${concurrency} pageSize=${pageSize}`)
      })
    }
  }

  it('returns whole, correct entries (size, etag, date, storage class)', async () => {
    const entries = new Map<string, { size: number; etag: string; lastModified: Date | undefined; storageClass: string }>()
    for await (const page of listPartitioned(bucket(), { concurrency: 4 })) for (const o of page.objects) entries.set(o.key, o)
    const long = seeded.find((k) => utf8(k) === 1024 && /\u{1F600}/u.test(k))!
    const e = entries.get(long)!
    expect(e.size).toBe(0)
    expect(e.etag).toBe('"d41d8cd98f00b204e9800998ecf8427e"')
    expect(e.storageClass).toBe('STANDARD')
    expect(Math.abs(e.lastModified!.getTime() - Date.now())).toBeLessThan(30 * 60_000)
  })

  for (const concurrency of [4, 16]) {
    it(`ordered: true yields the serial order exactly (concurrency ${concurrency})`, async () => {
      const got = await keysOf(listPartitioned(bucket(), { concurrency, pageSize: 100, ordered: true }))
      expect(got.length).toBe(serial.length)
      const firstDifference = got.findIndex((k, i) => k !== serial[i])
      expect(firstDifference).toBe(-1)
    })
  }

  it('lists only the keys under a prefix (the hot one, and one with no keys)', async () => {
    const hot = await keysOf(listPartitioned(bucket(), { prefix: 'hot/', concurrency: 8, pageSize: 200 }))
    expectSameSet(
      hot,
      serial.filter((k) => k.startsWith('hot/')),
      'hot/',
    )
    const unicode = await keysOf(listPartitioned(bucket(), { prefix: '\u{1F600}/', concurrency: 8, pageSize: 10, ordered: true }))
    expect(unicode).toEqual(serial.filter((k) => k.startsWith('\u{1F600}/')))
    expect(await keysOf(listPartitioned(bucket(), { prefix: 'nothing-here/', concurrency: 8 }))).toEqual([])
  })

  it('splits a hot range while listing it and reports progress', async () => {
    const progress: ListProgress[] = []
    const got = await keysOf(listPartitioned(bucket(), { prefix: 'hot/', concurrency: 8, pageSize: 100, onProgress: (p) => progress.push(p) }))
    const last = progress.at(-1)!
    expect(last.keys).toBe(got.length)
    expect(last.rangesDone).toBe(last.rangesTotal)
    // 'hot/' holds keys without a further '/', so discovery finds no split points: every range
    // beyond the first was split off while listing.
    expect(last.rangesTotal).toBeGreaterThan(4)
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.keys).toBeGreaterThanOrEqual(progress[i - 1]!.keys)
  })

  for (const prefix of ['', 'hot/']) {
    it(`the listing's own split points partition the key space: at every page, the keys yielded so far and the keys inside the checkpoint's ranges are every key, each once (prefix '${prefix}')`, async () => {
      // The ranges are the ones listPartitioned itself built (its split points and the bounds it
      // gave both halves), read from checkpoint(); nothing here rebuilds a boundary.
      const all = serial.filter((k) => k.startsWith(prefix))
      const listing = listPartitioned(bucket(), { prefix, concurrency: 8, pageSize: 100 })
      const yielded = new Set<string>()
      const bounds = new Set<string>()
      let checked = 0
      for await (const page of listing) {
        for (const o of page.objects) yielded.add(o.key)
        const { ranges } = listing.checkpoint()
        for (const r of ranges) if (r.endBefore !== undefined) bounds.add(r.endBefore)
        const inside = (k: string) =>
          ranges.filter(
            (r) => (r.startAfter === undefined || compareKeys(k, r.startAfter) > 0) && (r.endBefore === undefined || compareKeys(k, r.endBefore) < 0),
          ).length
        const wrong = all.filter((k) => Number(yielded.has(k)) + inside(k) !== 1)
        expect(
          wrong.slice(0, 5).map((k) => [k, yielded.has(k), inside(k)]),
          `page ${checked + 1}`,
        ).toEqual([])
        checked++
      }
      expect(yielded.size).toBe(all.length)
      expect(checked).toBeGreaterThan(20)
      if (prefix === 'hot/') {
        // Under the hot prefix the listing splits at keys that exist: the case a bound one
        // character short would lose.
        const splitAtKey = [...bounds].filter((b) => b.endsWith('\u0000') && yielded.has(b.slice(0, -1)))
        expect(splitAtKey.length).toBeGreaterThan(0)
      }
    })
  }

  for (const ordered of [false, true]) {
    it(`resumes from a JSON checkpoint with exactly the remainder (ordered: ${ordered})`, async () => {
      const b = bucket()
      const first: string[] = []
      let saved = ''
      const listing = listPartitioned(b, { concurrency: 4, pageSize: 100, ordered })
      let pages = 0
      for await (const page of listing) {
        for (const o of page.objects) first.push(o.key)
        saved = JSON.stringify(listing.checkpoint())
        if (++pages === 25) break
      }
      const checkpoint = JSON.parse(saved) as ListCheckpoint
      expect(checkpoint.ranges.length).toBeGreaterThan(0)
      const rest = await keysOf(listPartitioned(b, { concurrency: 4, pageSize: 100, ordered, resume: checkpoint }))
      expect(rest.filter((k) => first.includes(k))).toEqual([])
      expectSameSet([...first, ...rest], serial, 'first + resumed')
      if (ordered) expect([...first, ...rest]).toEqual(serial)
    })
  }

  it('resumes a resumed listing, and a finished listing resumes to nothing', async () => {
    const b = bucket()
    const seen: string[] = []
    let checkpoint: ListCheckpoint | undefined
    // Stop and resume three times, at different concurrency.
    for (const concurrency of [2, 8, 3]) {
      const listing = listPartitioned(b, { concurrency, pageSize: 150, ...(checkpoint ? { resume: checkpoint } : {}) })
      let pages = 0
      for await (const page of listing) {
        for (const o of page.objects) seen.push(o.key)
        if (++pages === 10) break
      }
      checkpoint = JSON.parse(JSON.stringify(listing.checkpoint())) as ListCheckpoint
    }
    const listing = listPartitioned(b, { concurrency: 16, resume: checkpoint! })
    seen.push(...(await keysOf(listing)))
    expectSameSet(seen, serial, 'resumed three times')
    const done = listing.checkpoint()
    expect(done.ranges).toEqual([])
    expect(await keysOf(listPartitioned(b, { resume: done }))).toEqual([])
  })

  it('rejects a checkpoint of another bucket or prefix, or a malformed one', () => {
    const b = bucket()
    const cp: ListCheckpoint = { version: 1, bucket: b.name, prefix: '', ranges: [{}] }
    expect(() => listPartitioned(b, { resume: { ...cp, bucket: 'other-bucket' } })).toThrow(InvalidArgumentError)
    expect(() => listPartitioned(b, { prefix: 'hot/', resume: cp })).toThrow(/prefix/)
    expect(() => listPartitioned(b, { resume: { ...cp, ranges: [{ endBefore: 'b' }, { endBefore: 'c' }] } })).toThrow(/no startAfter/)
    expect(() => listPartitioned(b, { resume: { ...cp, ranges: [{ startAfter: 'b', endBefore: 'c' }, { startAfter: 'a' }] } })).toThrow(/key order/)
    expect(() => listPartitioned(b, { resume: { version: 2 } as unknown as ListCheckpoint })).toThrow(InvalidArgumentError)
  })

  it('validates options before any request', () => {
    const b = bucket()
    expect(() => listPartitioned(b, { concurrency: 0 })).toThrow('Expected concurrency to be an integer >= 1, got 0')
    expect(() => listPartitioned(b, { pageSize: 1001 })).toThrow(InvalidArgumentError)
    expect(() => listPartitioned(b, { prefix: 'x'.repeat(1025) })).toThrow(InvalidArgumentError)
  })

  it('aborts the requests in flight when the consumer breaks early', async () => {
    // Requests are counted by the S3Client's middleware: send them through it.
    const b = new Bucket(bucket().name, s3Options({ transport: 'sdk' }))
    const counter = countRequests(b)
    try {
      const listing = listPartitioned(b, { concurrency: 16, pageSize: 50 })
      for await (const page of listing) {
        expect(page.objects.length).toBeGreaterThan(0)
        break
      }
      // Everything in flight settles at once (aborted), and nothing new starts.
      await waitUntil(() => counter.inFlight === 0, 'no request in flight after the break', 2000)
      const started = counter.started
      await new Promise((r) => setTimeout(r, 300))
      expect(counter.started).toBe(started)
      expect(counter.aborted).toBeGreaterThan(0)
    } finally {
      counter.remove()
    }
  })

  it('stops with AbortError when its signal aborts', async () => {
    const b = bucket()
    const controller = new AbortController()
    const seen: string[] = []
    const err = await (async () => {
      for await (const page of listPartitioned(b, { concurrency: 8, pageSize: 100, signal: controller.signal })) {
        seen.push(...page.objects.map((o) => o.key))
        controller.abort()
      }
    })().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AbortError)
    expect(seen.length).toBeLessThan(serial.length)
    await expect(keysOf(listPartitioned(b, { signal: AbortSignal.abort() }))).rejects.toBeInstanceOf(AbortError)
  })
})

describe('split points', () => {
  // That the listing's bounds around these points partition the keys is checked on the listing's
  // own ranges (checkpoint) above.
  it('always fall strictly inside the range (after the cursor, the split-off bound before the end) and are valid UTF-16', () => {
    const shape = new KeyShape()
    const alphabet = ['a', 'b', '/', '0', '9', '\u00e9', '\uFF21', '\u{1F600}', '\u{10FFFD}', '~']
    let seed = 42
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const randomKey = () => Array.from({ length: 1 + rand(12) }, () => alphabet[rand(alphabet.length)]).join('')
    const keys = [...new Set(Array.from({ length: 3000 }, randomKey))].sort(compareKeys)
    for (const k of keys) shape.addKey(k)
    let splits = 0
    for (let trial = 0; trial < 300; trial++) {
      const i = rand(keys.length - 200)
      const sample = { first: keys[i]!, last: keys[i + 100]!, n: 101 }
      const cursor = keys[i + 100]!
      const end = trial % 3 === 0 ? undefined : keys[i + 101 + rand(keys.length - i - 101)]
      const plan = planSplit(sample, cursor, end, '', shape, 10)
      if (plan === undefined) continue
      splits++
      expect(compareKeys(plan.at, cursor)).toBeGreaterThan(0)
      if (end !== undefined) expect(compareKeys(`${plan.at}\u0000`, end)).toBeLessThan(0)
      expect(plan.at).toBe(Buffer.from(plan.at, 'utf8').toString('utf8')) // valid UTF-16: no lone surrogates
    }
    expect(splits).toBeGreaterThan(50)
  })
})

function countRequests(b: Bucket): { started: number; inFlight: number; aborted: number; remove(): void } {
  const state = { started: 0, inFlight: 0, aborted: 0, remove: () => {} }
  const name = `count-${Math.random()}`
  b.client.middlewareStack.add(
    (next) => async (args) => {
      state.started++
      state.inFlight++
      try {
        return await next(args)
      } catch (err) {
        if ((err as Error).name === 'AbortError') state.aborted++
        throw err
      } finally {
        state.inFlight--
      }
    },
    { step: 'finalizeRequest', name },
  )
  state.remove = () => void b.client.middlewareStack.remove(name)
  return state
}
