import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { vi, afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AbortError, Bucket, IntegrityError, InvalidArgumentError } from '../src/index.js'
import { FaultProxy } from './support/proxy.js'
import { ScriptedProxy, type SeenRequest } from './support/scripted-proxy.js'
import { s3Options, useBucket } from './support/s3.js'
import { waitUntil } from './support/wait.js'

// Every test here waits on events with bounded waits; a download that stalls fails here, not after the suite default of 120 s.
vi.setConfig({ testTimeout: 60_000 })

const MiB = 1024 * 1024
const P = MiB
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** What a client sent, seen from SDK middleware. */
interface Sent {
  command: string
  range?: string
  ifMatch?: string
  /** Bytes the Range asks for (from `bytes=a-b`), else undefined. */
  bytes?: number
  settled: boolean
}

/**
 * A second Bucket on the same bucket name whose client records every command (and when its
 * response body closes). `before` may delay or act before a request goes out.
 */
function recorded(name: string, extra: { endpoint?: string; before?: (s: Sent) => Promise<void> } = {}) {
  // The record is taken from the S3Client's middleware, so this bucket's requests go through it.
  const b = new Bucket(name, s3Options({ transport: 'sdk', ...(extra.endpoint ? { endpoint: extra.endpoint } : {}) }))
  const sent: Sent[] = []
  b.client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Range?: string; IfMatch?: string }
      const s: Sent = { command: String(context.commandName), settled: false }
      if (input.Range !== undefined) s.range = input.Range
      if (input.IfMatch !== undefined) s.ifMatch = input.IfMatch
      const m = /^bytes=(\d+)-(\d+)$/.exec(input.Range ?? '')
      if (m) s.bytes = Number(m[2]) - Number(m[1]) + 1
      sent.push(s)
      if (extra.before) await extra.before(s)
      try {
        const out = await next(args)
        const body = (out.output as { Body?: Readable }).Body
        if (body && typeof body.once === 'function' && !body.destroyed) body.once('close', () => (s.settled = true))
        else s.settled = true
        return out
      } catch (err) {
        s.settled = true
        throw err
      }
    },
    { step: 'initialize', name: 'record' },
  )
  const gets = () => sent.filter((s) => s.command === 'GetObjectCommand')
  const heads = () => sent.filter((s) => s.command === 'HeadObjectCommand')
  return { b, sent, gets, heads }
}

async function streamed(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of r) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

