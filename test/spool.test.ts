import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Bucket } from '../src/bucket.js'
import zlib from 'node:zlib'
import { BucketflowError, IntegrityError, InvalidArgumentError } from '../src/errors.js'
import { createLogStream, type LogSink, type LogStreamOptions, type StoredLogObject } from '../src/sinks/rotating.js'
import { segmentContent, SpoolLockedError } from '../src/sinks/spool.js'
import { FaultProxy } from './support/proxy.js'
import { s3Options, useBucket } from './support/s3.js'

const dirs: string[] = []
async function spoolDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'bucketflow-spool-'))
  dirs.push(d)
  return d
}

/** Write and wait for the write callback: the chunk is acknowledged (in the spool). */
function ack(log: LogSink, chunk: string): Promise<void> {
  return new Promise((resolve, reject) => log.write(chunk, (err) => (err ? reject(err) : resolve())))
}

async function segments(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort()
}

/** Every line stored under the prefix, object by object, in key order. */
async function storedLines(bucket: Bucket, prefix: string): Promise<string[][]> {
  const out: string[][] = []
  for (const key of await bucket.list(prefix).toArray()) {
    const text = await bucket.read(key)
    out.push(text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n'))
  }
  return out
}

const numbered = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `line ${String(from + i).padStart(5, '0')} ${'x'.repeat((from + i) % 23)}`)

