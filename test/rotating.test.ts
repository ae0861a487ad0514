import { randomBytes, randomInt } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import type { Bucket } from '../src/bucket.js'
import { AbortError, InvalidArgumentError } from '../src/errors.js'
import type { WriteStreamResult } from '../src/sinks/multipart.js'
import { createLogStream, defaultLogName } from '../src/sinks/rotating.js'
import { useBucket } from './support/s3.js'

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
    while ((await b.listUploads({ prefix: 'abort/' })).length === 0) await sleep(20)
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
})
