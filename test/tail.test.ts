import { randomBytes, randomInt } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import zlib from 'node:zlib'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { vi, afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Bucket } from '../src/bucket.js'
import { InvalidArgumentError, NoSuchKeyError } from '../src/errors.js'
import { createCompressor } from '../src/compression.js'
import { createLogStream } from '../src/sinks/rotating.js'
import { isTailMarker, lines, tail, type TailMarker, type TailObject, type TailReset } from '../src/stages/tail/index.js'
import { FaultProxy } from './support/proxy.js'
import { s3Options, useBucket } from './support/s3.js'
import { waitUntil } from './support/wait.js'

// Every test here waits on events with bounded waits; a tail that never delivers fails here, not after the suite default of 120 s.
vi.setConfig({ testTimeout: 30_000 })

async function compress(kind: 'gzip' | 'zstd', data: Buffer): Promise<Buffer> {
  const c = createCompressor(kind, 3)
  const out: Buffer[] = []
  c.on('data', (b: Buffer) => out.push(b))
  const done = new Promise((resolve, reject) => c.on('end', resolve).on('error', reject))
  c.end(data)
  await done
  return Buffer.concat(out)
}

async function* chunks<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of source) out.push(item)
  return out
}

describe('tail', () => {
  const bucket = useBucket('tail')

  it('yields exactly the appended bytes of an object that is put again, bigger, every 200 ms', async () => {
    const b = bucket()
    const key = 'grow/data.bin'
    let content = randomBytes(1000)
    await b.put(content, key)
    const controller = new AbortController()
    const t = b.tail(key, { from: content.length, pollMs: 50, markers: true, signal: controller.signal })
    const received: Buffer[] = []
    const markers: TailMarker[] = []
    let receivedBytes = 0
    let expected = 0
    let writerDone = false
    const reading = (async () => {
      for await (const item of t) {
        if (isTailMarker(item)) markers.push(item)
        else {
          received.push(item)
          receivedBytes += item.length
        }
        if (writerDone && receivedBytes >= expected) controller.abort()
      }
    })()
    const appended: Buffer[] = []
    for (let i = 0; i < 12; i++) {
      await sleep(200)
      const more = randomBytes(randomInt(1, 5000))
      appended.push(more)
      content = Buffer.concat([content, more])
      await b.put(content, key)
    }
    expected = Buffer.concat(appended).length
    writerDone = true
    const deadline = setTimeout(() => controller.abort(), 5000)
    if (receivedBytes >= expected) controller.abort()
    await reading
    clearTimeout(deadline)
    expect(markers).toEqual([])
    expect(Buffer.concat(received).equals(Buffer.concat(appended))).toBe(true)
    // It followed as the object grew, not in one read at the end.
    expect(received.length).toBeGreaterThanOrEqual(6)
  })

  it("from 'end' skips what is there; a byte offset (or negative, from the end) starts there", async () => {
    const b = bucket()
    const key = 'offsets.txt'
    await b.put('0123456789', key, { literal: true })
    for (const [from, first] of [
      [4, '456789'],
      [-3, '789'],
      ['start', '0123456789'],
    ] as const) {
      for await (const chunk of b.tail(key, { from, pollMs: 20 })) {
        expect(chunk.toString(), String(from)).toBe(first)
        break
      }
    }
    const t = b.tail(key, { pollMs: 20 })[Symbol.asyncIterator]()
    const next = t.next()
    await sleep(300) // the first HEAD (size 10) has been made
    await b.put('0123456789abc', key, { literal: true })
    expect((await next).value.toString()).toBe('abc')
    await t.return(undefined)
  })

  it('starts over and says so when the object shrinks, is replaced at the same size, or is recreated', async () => {
    const b = bucket()
    const key = 'replaced.log'
    await b.put('first\n', key, { literal: true })
    const t = b.tail(key, { from: 'start', pollMs: 30, markers: true, permitMissing: true })
    const events: TailReset[] = []
    t.on('reset', (r) => events.push(r))
    const it = t[Symbol.asyncIterator]()
    const next = async () => {
      const r = await Promise.race([it.next(), sleep(5000).then(() => Promise.reject(new Error('nothing came from the tail within 5 s')))])
      if (r.done) throw new Error('the tail ended')
      return isTailMarker(r.value) ? r.value : r.value.toString()
    }
    expect(await next()).toBe('first\n')
    await b.put('2nd\n', key, { literal: true })
    expect(await next()).toMatchObject({ marker: 'reset', key, reason: 'shrunk', previousSize: 6, size: 4 })
    expect(await next()).toBe('2nd\n')
    await b.put('3rd\n', key, { literal: true })
    expect(await next()).toMatchObject({ marker: 'reset', reason: 'replaced', previousSize: 4, size: 4 })
    expect(await next()).toBe('3rd\n')
    await b.rm(key)
    const pending = next()
    await sleep(200) // it polls the missing object and waits
    await b.put('4th!\n', key, { literal: true })
    expect(await pending).toMatchObject({ marker: 'reset', reason: 'recreated', previousSize: 4, size: 5 })
    expect(await next()).toBe('4th!\n')
    await b.put('4th!\nmore\n', key, { literal: true })
    expect(await next()).toBe('more\n')
    await it.return(undefined)
    expect(events.map((e) => e.reason)).toEqual(['shrunk', 'replaced', 'recreated'])
  })

  it('fails with NoSuchKeyError for a missing object unless permitMissing, then waits for it', async () => {
    const b = bucket()
    const err = await collect(b.tail('missing/key', { pollMs: 20 })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NoSuchKeyError)
    expect((err as NoSuchKeyError).key).toBe('missing/key')
    expect((err as Error).message).toContain('permitMissing: true')
    // A prefix (trailing slash) is not an object: the hint says how to follow one.
    const prefixErr = await collect(b.tail('missing/', { pollMs: 20 })).catch((e: unknown) => e)
    expect(prefixErr).toBeInstanceOf(NoSuchKeyError)
    expect((prefixErr as Error).message).toContain("follow: 'rotation'")
    const it = b.tail('later/key', { pollMs: 20, permitMissing: true })[Symbol.asyncIterator]()
    const next = it.next()
    await sleep(200)
    await b.put('now it exists\n', 'later/key', { literal: true })
    expect((await next).value.toString()).toBe('now it exists\n')
    await it.return(undefined)
  })

  it('stops cleanly, without an error, when the signal aborts mid-poll or was already aborted', async () => {
    const b = bucket()
    await b.put('x', 'quiet.txt', { literal: true })
    const controller = new AbortController()
    const started = Date.now()
    setTimeout(() => controller.abort(), 200)
    expect(await collect(b.tail('quiet.txt', { pollMs: 10_000, signal: controller.signal }))).toEqual([])
    expect(Date.now() - started).toBeLessThan(2000)
    expect(await collect(b.tail('quiet.txt', { from: 'start', signal: AbortSignal.abort() }))).toEqual([])
  })

  it('follows a rotating log prefix and yields every line, in order', async () => {
    const b = bucket()
    const prefix = 'rotlog/'
    // An object from before the tail started: from 'end' skips it, from 'start' reads it.
    await b.put('old line\n', `${prefix}00000000T000000.000Z-000000.log`, { literal: true })
    const controller = new AbortController()
    const fromStart = b.tail(prefix, { follow: 'rotation', from: 'start', pollMs: 100, signal: controller.signal })
    const fromEnd = b.tail(prefix, { follow: 'rotation', pollMs: 100, signal: controller.signal })
    const objects: TailObject[] = []
    fromStart.on('object', (o) => objects.push(o))
    const seen: string[] = []
    const seenFromEnd: string[] = []
    let firstSeenAt = 0
    const reading = (async () => {
      for await (const line of fromStart.lines()) {
        firstSeenAt ||= Date.now()
        seen.push(line)
      }
    })()
    const readingFromEnd = (async () => {
      for await (const line of fromEnd.lines()) seenFromEnd.push(line)
    })()
    await sleep(300)
    const log = createLogStream(b, prefix, { rotateMs: 500 })
    const written: string[] = []
    const started = Date.now()
    for (let i = 0; Date.now() - started < 3000; i++) {
      const line = `line ${i} ${randomBytes(randomInt(1, 30)).toString('hex')}`
      written.push(line)
      log.write(`${line}\n`)
      await sleep(100)
    }
    log.end()
    const result = await log.done
    const finishedAt = Date.now()
    const deadline = Date.now() + 5000
    while ((seen.length < written.length + 1 || seenFromEnd.length < written.length) && Date.now() < deadline) await sleep(50)
    controller.abort()
    await Promise.all([reading, readingFromEnd])
    expect(seen).toEqual(['old line', ...written])
    expect(seenFromEnd).toEqual(written)
    expect(objects.length).toBe(result.objects + 1)
    expect(objects.map((o) => o.key)).toEqual(await b.list(prefix).toArray())
    // Lines arrived while the writer was still writing.
    expect(firstSeenAt).toBeLessThan(finishedAt - 1000)
  })

  it('rejects bad options before any request', () => {
    const b = bucket()
    const cases: [string, object, string][] = [
      ['k', { from: 'middle' }, 'from'],
      ['k', { from: 1.5 }, 'from'],
      ['k', { pollMs: 0 }, 'pollMs'],
      ['k', { follow: 'sideways' }, 'follow'],
      ['p/', { follow: 'rotation', from: 10 }, 'from'],
      ['', {}, 'key'],
    ]
    for (const [target, opts, argument] of cases) {
      const err = (() => {
        try {
          tail(b, target, opts)
        } catch (e) {
          return e
        }
      })()
      expect(err, argument).toBeInstanceOf(InvalidArgumentError)
      expect((err as InvalidArgumentError).argument, JSON.stringify(opts)).toBe(argument)
    }
  })
})

