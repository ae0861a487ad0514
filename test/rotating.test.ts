import { randomBytes, randomInt } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import zlib from 'node:zlib'
import { HeadObjectCommand } from '@aws-sdk/client-s3'
import { DuckDBInstance } from '@duckdb/node-api'
import { vi, afterAll, describe, expect, it } from 'vitest'
import type { Bucket } from '../src/bucket.js'
import { AbortError, InvalidArgumentError } from '../src/errors.js'
import { parseKeyTemplate, renderKeyTemplate } from '../src/sinks/log-keys.js'
import type { WriteStreamResult } from '../src/upload/multipart.js'
import { createLogStream, defaultLogName, type StoredLogObject } from '../src/sinks/rotating.js'
import { lines as toLines } from '../src/stages/tail/index.js'
import { useBucket } from './support/s3.js'
import { waitUntil } from './support/wait.js'

// Every test here waits on events with bounded waits; a rotation that never lands fails here, not after the suite default of 120 s.
vi.setConfig({ testTimeout: 60_000 })

const NAME = /^\d{8}T\d{6}\.\d{3}Z-\d{6}\.log$/

/** Every object under the prefix, in key (listing) order, with its text. */
async function objectsUnder(bucket: Bucket, prefix: string): Promise<{ key: string; text: string }[]> {
  const keys = await bucket.list(prefix).toArray()
  const out: { key: string; text: string }[] = []
  for (const key of keys) out.push({ key, text: await bucket.read(key) })
  return out
}