describe('parallel ranged downloads', () => {
  const bucket = useBucket('getpar')
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bf-getpar-'))
  })

  const sizes = [0, 1, P - 1, P, P + 1, 3.5 * P]
  for (const size of sizes) {
    it(`downloads ${size} bytes byte-exact to a file and as a stream, in ceil(size / partSize) GETs and no HEAD`, async () => {
      const data = randomBytes(size)
      const key = `sizes/${size}`
      await bucket().put(data, key)
      const { b, gets, heads } = recorded(bucket().name)
      const out = join(dir, 'sizes', `${size}.bin`)
      await b.get(key, out, { partSize: P, concurrency: 3 })
      expect(sha(await readFile(out))).toBe(sha(data))
      const expectedGets = Math.max(1, Math.ceil(size / P))
      expect(gets()).toHaveLength(expectedGets)
      expect(heads()).toHaveLength(0)
      // Every request is ranged; all but the first are pinned to the ETag.
      expect(gets().every((g) => g.range !== undefined)).toBe(true)
      expect(
        gets()
          .slice(1)
          .every((g) => g.ifMatch !== undefined),
      ).toBe(true)
      expect(gets()[0]!.range).toBe(`bytes=0-${P - 1}`)

      const viaStream = await streamed(b.stream(key, { partSize: P, concurrency: 3 }))
      expect(viaStream.length).toBe(size)
      expect(sha(viaStream)).toBe(sha(data))
      expect(gets()).toHaveLength(2 * expectedGets)
      expect(heads()).toHaveLength(0)
    })
  }

  it('keeps Python-slice ranges (negative, suffix) working over a multi-part object', async () => {
    const size = 3.5 * P + 17
    const data = randomBytes(size)
    await bucket().put(data, 'ranges/big')
    const { b, sent, gets, heads } = recorded(bucket().name)
    const cases: [{ start?: number; end?: number }, number, number][] = [
      [{ start: 100, end: 3 * P + 5 }, 100, 3 * P + 5],
      [{ start: P, end: -P }, P, size - P],
      [{ start: 0, end: -1 }, 0, size - 1],
      [{ start: -100 }, size - 100, size],
      [{ start: -(2 * P + 3) }, size - (2 * P + 3), size],
      [{ start: -(10 * P) }, 0, size], // a suffix longer than the object is all of it
      [{ start: 2 * P }, 2 * P, size],
      [{ start: 5, end: 5 }, 5, 5],
      [{ end: P + 1 }, 0, P + 1],
    ]
    for (const [range, start, end] of cases) {
      const want = sha(data.subarray(start, end))
      const out = join(dir, 'ranges', 'out.bin')
      await b.get('ranges/big', out, { ...range, partSize: P, concurrency: 2 })
      expect(sha(await readFile(out)), `file ${JSON.stringify(range)}`).toBe(want)
      expect(sha(await streamed(b.stream('ranges/big', { ...range, partSize: P, concurrency: 2 }))), `stream ${JSON.stringify(range)}`).toBe(want)
    }
    // A slice of 3 MiB - 95 bytes took no HEAD (the first answer's Content-Range tells the size)
    // and 3 ranged GETs of at most partSize, all but the first pinned to the ETag.
    sent.length = 0
    await b.get('ranges/big', join(dir, 'ranges', 'slice.bin'), { start: 100, end: 3 * P + 5, partSize: P, concurrency: 2 })
    expect(heads()).toHaveLength(0)
    expect(gets()).toHaveLength(3)
    expect(gets().every((g) => g.bytes !== undefined && g.bytes <= P)).toBe(true)
    expect(
      gets()
        .slice(1)
        .every((g) => g.ifMatch !== undefined),
    ).toBe(true)
  })

  it('validates partSize and concurrency with InvalidArgumentError naming the option', async () => {
    const b = bucket()
    for (const [opts, argument] of [
      [{ partSize: MiB - 1 }, 'partSize'],
      [{ partSize: MiB + 0.5 }, 'partSize'],
      [{ concurrency: 0 }, 'concurrency'],
      [{ concurrency: 2.5 }, 'concurrency'],
    ] as const) {
      const e1 = await b.get('x', join(dir, 'never'), opts).catch((e: unknown) => e)
      expect(e1, JSON.stringify(opts)).toBeInstanceOf(InvalidArgumentError)
      expect((e1 as InvalidArgumentError).argument).toBe(argument)
      let e2: unknown
      try {
        b.stream('x', opts)
      } catch (e) {
        e2 = e
      }
      expect(e2, JSON.stringify(opts)).toBeInstanceOf(InvalidArgumentError)
      expect((e2 as InvalidArgumentError).argument).toBe(argument)
    }
    await expect(b.get('x', join(dir, 'never'), { partSize: 1000 })).rejects.toThrow(
      /Expected partSize to be an integer between 1048576 and 1073741824, got 1000/,
    )
  })

  it('rejects a short ranged reply (a 206 holding fewer bytes than the range asked) with IntegrityError, to a file and as a stream', async () => {
    const key = 'short/range'
    const data = randomBytes(3 * P)
    await bucket().put(data, key)
    const { etag } = await bucket().head(key)
    const proxy = await ScriptedProxy.start(s3Options().endpoint!)
    try {
      // The second part's range is answered, every time it is asked, with a well-formed 206 for
      // its first half only: honest headers, honest bytes, but not the bytes asked for.
      const asked = `bytes=${P}-${2 * P - 1}`
      const half = data.subarray(P, P + P / 2)
      proxy.script({
        match: (r) => r.method === 'GET' && r.path.endsWith(`/${key}`) && r.headers.range === asked,
        action: {
          respond: {
            status: 206,
            headers: {
              'content-range': `bytes ${P}-${P + P / 2 - 1}/${3 * P}`,
              'content-type': 'application/octet-stream',
              etag,
              'accept-ranges': 'bytes',
              'last-modified': new Date().toUTCString(),
            },
            body: half,
          },
        },
      })
      const b = new Bucket(bucket().name, s3Options({ endpoint: proxy.url, maxAttempts: 2 }))
      const sub = await mkdtemp(join(dir, 'short-'))
      const err = await b.get(key, join(sub, 'out.bin'), { partSize: P, concurrency: 3 }).then(
        () => 'downloaded',
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(IntegrityError)
      expect((err as IntegrityError).key).toBe(key)
      expect((err as Error).message).toContain(`to ${asked}`)
      expect(await readdir(sub)).toEqual([])
      // The short answer was never taken as the part: no request continued it from its end.
      const continued = (r: SeenRequest) => r.headers.range === `bytes=${P + P / 2}-${2 * P - 1}`
      expect(proxy.seen(continued)).toEqual([])
      const viaStream = await streamed(b.stream(key, { partSize: P, concurrency: 3 })).then(
        () => 'streamed',
        (e: unknown) => e,
      )
      expect(viaStream).toBeInstanceOf(IntegrityError)
      expect((viaStream as Error).message).toContain(`to ${asked}`)
      expect(proxy.seen(continued)).toEqual([])
      expect(proxy.seen((r) => r.headers.range === asked).length).toBeGreaterThanOrEqual(2)
    } finally {
      await proxy.close()
    }
  })

  it('never joins two versions: a replaced object is fetched again whole, or fails with IntegrityError leaving no file', async () => {
    const key = 'replaced/obj'
    const original = randomBytes(4 * P)
    await bucket().put(original, key)
    let replaced = 0
    let replaceEvery = false
    let latest = original
    const { b } = recorded(bucket().name, {
      before: async (s) => {
        // Replace the object before the first pinned range goes out (every time, or once).
        if (s.command === 'GetObjectCommand' && s.ifMatch !== undefined && (replaceEvery || replaced === 0) && s.range !== `bytes=0-${P - 1}`) {
          if (replaced++ === 0 || replaceEvery) {
            latest = randomBytes(4 * P)
            await bucket().put(latest, key)
          }
        }
      },
    })
    const sub = await mkdtemp(join(dir, 'replaced-'))
    // Replaced once: the download starts over and delivers the new version, whole.
    let attempts = 0
    await b.get(key, join(sub, 'out.bin'), { partSize: P, concurrency: 2, onVerified: (i) => (attempts = i.attempts) })
    expect(sha(await readFile(join(sub, 'out.bin')))).toBe(sha(latest))
    expect(attempts).toBe(2)
    await rm(join(sub, 'out.bin'))

    // Replaced every time: IntegrityError (412), and no file.
    replaceEvery = true
    const err = await b.get(key, join(sub, 'out.bin'), { partSize: P, concurrency: 2 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IntegrityError)
    expect((err as IntegrityError).statusCode).toBe(412)
    expect((err as IntegrityError).key).toBe(key)
    expect(await readdir(sub)).toEqual([])

    // A stream cannot start over (its bytes are handed out): IntegrityError.
    replaceEvery = false
    replaced = 0
    const e2 = await streamed(b.stream(key, { partSize: P, concurrency: 2 })).catch((e: unknown) => e)
    expect(e2).toBeInstanceOf(IntegrityError)
    expect((e2 as IntegrityError).statusCode).toBe(412)
  })

  describe('through a slow server', () => {
    let proxy: FaultProxy
    beforeAll(async () => {
      proxy = await FaultProxy.start(s3Options().endpoint!)
      // Ranges after the first part answer after 4 s.
      proxy.addRule({ match: (r) => r.op === 'GetObject' && /^bytes=[1-9]/.test(String(r.headers.range ?? '')), delayMs: 4000 })
    })
    afterAll(async () => {
      await proxy.close()
    })

    it('aborting the signal stops every request and leaves no file', async () => {
      await bucket().put(randomBytes(4 * P), 'slow/a')
      const { b, gets } = recorded(bucket().name, { endpoint: proxy.url })
      const sub = await mkdtemp(join(dir, 'abort-'))
      const controller = new AbortController()
      proxy.clearRequests()
      const pending = b.get('slow/a', join(sub, 'out.bin'), { partSize: P, concurrency: 3, signal: controller.signal }).catch((e: unknown) => e)
      // Abort once three ranges reached the server (two of them held back 4 s by the proxy).
      await waitUntil(() => proxy.of('GetObject', (r) => r.key === 'slow/a').length >= 3, 'three ranged GETs of slow/a at the proxy')
      controller.abort()
      const err = await pending
      expect(err).toBeInstanceOf(AbortError)
      // The download ended without waiting for the held-back answers: only the first was answered.
      expect(proxy.of('GetObject', (r) => r.key === 'slow/a' && r.respondedAt !== undefined)).toHaveLength(1)
      expect(gets().every((g) => g.settled)).toBe(true)
      expect(await readdir(sub)).toEqual([])
    })

    it('destroying the stream early aborts the requests in flight', async () => {
      await bucket().put(randomBytes(4 * P), 'slow/b')
      const { b, gets } = recorded(bucket().name, { endpoint: proxy.url })
      proxy.clearRequests()
      const stream = b.stream('slow/b', { partSize: P, concurrency: 3 })
      await new Promise<void>((resolve) => stream.once('readable', () => resolve()))
      await waitUntil(() => proxy.of('GetObject', (r) => r.key === 'slow/b').length >= 2, 'two ranged GETs of slow/b at the proxy')
      stream.destroy()
      // Every request settles, and not because its held-back answer (4 s) arrived.
      await waitUntil(() => gets().every((g) => g.settled), 'every GET of slow/b to settle after the stream was destroyed', 10_000, 20)
      expect(proxy.of('GetObject', (r) => r.key === 'slow/b' && r.respondedAt !== undefined)).toHaveLength(1)
    })
  })

  it('a slow reader holds at most concurrency parts: requested minus read stays within (concurrency + 1) x partSize', async () => {
    const size = 12 * P
    const data = randomBytes(size)
    await bucket().put(data, 'memory/big')
    const { b, gets } = recorded(bucket().name)
    const concurrency = 2
    const requested = () => gets().reduce((n, g) => n + (g.bytes ?? 0), 0)
    let read = 0
    let maxHeld = 0
    const hash = createHash('sha256')
    for await (const chunk of b.stream('memory/big', { partSize: P, concurrency })) {
      // Bytes asked of the server and not yet read include the chunk in hand.
      maxHeld = Math.max(maxHeld, requested() - read)
      hash.update(chunk as Buffer)
      read += (chunk as Buffer).length
      await sleep(40)
      maxHeld = Math.max(maxHeld, requested() - read + (chunk as Buffer).length)
    }
    expect(hash.digest('hex')).toBe(sha(data))
    expect(gets()).toHaveLength(12)
    // Read ahead happened (the reader was slow), but never more than the window.
    expect(maxHeld).toBeGreaterThanOrEqual(concurrency * P)
    expect(maxHeld).toBeLessThanOrEqual((concurrency + 1) * P)
  })
})