describe('tail without HEAD requests', () => {
  const direct = useBucket('tailget')
  let proxy: FaultProxy
  let b: Bucket
  beforeAll(async () => {
    proxy = await FaultProxy.start(s3Options().endpoint!)
    b = new Bucket(direct().name, s3Options({ endpoint: proxy.url }))
  })
  afterAll(async () => {
    await proxy?.close()
  })

  it('polls with one ranged GET from the last byte read (If-None-Match): 304 when nothing changed, the new bytes when it grew', async () => {
    const key = 'polled.log'
    await direct().put('first line\n', key, { literal: true })
    const firstEtag = (await direct().head(key)).etag
    proxy.clearRequests()
    const it = b.tail(key, { pollMs: 30 })[Symbol.asyncIterator]()
    const next = it.next()
    // Let it poll a few times with nothing new.
    await waitUntil(() => proxy.of('GetObject', (r) => r.key === key && r.status === 304).length >= 3, 'three 304 polls')
    await direct().put('first line\nsecond line\n', key, { literal: true })
    expect((await next).value.toString()).toBe('second line\n')
    await it.return(undefined)
    const gets = proxy.of('GetObject', (r) => r.key === key)
    expect(proxy.of('HeadObject', (r) => r.key === key)).toEqual([])
    // The first GET finds the end (the last byte), every poll after it reads from offset - 1.
    expect(gets[0]!.headers.range).toBe('bytes=-1')
    // Every poll up to the one that found the new bytes names the version it has read.
    const grew = gets.findIndex((g, i) => i > 0 && g.status === 206)
    expect(grew).toBeGreaterThan(3)
    for (const g of gets.slice(1)) expect(g.headers.range).toBe('bytes=10-')
    for (const g of gets.slice(1, grew + 1)) expect(g.headers['if-none-match']).toBe(firstEtag)
    expect(gets.filter((g) => g.status === 206).length).toBe(2)
    expect(gets.filter((g) => g.status === 304).length).toBe(gets.length - 2)
  })

  it('starts over when the object grew but the byte before the read position changed', async () => {
    const key = 'rewritten.log'
    await direct().put('aaaa\n', key, { literal: true })
    const t = b.tail(key, { from: 'start', pollMs: 30, markers: true })
    const it = t[Symbol.asyncIterator]()
    const read = async () => {
      const r = await it.next()
      return isTailMarker(r.value) ? r.value : r.value!.toString()
    }
    expect(await read()).toBe('aaaa\n')
    await direct().put('bbbbX\nmore\n', key, { literal: true })
    expect(await read()).toMatchObject({ marker: 'reset', reason: 'replaced', previousSize: 5, size: 11 })
    expect(await read()).toBe('bbbbX\nmore\n')
    await it.return(undefined)
  })

  it('reads gzip and zstd objects decompressed (from their first byte), and refuses to start inside one', async () => {
    const text = `${Array.from({ length: 2000 }, (_, i) => `compressed line ${i}`).join('\n')}\n`
    for (const kind of ['gzip', 'zstd'] as const) {
      const key = `whole.log.${kind === 'gzip' ? 'gz' : 'zst'}`
      await direct().put(await compress(kind, Buffer.from(text)), key)
      const out: Buffer[] = []
      const controller = new AbortController()
      for await (const chunk of b.tail(key, { from: 'start', pollMs: 30, signal: controller.signal })) {
        out.push(chunk)
        if (Buffer.concat(out).length >= text.length) controller.abort()
      }
      expect(Buffer.concat(out).toString(), kind).toBe(text)
      expect(() => b.tail(key, { from: 'end' }), kind).toThrow(InvalidArgumentError)
      // decompress: false gives the stored bytes.
      const raw: Buffer[] = []
      for await (const chunk of b.tail(key, { from: 'start', decompress: false, pollMs: 30, signal: AbortSignal.timeout(2000) })) {
        raw.push(chunk)
        break
      }
      expect(Buffer.concat(raw)[0]).toBe(kind === 'gzip' ? 0x1f : 0x28)
    }
    // Told by Content-Encoding alone (no suffix): refused when the tail starts past byte 0.
    await direct().client.send(new PutObjectCommand({ Bucket: direct().name, Key: 'encoded.log', Body: zlib.gzipSync(text), ContentEncoding: 'gzip' }))
    const err = await (async () => {
      for await (const _ of b.tail('encoded.log', { from: 5, pollMs: 30 })) return undefined
    })().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidArgumentError)
  })
})