describe('createLogStream', () => {
  const bucket = useBucket('rotating')

  it('rotates every rotateMs: a line every 100 ms for 3 s gives ~6 objects, every line once, in order, none split', async () => {
    const b = bucket()
    const prefix = 'time/'
    // A fresh server creates its data pool at the first write (seconds): do that first, so the
    // timing below is the sink's.
    await b.put('warm', 'warm-up', { literal: true })
    const log = b.createLogStream(prefix, { rotateMs: 500 })
    const events: WriteStreamResult[] = []
    let firstStoredAt = 0
    log.on('object', (o: WriteStreamResult) => {
      events.push(o)
      firstStoredAt ||= Date.now()
    })
    const written: string[] = []
    const started = Date.now()
    for (let i = 0; Date.now() - started < 3000; i++) {
      const line = `${new Date().toISOString()} line ${i} ${randomBytes(randomInt(1, 40)).toString('hex')}`
      written.push(line)
      log.write(`${line}\n`)
      await sleep(100)
    }
    // Before end(): the objects rotated out so far are already in S3.
    const visibleWhileWriting = (await b.list(prefix).toArray()).length
    const endCalledAt = Date.now()
    log.end()
    const result = await log.done
    const objects = await objectsUnder(b, prefix)
    // Data became visible while the writer was still writing (rotated out every rotateMs),
    // not only at end().
    expect(visibleWhileWriting).toBeGreaterThanOrEqual(3)
    expect(firstStoredAt).toBeLessThan(endCalledAt - 1000)
    expect(objects.length).toBeGreaterThanOrEqual(5)
    expect(objects.length).toBeLessThanOrEqual(8)
    expect(result.objects).toBe(objects.length)
    expect(result.firstKey).toBe(objects[0]!.key)
    expect(result.lastKey).toBe(objects.at(-1)!.key)
    expect(events.map((e) => e.key)).toEqual(objects.map((o) => o.key))
    for (const o of objects) {
      expect(o.key.slice(prefix.length)).toMatch(NAME)
      expect(o.text.length).toBeGreaterThan(0)
      expect(o.text.endsWith('\n')).toBe(true)
    }
    const lines = objects.flatMap((o) => o.text.slice(0, -1).split('\n'))
    expect(lines).toEqual(written)
    expect(result.size).toBe(written.join('\n').length + 1)
  })

  it('keeps a line whole when its pieces arrive on both sides of a rotation', async () => {
    const b = bucket()
    const prefix = 'pieces/'
    const log = createLogStream(b, prefix, { rotateMs: 200 })
    log.write('first\nsecond half-')
    await sleep(600) // the object with "first" is stored; the partial line waits
    expect((await objectsUnder(b, prefix)).map((o) => o.text)).toEqual(['first\n'])
    log.write('written')
    await sleep(400)
    log.write(' line\nthird\n')
    log.end()
    await log.done
    const objects = await objectsUnder(b, prefix)
    expect(objects.map((o) => o.text)).toEqual(['first\n', 'second half-written line\nthird\n'])
  })

  it('rotates at rotateBytes on line boundaries; a longer line gets an object of its own', async () => {
    const b = bucket()
    const prefix = 'bytes/'
    const lines: string[] = []
    for (let i = 0; i < 300; i++) lines.push(`${i}:${'x'.repeat(randomInt(0, 200))}`)
    lines.splice(150, 0, `long:${'y'.repeat(3000)}`)
    const text = lines.map((l) => `${l}\n`).join('')
    const log = createLogStream(b, prefix, { rotateBytes: 1000, rotateMs: 60_000 })
    // Irregular writes that cut lines anywhere.
    for (let at = 0; at < text.length; ) {
      const n = randomInt(1, 700)
      log.write(text.slice(at, at + n))
      at += n
    }
    log.end()
    const result = await log.done
    const objects = await objectsUnder(b, prefix)
    expect(objects.map((o) => o.text).join('')).toBe(text)
    expect(result.objects).toBe(objects.length)
    expect(objects.length).toBeGreaterThan(30)
    for (const o of objects) {
      expect(o.text.endsWith('\n')).toBe(true)
      if (o.text.startsWith('long:')) expect(o.text).toBe(`long:${'y'.repeat(3000)}\n`)
      else expect(o.text.length).toBeLessThanOrEqual(1000)
    }
    // Objects are filled: each one plus the next object's first line would not have fit.
    for (let i = 0; i + 1 < objects.length; i++) {
      const nextLine = objects[i + 1]!.text.split('\n')[0]!.length + 1
      if (!objects[i]!.text.startsWith('long:') && !objects[i + 1]!.text.startsWith('long:')) {
        expect(objects[i]!.text.length + nextLine).toBeGreaterThan(1000)
      }
    }
  })

  it('flushes the last object on end(), with a final line that has no newline', async () => {
    const b = bucket()
    const log = createLogStream(b, 'end/', { rotateMs: 60_000 })
    log.write('a\nb\nlast without newline')
    log.end()
    const result = await log.done
    const objects = await objectsUnder(b, 'end/')
    expect(objects.map((o) => o.text)).toEqual(['a\nb\nlast without newline'])
    expect(result).toMatchObject({ objects: 1, size: 24, bytes: 24, lines: 3 })
    // Nothing written: no object at all.
    const empty = createLogStream(b, 'end-empty/')
    empty.end()
    expect(await empty.done).toEqual({
      objects: 0,
      size: 0,
      firstKey: undefined,
      lastKey: undefined,
      bytes: 0,
      lines: 0,
      errorLines: 0,
      dropped: { writes: 0, bytes: 0, lines: 0 },
      recovered: 0,
    })
    expect(await b.list('end-empty/').toArray()).toEqual([])
  })

  it('streams a line longer than maxLineBytes into the open object and rotates only after it ends', async () => {
    const b = bucket()
    const prefix = 'overlong/'
    const log = createLogStream(b, prefix, { rotateMs: 150, maxLineBytes: 1024 })
    const long = 'z'.repeat(1500)
    log.write(`before\n${long.slice(0, 700)}`)
    log.write(long.slice(700))
    await sleep(450) // the timer fires inside the long line: the rotation waits
    log.write('-end\nafter\n')
    log.end()
    await log.done
    const objects = await objectsUnder(b, prefix)
    expect(objects.map((o) => o.text)).toEqual([`before\n${long}-end\n`, 'after\n'])
  })

  it('names objects so they sort by time, strictly, even many in one millisecond', async () => {
    const b = bucket()
    const prefix = 'names/'
    const log = createLogStream(b, prefix, { rotateBytes: 6 })
    const keys: string[] = []
    log.on('object', (o: WriteStreamResult) => keys.push(o.key))
    for (let i = 0; i < 40; i++) log.write(`l${String(i).padStart(3, '0')}\n`)
    log.end()
    await log.done
    expect(keys).toHaveLength(40)
    expect([...keys].sort()).toEqual(keys)
    expect(new Set(keys).size).toBe(40)
    expect(keys.map((k) => k.slice(prefix.length, -'.log'.length).split('-')[1])).toEqual(keys.map((_, i) => String(i + 1).padStart(6, '0')))
    const objects = await objectsUnder(b, prefix)
    expect(objects.map((o) => o.text)).toEqual(keys.map((_, i) => `l${String(i).padStart(3, '0')}\n`))
    expect(defaultLogName({ time: new Date(Date.UTC(2024, 0, 31, 23, 59, 59, 123)), seq: 42 })).toBe('20240131T235959.123Z-000042.log')
  })

  it('uses a naming function, and fails when it does not produce increasing keys', async () => {
    const b = bucket()
    const log = createLogStream(b, 'custom/', { rotateBytes: 2, naming: ({ seq }) => `part-${String(seq).padStart(3, '0')}.txt` })
    log.write('a\nb\n')
    log.end()
    await log.done
    expect(await b.list('custom/').toArray()).toEqual(['custom/part-001.txt', 'custom/part-002.txt'])
    const bad = createLogStream(b, 'custom-bad/', { rotateBytes: 2, naming: () => 'same.log' })
    const emitted: unknown[] = []
    bad.on('error', (e) => emitted.push(e))
    bad.write('a\nb\n')
    bad.end()
    const err = await bad.done.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidArgumentError)
    expect((err as InvalidArgumentError).argument).toBe('naming')
    expect(emitted).toEqual([err])
  })

  it('rotates at any byte with lineSafe: false', async () => {
    const b = bucket()
    const log = createLogStream(b, 'bin/', { rotateBytes: 4, lineSafe: false })
    log.write('abcdef')
    log.write('ghij\nk')
    log.end()
    await log.done
    expect((await objectsUnder(b, 'bin/')).map((o) => o.text)).toEqual(['abcd', 'efgh', 'ij\nk'])
  })

  it('aborts the open object on destroy() or signal; stored objects stay', async () => {
    const b = bucket()
    const first = createLogStream(b, 'abort-first/', { rotateMs: 100 })
    first.write('kept\n')
    await sleep(400) // stored
    first.write('not kept\n')
    first.destroy()
    expect(await first.done.catch((e: unknown) => e)).toBeInstanceOf(AbortError)
    expect((await objectsUnder(b, 'abort-first/')).map((o) => o.text)).toEqual(['kept\n'])

    const controller = new AbortController()
    const MiB = 1024 * 1024
    const log = createLogStream(b, 'abort/', { partSize: 5 * MiB, signal: controller.signal })
    const emitted: unknown[] = []
    log.on('error', (e) => emitted.push(e))
    const big = Buffer.alloc(6 * MiB, 'y')
    big[big.length - 1] = 0x0a
    log.write(big)
    await waitUntil(async () => (await b.listUploads({ prefix: 'abort/' })).length > 0, 'the multipart upload of the long line to start', 20_000, 20)
    controller.abort()
    const err = await log.done.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AbortError)
    expect(emitted).toEqual([err])
    expect(await b.listUploads({ prefix: 'abort/' })).toEqual([])
    expect(await b.list('abort/').toArray()).toEqual([])
  })

  it('validates options before any request', () => {
    const b = bucket()
    const cases: [object, string][] = [
      [{ rotateMs: 0 }, 'rotateMs'],
      [{ rotateBytes: -1 }, 'rotateBytes'],
      [{ maxLineBytes: 1.5 }, 'maxLineBytes'],
      [{ naming: 'iso' }, 'naming'],
      [{ partSize: 1024 }, 'partSize'],
      [{ compression: 'brotli' }, 'compression'],
      [{ compression: 'gzip', compressionLevel: 10 }, 'compressionLevel'],
      [{ compression: 'zstd', compressionLevel: 0 }, 'compressionLevel'],
      [{ compressionLevel: 3 }, 'compressionLevel'],
      [{ key: '{ts}-{seq}.log', naming: () => 'x' }, 'key'],
      [{ fsync: 'always' }, 'fsync'],
      [{ whenFull: 'drop-newest' }, 'whenFull'],
      [{ spool: '' }, 'spool'],
      [{ spool: '/tmp/x', whenFull: 'drop-oldest' }, 'whenFull'],
      [{ spool: '/tmp/x', maxSpoolBytes: 0 }, 'maxSpoolBytes'],
      [{ errorPrefix: 'e/' }, 'errorPrefix'],
      [{ format: 'csv' }, 'format'],
      [{ format: { parquet: {} }, compression: 'gzip' }, 'compression'],
      [{ format: { parquet: {} }, lineSafe: false }, 'lineSafe'],
      [{ format: { parquet: { schema: { fields: [] } } } }, 'schema'],
      [{ clock: 5 }, 'clock'],
    ]
    for (const [opts, argument] of cases) {
      const err = (() => {
        try {
          createLogStream(b, 'never/', opts)
        } catch (e) {
          return e
        }
      })()
      expect(err, argument).toBeInstanceOf(InvalidArgumentError)
      expect((err as InvalidArgumentError).argument, argument).toBe(argument)
    }
  })

  it('refuses invalid key templates when the stream is created, naming what is wrong', () => {
    const b = bucket()
    const bad: [string, RegExp][] = [
      ['{ts}.log', /\{seq\} must appear exactly once/],
      ['{seq}.log', /\{ts\} must appear exactly once/],
      ['{seq}-{ts}.log', /\{seq\} must come after \{ts\}/],
      ['{ts}{ts}-{seq}', /\{ts\} must appear exactly once/],
      ['{HH}/{ts}-{seq}.log', /from the year down without a gap/],
      ['{yyyy}/{dd}/{ts}-{seq}.log', /from the year down without a gap/],
      ['{MM}/{yyyy}/{ts}-{seq}.log', /from the year down without a gap/],
      ['{ts}-{seq}-{uuid}.log', /unknown placeholder \{uuid\}/],
      ['{ts}-{seq}.log}', /unmatched "\}"/],
      ['{ts-{seq}.log', /unmatched "\{"|unknown placeholder/],
      ['logs/{ts}-{seq}/', /cannot end with/],
      ['logs//{ts}-{seq}', /empty path segments/],
      ['/{ts}-{seq}', /empty path segments/],
      ['../{ts}-{seq}.log', /path segments are not allowed/],
      ['', /non-empty/],
    ]
    for (const [key, why] of bad) {
      let err: unknown
      try {
        createLogStream(b, 'never/', { key })
      } catch (e) {
        err = e
      }
      expect(err, key).toBeInstanceOf(InvalidArgumentError)
      expect((err as InvalidArgumentError).argument, key).toBe('key')
      expect((err as Error).message, key).toMatch(why)
    }
    // A prefix that makes the longest key over 1024 bytes is refused too.
    expect(() => createLogStream(b, 'p'.repeat(1000), { key: 'dt={yyyy}-{MM}-{dd}/{ts}-{seq}.log' })).toThrow(InvalidArgumentError)
    // Valid ones render in UTC, fixed width.
    const t = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6))
    expect(renderKeyTemplate(parseKeyTemplate('dt={yyyy}-{MM}-{dd}/{HH}/{mm}{ss}/{ts}-{seq}.log'), { time: t, seq: 7 })).toBe(
      'dt=2026-01-02/03/0405/20260102T030405.006Z-000007.log',
    )
    expect(renderKeyTemplate(parseKeyTemplate('{ts}-{seq}'), { time: t, seq: 1234567 })).toBe('20260102T030405.006Z-1234567')
  })

  it('puts objects under the right dt= partitions across a simulated midnight, in key order, and tail -f follows across the boundary', async () => {
    const b = bucket()
    const prefix = 'midnight/'
    // New Year's Eve, so year, month, day and hour all roll over.
    let now = Date.UTC(2026, 11, 31, 23, 59, 58, 0)
    const controller = new AbortController()
    const followed: string[] = []
    // The prefix is empty: 'start' follows every object to come. ('end' would race the first
    // object against the tail's first listing.)
    const t = b.tail(prefix, { follow: 'rotation', from: 'start', pollMs: 50, signal: controller.signal })
    const reading = (async () => {
      for await (const line of t.lines()) followed.push(line)
    })()
    const log = createLogStream(b, prefix, { key: 'dt={yyyy}-{MM}-{dd}/{HH}/{ts}-{seq}.log', rotateBytes: 64, clock: () => now })
    const stored: StoredLogObject[] = []
    log.on('object', (o: StoredLogObject) => stored.push(o))
    const written: string[] = []
    for (let i = 0; i < 40; i++) {
      const line = `line ${String(i).padStart(2, '0')} at ${new Date(now).toISOString()}`
      written.push(line)
      await new Promise<void>((resolve, reject) => log.write(`${line}\n`, (err) => (err ? reject(err) : resolve())))
      now += 100
    }
    log.end()
    const result = await log.done
    const keys = await b.list(prefix).toArray()
    expect(keys.length).toBe(result.objects)
    expect(stored.map((o) => o.key)).toEqual(keys) // stored in key order
    const partitions = new Set<string>()
    for (const key of keys) {
      const m = /^midnight\/dt=(\d{4})-(\d{2})-(\d{2})\/(\d{2})\/(\d{4})(\d{2})(\d{2})T(\d{2})\d{4}\.\d{3}Z-\d{6}\.log$/.exec(key)
      expect(m, key).not.toBeNull()
      // The partition is the object's own time (UTC), as in its name.
      expect([m![1], m![2], m![3], m![4]], key).toEqual([m![5], m![6], m![7], m![8]])
      partitions.add(key.split('/').slice(1, 3).join('/'))
    }
    expect([...partitions]).toEqual(['dt=2026-12-31/23', 'dt=2027-01-01/00'])
    const texts = await objectsUnder(b, prefix)
    expect(texts.flatMap((o) => o.text.slice(0, -1).split('\n'))).toEqual(written)
    // Lines written before midnight are in the old partition, after it in the new one.
    for (const o of texts) {
      const day = o.key.includes('dt=2026-12-31') ? '2026-12-31' : '2027-01-01'
      for (const line of o.text.slice(0, -1).split('\n')) expect(line.slice(-24, -14), o.key).toBe(day)
    }
    const deadline = Date.now() + 10_000
    while (followed.length < written.length && Date.now() < deadline) await sleep(50)
    controller.abort()
    await reading
    expect(followed).toEqual(written)
  })

  describe('compressed objects', () => {
    let db: Awaited<ReturnType<DuckDBInstance['connect']>> | undefined
    const dirs: string[] = []
    afterAll(async () => {
      db?.closeSync()
      for (const d of dirs) await rm(d, { recursive: true, force: true })
    })

    for (const compression of ['gzip', 'zstd'] as const) {
      it(`${compression}: objects decompress to exactly the lines written (DuckDB, zlib, tail and lines() read them); suffix and Content-Encoding set`, async () => {
        const b = bucket()
        const prefix = `${compression}/`
        const suffix = compression === 'gzip' ? '.gz' : '.zst'
        const written = Array.from(
          { length: 6000 },
          (_, i) =>
            `${String(i).padStart(5, '0')} ${['INFO', 'WARN', 'ERROR'][i % 3]} user=${i % 97} ünïcödé € ${randomBytes(randomInt(0, 24)).toString('hex')}`,
        )
        const text = written.map((l) => `${l}\n`).join('')
        const log = createLogStream(b, prefix, { compression, rotateBytes: 64 * 1024 })
        for (let at = 0; at < text.length; ) {
          const n = randomInt(1, 9000)
          log.write(text.slice(at, at + n))
          at += n
        }
        log.end()
        const result = await log.done
        expect(result.bytes).toBe(Buffer.byteLength(text))
        expect(result.lines).toBe(written.length)
        const keys = await b.list(prefix).toArray()
        expect(keys.length).toBe(result.objects)
        expect(keys.length).toBeGreaterThanOrEqual(4)
        const dir = await mkdtemp(join(tmpdir(), 'bucketflow-compressed-'))
        dirs.push(dir)
        db ??= await (await DuckDBInstance.create(':memory:')).connect()
        const fromDuck: string[] = []
        const fromStream: string[] = []
        for (const key of keys) {
          expect(key.endsWith(`.log${suffix}`), key).toBe(true)
          const head = await b.client.send(new HeadObjectCommand({ Bucket: b.name, Key: key }))
          expect(head.ContentEncoding).toBe(compression)
          const stored = await b.get(key)
          expect(stored.length).toBeLessThan(48 * 1024) // compressed
          if (compression === 'gzip') expect(zlib.gunzipSync(stored).toString().endsWith('\n')).toBe(true)
          const file = await b.get(key, join(dir, key.replace(/\//g, '_')))
          const rows = (
            await db.runAndReadAll(
              `SELECT l FROM read_csv('${file}', columns={'l': 'VARCHAR'}, delim='\\x1f', header=false, quote='', escape='', auto_detect=false, compression='${compression}')`,
            )
          ).getRowObjectsJS() as { l: string }[]
          fromDuck.push(...rows.map((r) => r.l))
          for await (const line of toLines(b.stream(key))) fromStream.push(line)
        }
        expect(fromDuck).toEqual(written)
        expect(fromStream).toEqual(written)
        const controller = new AbortController()
        const followed: string[] = []
        for await (const line of b.tail(prefix, { follow: 'rotation', from: 'start', pollMs: 50, signal: controller.signal }).lines()) {
          followed.push(line)
          if (followed.length === written.length) controller.abort()
        }
        expect(followed).toEqual(written)
      })
    }
  })
})