describe('createLogStream with a disk spool', () => {
  const direct = useBucket('spool')
  let proxy: FaultProxy
  let bucket: Bucket
  beforeAll(async () => {
    proxy = await FaultProxy.start(s3Options().endpoint!)
    bucket = new Bucket(direct().name, s3Options({ endpoint: proxy.url }))
  })
  afterAll(async () => {
    await proxy?.close()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  const open = (prefix: string, dir: string, extra: LogStreamOptions = {}) => {
    const log = createLogStream(bucket, prefix, { spool: dir, rotateMs: 60_000, rotateBytes: 1000, fsync: 'always', ...extra })
    log.on('error', () => undefined)
    return log
  }

  it('writes every acknowledged chunk to the spool file before the callback, and removes each file once its object is stored', async () => {
    const dir = await spoolDir()
    const prefix = 'basic/'
    const log = open(prefix, dir)
    const written = numbered(0, 200)
    await ack(log, 'partial ')
    // Acknowledged, not yet a line: it is in the spool already.
    const [first] = await segments(dir)
    const pendingNow: Buffer[] = []
    for await (const piece of segmentContent(join(dir, first!), true)) pendingNow.push(piece)
    expect(Buffer.concat(pendingNow).toString()).toBe('partial ')
    await ack(log, `line\n${written.map((l) => `${l}\n`).join('')}`)
    log.end()
    const result = await log.done
    const lines = (await storedLines(direct(), prefix)).flat()
    expect(lines).toEqual(['partial line', ...written])
    expect(result.lines).toBe(written.length + 1)
    expect(await segments(dir)).toEqual([])
    // Every object says which spool segment it came from.
    const key = (await direct().list(prefix).toArray())[0]!
    expect((await direct().head(key)).metadata['bucketflow-spool']).toMatch(/^[0-9a-f]{16}\/00000001-0000000001\.seg$/)
  })

  it('a restarted stream finishes what a stopped one left (a sealed object not yet stored, an open one, a partial line), without storing anything twice', async () => {
    const dir = await spoolDir()
    const prefix = 'restart/'
    // Uploads get no answer: the first object is stored by the server, but its PUT never returns.
    proxy.clearRequests()
    proxy.addRule({ match: (r) => r.op === 'PutObject' && r.key.startsWith(prefix), delayMs: 60_000 })
    const first = open(prefix, dir)
    const stored: StoredLogObject[] = []
    first.on('object', (o: StoredLogObject) => stored.push(o))
    const written = numbered(0, 120)
    for (const l of written) await ack(first, `${l}\n`)
    await ack(first, 'no newline yet')
    // The first object reached the server (its answer is being held back).
    while ((await direct().list(prefix).toArray()).length === 0) await sleep(20)
    first.destroy()
    await first.done.catch(() => undefined)
    proxy.clearRules()
    expect(stored).toEqual([])
    const left = await segments(dir)
    expect(left.length).toBeGreaterThanOrEqual(3)

    proxy.clearRequests()
    const second = open(prefix, dir)
    const objects: StoredLogObject[] = []
    second.on('object', (o: StoredLogObject) => objects.push(o))
    second.end()
    const result = await second.done
    const keys = await direct().list(prefix).toArray()
    expect(keys.length).toBe(left.length)
    // The object found stored was not uploaded again.
    expect(proxy.of('PutObject', (r) => r.key === keys[0]).length).toBe(0)
    expect(proxy.of('HeadObject', (r) => r.key === keys[0]).length).toBe(1)
    expect(objects.map((o) => o.key)).toEqual(keys.slice(1))
    expect(objects.every((o) => o.recovered)).toBe(true)
    expect(result.recovered).toBe(left.length)
    const lines = await storedLines(direct(), prefix)
    expect(lines.flat()).toEqual([...written, 'no newline yet'])
    expect(await segments(dir)).toEqual([])
  })

  it('ignores a torn record at the end of a file (a crash in the middle of an append) and a file without a header', async () => {
    const dir = await spoolDir()
    const prefix = 'torn/'
    const first = open(prefix, dir, { rotateBytes: 100_000 })
    const written = numbered(0, 50)
    for (const l of written) await ack(first, `${l}\n`)
    first.destroy()
    await first.done.catch(() => undefined)
    const [seg] = await segments(dir)
    // Half a data record: its header promises more bytes than follow.
    const torn = Buffer.alloc(9 + 5)
    torn[0] = 0x44
    torn.writeUInt32LE(1000, 1)
    await appendFile(join(dir, seg!), Buffer.concat([torn, Buffer.from('line 99999 never acknowledged')]))
    // A record whose CRC does not match is the end too.
    await writeFile(join(dir, '00000001-0000000009.seg'), Buffer.from([0x48, 4, 0, 0, 0, 1, 2, 3, 4, 0x7b, 0x7d, 0x0a, 0x00]))
    const second = open(prefix, dir)
    second.end()
    await second.done
    expect((await storedLines(direct(), prefix)).flat()).toEqual(written)
    expect(await segments(dir)).toEqual([])
  })

  it('refuses an object at the key that did not come from this spool, and keeps the segment', async () => {
    const dir = await spoolDir()
    const prefix = 'conflict/'
    proxy.addRule({ match: (r) => r.op === 'PutObject' && r.key.startsWith(prefix), reset: true })
    const first = open(prefix, dir)
    const retried = new Promise((resolve) => first.once('retry', resolve))
    for (const l of numbered(0, 60)) await ack(first, `${l}\n`)
    await retried
    first.destroy()
    await first.done.catch(() => undefined)
    proxy.clearRules()
    const seg = (await segments(dir))[0]!
    const header = JSON.parse((await readFile(join(dir, seg))).subarray(9).toString().split('\n')[0]!) as { key: string }
    await direct().put('somebody else', header.key, { literal: true })
    const second = open(prefix, dir)
    second.end()
    const err = await second.done.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BucketflowError)
    expect((err as BucketflowError).code).toBe('KeyConflict')
    expect((err as BucketflowError).key).toBe(header.key)
    expect(await direct().read(header.key)).toBe('somebody else')
    expect(await segments(dir)).toContain(seg)
  })

  it("whenFull 'drop-newest' drops whole lines while the spool is full and counts them; the rest is stored", async () => {
    const dir = await spoolDir()
    const prefix = 'drop/'
    proxy.addRule({ match: (r) => r.op === 'PutObject' && r.key.startsWith(prefix), reset: true })
    const log = open(prefix, dir, { rotateBytes: 500, maxSpoolBytes: 3000, whenFull: 'drop-newest', fsync: 'never' })
    const drops: { bytes: number; lines: number }[] = []
    log.on('drop', (d: { bytes: number; lines: number }) => drops.push(d))
    const written = numbered(0, 400)
    const text = written.map((l) => `${l}\n`).join('')
    // Chunks that cut lines anywhere.
    for (let at = 0, n = 1; at < text.length; at += n, n = ((n * 7 + 13) % 97) + 1) await ack(log, text.slice(at, at + n))
    expect(log.spoolBytes).toBeLessThanOrEqual(3000 + 600) // + a segment header and the end of a line
    proxy.clearRules()
    log.end()
    const result = await log.done
    const stored = (await storedLines(direct(), prefix)).flat()
    expect(result.dropped.lines).toBeGreaterThan(0)
    expect(result.dropped.lines).toBe(drops.reduce((n, d) => n + d.lines, 0))
    expect(result.dropped.bytes).toBe(drops.reduce((n, d) => n + d.bytes, 0))
    // Every stored line is a whole written line, in order, and none is lost without being counted.
    const index = stored.map((l) => written.indexOf(l))
    expect(index.every((i) => i >= 0)).toBe(true)
    expect([...index].sort((a, b) => a - b)).toEqual(index)
    expect(new Set(index).size).toBe(index.length)
    expect(stored.length + result.dropped.lines).toBe(written.length)
    expect(result.dropped.bytes + stored.reduce((n, l) => n + l.length + 1, 0)).toBe(Buffer.byteLength(text))
  })

  it("whenFull 'block' holds writes while the spool is full, then stores everything", async () => {
    const dir = await spoolDir()
    const prefix = 'block/'
    proxy.addRule({ match: (r) => r.op === 'PutObject' && r.key.startsWith(prefix), reset: true })
    const log = open(prefix, dir, { rotateBytes: 500, maxSpoolBytes: 3000, fsync: 'interval' })
    const written = numbered(0, 300)
    let acked = 0
    const all = Promise.all(written.map((l) => ack(log, `${l}\n`).then(() => acked++)))
    // Uploads keep failing: after two retries the writes are still held back.
    await new Promise<void>((resolve) => {
      let n = 0
      log.on('retry', () => ++n === 2 && resolve())
    })
    expect(acked).toBeLessThan(written.length)
    expect(log.spoolBytes).toBeLessThanOrEqual(3000 + 600)
    proxy.clearRules()
    await all
    log.end()
    const result = await log.done
    expect(result.dropped).toEqual({ writes: 0, bytes: 0, lines: 0 })
    expect((await storedLines(direct(), prefix)).flat()).toEqual(written)
  })

  it('refuses a segment that names a key outside the prefix (nothing is written outside the destination)', async () => {
    const dir = await spoolDir()
    const prefix = 'forged/'
    const first = open(prefix, dir)
    first.end()
    await first.done
    const record = (type: string, payload: Buffer) => {
      const head = Buffer.alloc(9)
      head[0] = type.charCodeAt(0)
      head.writeUInt32LE(payload.length, 1)
      head.writeUInt32LE(zlib.crc32(payload), 5)
      return Buffer.concat([head, payload])
    }
    const header = Buffer.from(
      `${JSON.stringify({ v: 1, key: 'elsewhere/owned.log', time: 0, seq: 1, carried: 0, build: { format: 'lines', compression: 'none' } })}\n`,
    )
    await writeFile(join(dir, '00000001-0000000001.seg'), Buffer.concat([record('H', header), record('D', Buffer.from('x\n'))]))
    const second = open(prefix, dir)
    second.end()
    const err = await second.done.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IntegrityError)
    expect((err as Error).message).toMatch(/outside s3:\/\/.*\/forged\//)
    expect(await direct().list('elsewhere/').toArray()).toEqual([])
  })

  it('refuses a spool used by a live process, or kept for another destination', async () => {
    const dir = await spoolDir()
    await writeFile(join(dir, 'lock'), `${process.ppid}\n`)
    const locked = open('locked/', dir)
    const err = await locked.done.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SpoolLockedError)
    // A lock left by a process that is gone is taken over.
    await writeFile(join(dir, 'lock'), '999999999\n')
    const ok = open('locked/', dir)
    ok.end('x\n')
    await ok.done
    const other = open('elsewhere/', dir)
    const err2 = await other.done.catch((e: unknown) => e)
    expect(err2).toBeInstanceOf(InvalidArgumentError)
    expect((err2 as InvalidArgumentError).argument).toBe('spool')
    expect((err2 as Error).message).toMatch(/belongs to s3:\/\/.*\/locked\//)
    // A file where the folder should be.
    const file = join(dir, 'spool.json')
    const notDir = open('locked/', file)
    const err3 = await notDir.done.catch((e: unknown) => e)
    expect(err3).toBeInstanceOf(InvalidArgumentError)
    expect((err3 as Error).message).toMatch(/is not a folder/)
  })
})