describe('lines', () => {
  it('decompresses gzip and zstd bytes, told by their first bytes, part by part between object markers', async () => {
    const a = 'alpha\nbeta\n'
    const z = 'gamma\ndelta\n'
    const gz = zlib.gzipSync(a)
    const zs = await compress('zstd', Buffer.from(z))
    const object: TailObject = { marker: 'object', key: 'k', size: 1, etag: '"e"' }
    // Split inside the magic numbers too.
    const input = [gz.subarray(0, 1), gz.subarray(1, 5), gz.subarray(5), object, zs.subarray(0, 2), zs.subarray(2), object, Buffer.from('plain\n')]
    expect(await collect(lines(chunks<Buffer | TailMarker>(input)))).toEqual(['alpha', 'beta', object, 'gamma', 'delta', object, 'plain'])
    expect(await collect(lines(chunks([gz]), { decompress: false }))).not.toContain('alpha')
  })

  it('joins lines split across chunks, even inside a multi-byte character, and strips CRLF', async () => {
    const euro = Buffer.from('€', 'utf8') // 3 bytes
    const input = [
      Buffer.from('ab'),
      'c\nde',
      Buffer.concat([Buffer.from('f\n\nprice: 5'), euro.subarray(0, 1)]),
      euro.subarray(1, 2),
      Buffer.concat([euro.subarray(2), Buffer.from('\r\nlast')]),
    ]
    expect(await collect(lines(chunks(input)))).toEqual(['abc', 'def', '', 'price: 5€', 'last'])
    expect(await collect(lines(chunks(['one\n'])))).toEqual(['one'])
    expect(await collect(lines(chunks<string>([])))).toEqual([])
  })

  it('drops a partial line at a reset marker and ends one at an object marker, passing markers through', async () => {
    const reset: TailReset = { marker: 'reset', key: 'k', reason: 'shrunk', previousSize: 9, size: 3, etag: '"y"' }
    const object: TailObject = { marker: 'object', key: 'k2', size: 4, etag: '"x"' }
    const out = await collect(lines(chunks<Buffer | TailMarker>([Buffer.from('a\npart'), reset, Buffer.from('b\nc'), object, Buffer.from('d\n')])))
    expect(out).toEqual(['a', reset, 'b', 'c', object, 'd'])
  })
})
