/**
 * Downloads under faults on the wire: corrupted, truncated and stalled bodies, dropped ETags,
 * stalled servers, aborts. Every case goes through the real request path to radosgw via the
 * fault proxy.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AbortError, Bucket, BucketflowError, IntegrityError, TimeoutError, type DownloadInfo, type GetOptions } from '../../src/index.js'
import { FaultProxy } from '../support/proxy.js'
import { s3Options, useBucket } from '../support/s3.js'

const MiB = 1024 * 1024
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

async function streamed(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of r) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

describe('downloads under faults', () => {
  const bucket = useBucket('faults-get')
  let proxy: FaultProxy
  let via: Bucket
  let dir: string
  beforeAll(async () => {
    proxy = await FaultProxy.start(s3Options().endpoint!)
    via = new Bucket(bucket().name, s3Options({ endpoint: proxy.url, idleTimeout: 1000 }))
    dir = await mkdtemp(join(tmpdir(), 'bf-faults-get-'))
  })
  afterAll(async () => {
    via.client.destroy()
    await proxy.close()
  })
  const onGet = (key: string) => (r: { op: string; key: string }) => r.op === 'GetObject' && r.key === key

  /** Every download path, each returning the bytes it delivered and what it verified. */
  function paths(key: string, extra: GetOptions = {}) {
    const run = async (name: string, fn: (opts: GetOptions) => Promise<Buffer>) => {
      let info: DownloadInfo | undefined
      const bytes = await fn({ ...extra, onVerified: (i) => (info = i) })
      return { name, bytes, info: info! }
    }
    let n = 0
    return {
      buffer: () => run('buffer', (o) => via.get(key, o)),
      file: () => run('file', async (o) => readFile(await via.get(key, join(dir, `out-${n++}`), o))),
      stream: () => run('stream', (o) => streamed(via.stream(key, o))),
      parallelFile: () => run('parallel file', async (o) => readFile(await via.get(key, join(dir, `pout-${n++}`), { partSize: MiB, concurrency: 3, ...o }))),
      parallelStream: () => run('parallel stream', (o) => streamed(via.stream(key, { partSize: MiB, concurrency: 3, ...o }))),
    }
  }

  it('verifies every download path against the ETag MD5 and reports it', async () => {
    const data = randomBytes(3.5 * MiB)
    await bucket().put(data, 'md5/obj')
    for (const path of Object.values(paths('md5/obj'))) {
      const { name, bytes, info } = await path()
      expect(sha(bytes), name).toBe(sha(data))
      expect(info.verified, name).toBe('md5')
      expect(info.size, name).toBe(data.length)
    }
    // The array forms carry it on each result.
    const results = await via.get(['md5/obj', 'md5/obj'], { concurrency: 2 })
    expect(results.map((r) => (r.ok ? r.verified : r.error.code))).toEqual(['md5', 'md5'])
    // A range is checked by its length; a range that covers the whole object, by its MD5.
    let info: DownloadInfo | undefined
    await via.get('md5/obj', { start: 10, end: 20, onVerified: (i) => (info = i) })
    expect(info?.verified).toBe('size')
    await via.get('md5/obj', { start: 0, end: data.length + 1024, onVerified: (i) => (info = i) })
    expect(info?.verified).toBe('md5')
  })

  it('never returns a flipped byte: a stream fails with IntegrityError, a Buffer or file is fetched again', async () => {
    const data = randomBytes(3.5 * MiB)
    await bucket().put(data, 'corrupt/obj')
    const p = paths('corrupt/obj')
    for (const path of [p.buffer, p.file, p.parallelFile]) {
      proxy.addRule({ match: onGet('corrupt/obj'), fault: 'corrupt-body', times: 1 })
      const { name, bytes, info } = await path()
      expect(sha(bytes), name).toBe(sha(data))
      expect(info.attempts, name).toBe(2)
      expect(info.verified, name).toBe('md5')
    }
    for (const path of [p.stream, p.parallelStream]) {
      proxy.addRule({ match: onGet('corrupt/obj'), fault: 'corrupt-body', times: 1 })
      const err = await path().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(IntegrityError)
      expect((err as IntegrityError).algorithm).toBe('md5')
      expect((err as IntegrityError).expected).toBe(createHash('md5').update(data).digest('hex'))
      expect((err as IntegrityError).actual).toMatch(/^[0-9a-f]{32}$/)
      expect((err as IntegrityError).actual).not.toBe((err as IntegrityError).expected)
      expect((err as IntegrityError).key).toBe('corrupt/obj')
    }
    proxy.clearRules()
  })

  it('leaves an existing destination file untouched when every answer is corrupt', async () => {
    await bucket().put(randomBytes(100_000), 'corrupt/always')
    const out = join(dir, 'keep-me.txt')
    await writeFile(out, 'previous content')
    proxy.addRule({ match: onGet('corrupt/always'), fault: 'corrupt-body' })
    for (const opts of [{}, { partSize: MiB, concurrency: 2 }]) {
      const err = await via.get('corrupt/always', out, opts).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(IntegrityError)
      expect(await readFile(out, 'utf8')).toBe('previous content')
      expect((await readdir(dir)).filter((f) => f.includes('keep-me.txt.'))).toEqual([])
    }
    proxy.clearRules()
  })

  it('with verify: false checks only the length, and says so', async () => {
    await bucket().put(randomBytes(1000), 'noverify/obj')
    let info: DownloadInfo | undefined
    proxy.addRule({ match: onGet('noverify/obj'), fault: 'corrupt-body', times: 1 })
    const bytes = await via.get('noverify/obj', { verify: false, onVerified: (i) => (info = i) })
    expect(bytes.length).toBe(1000)
    expect(info?.verified).toBe('none')
    const results = await via.get(['noverify/obj'], { verify: false })
    expect(results[0]!.ok && results[0]!.verified).toBe('none')
  })

  it('verifies a stored CRC32 when the server sends one, asked for with x-amz-checksum-mode', async () => {
    const data = randomBytes(200_000)
    await bucket().put(data, 'crc/obj')
    proxy.clearRequests()
    proxy.addRule({ match: onGet('crc/obj'), fault: 'add-crc32', times: 1 })
    let info: DownloadInfo | undefined
    expect(sha(await via.get('crc/obj', { onVerified: (i) => (info = i) }))).toBe(sha(data))
    expect(info?.verified).toBe('crc32')
    expect(proxy.of('GetObject')[0]!.headers['x-amz-checksum-mode']).toBe('ENABLED')
    // The checksum of the true bytes, the body corrupted after: caught by CRC32.
    proxy.addRule({ match: onGet('crc/obj'), fault: 'add-crc32', corrupt: true, times: 1 })
    const err = await streamed(via.stream('crc/obj')).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IntegrityError)
    expect((err as IntegrityError).algorithm).toBe('crc32')
  })

  it('verifies a multipart object part by part when partSize is its part size', async () => {
    const data = randomBytes(6 * MiB)
    await bucket().putStream(Readable.from([data]), 'mp/obj', { partSize: 5 * MiB })
    expect((await bucket().head('mp/obj')).etag).toMatch(/-2"$/)
    const p = paths('mp/obj', { partSize: 5 * MiB })
    for (const path of [p.buffer, p.stream, p.file, p.parallelFile, p.parallelStream]) {
      const { name, bytes, info } = await path()
      expect(sha(bytes), name).toBe(sha(data))
      expect(info.verified, name).toBe('md5-parts')
    }
    // Corrupted: fetched again where it can be; a stream fails.
    proxy.addRule({ match: onGet('mp/obj'), fault: 'corrupt-body', times: 1 })
    const again = await p.buffer()
    expect(sha(again.bytes)).toBe(sha(data))
    expect(again.info.verified).toBe('md5-parts')
    proxy.addRule({ match: onGet('mp/obj'), fault: 'corrupt-body', times: 1 })
    await expect(p.stream()).rejects.toBeInstanceOf(IntegrityError)
    // A part size that does not give 2 parts (8 MiB): the common uploader part sizes are tried.
    const other = await paths('mp/obj', { partSize: 8 * MiB }).buffer()
    expect(other.info.verified).toBe('md5-parts')
    // A part size that gives 2 parts but other boundaries: two downloads that agree settle it
    // (a stream downloads again before it ends); after that, the object is checked by length.
    const wrong = paths('mp/obj', { partSize: 4 * MiB })
    for (const [path, gets] of [
      [wrong.stream, 2],
      [wrong.buffer, 1],
    ] as const) {
      proxy.clearRequests()
      const { name, bytes, info } = await path()
      expect(sha(bytes), name).toBe(sha(data))
      expect(info.verified, name).toBe('size')
      expect(proxy.count('GetObject'), name).toBe(gets)
    }
    // A corrupted stream with such a layout fails: the second download disagrees with it.
    await bucket().putStream(Readable.from([data]), 'mp/obj2', { partSize: 5 * MiB })
    proxy.addRule({ match: onGet('mp/obj2'), fault: 'corrupt-body', times: 1 })
    const err = await streamed(via.stream('mp/obj2', { partSize: 4 * MiB })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IntegrityError)
  })

  it('resumes a truncated body with a ranged GET pinned to the ETag, on every path', async () => {
    const data = randomBytes(3 * MiB)
    await bucket().put(data, 'trunc/obj')
    const etag = (await bucket().head('trunc/obj')).etag
    const p = paths('trunc/obj')
    for (const path of [p.buffer, p.file, p.stream, p.parallelFile, p.parallelStream]) {
      proxy.clearRequests()
      proxy.addRule({ match: onGet('trunc/obj'), fault: 'truncate', times: 1 })
      const { name, bytes, info } = await path()
      expect(sha(bytes), name).toBe(sha(data))
      expect(info.resumes, name).toBe(1)
      expect(info.attempts, name).toBe(1)
      expect(info.verified, name).toBe('md5')
      const resumed = proxy
        .of('GetObject')
        .find(
          (r) =>
            r.headers['if-match'] !== undefined &&
            /^bytes=\d+-\d+$/.test(String(r.headers.range)) &&
            r.fault === undefined &&
            !String(r.headers.range).startsWith('bytes=0-'),
        )
      expect(resumed?.headers['if-match'], name).toBe(etag)
    }
  })

  it('resumes a body that stalls past the idle timeout; a body that always breaks fails typed after the retry budget', async () => {
    const data = randomBytes(2 * MiB)
    await bucket().put(data, 'stall/obj')
    proxy.addRule({ match: onGet('stall/obj'), fault: 'stall-body', stallMs: 20_000, times: 1 })
    const t0 = Date.now()
    let info: DownloadInfo | undefined
    expect(sha(await via.get('stall/obj', { onVerified: (i) => (info = i) }))).toBe(sha(data))
    expect(info?.resumes).toBe(1)
    expect(Date.now() - t0).toBeLessThan(15_000)

    // Truncated, then every resume reset before it is answered: no progress, so after the
    // client's maxAttempts resumes in a row (each retried by the SDK too) a typed error.
    proxy.clearRequests()
    proxy.addRule({ match: (r) => onGet('stall/obj')(r) && r.headers.range === undefined, fault: 'truncate' })
    proxy.addRule({ match: onGet('stall/obj'), reset: true })
    const err = await via.get('stall/obj').catch((e: unknown) => e)
    proxy.clearRules()
    expect(err).toBeInstanceOf(BucketflowError)
    expect((err as BucketflowError).code).toBe('ECONNRESET')
    expect((err as BucketflowError).key).toBe('stall/obj')
    // 1 truncated GET, then 3 resumes of 3 attempts each.
    expect(proxy.count('GetObject')).toBe(1 + 3 * 3)
  })

  it('retries a request that stalls before its answer, and fails with TimeoutError when it always does', async () => {
    await bucket().put(Buffer.from('patience'), 'stall/head')
    proxy.addRule({ match: onGet('stall/head'), fault: 'stall', stallMs: 20_000, times: 1 })
    expect((await via.get('stall/head')).toString()).toBe('patience')
    proxy.addRule({ match: onGet('stall/head'), fault: 'stall', stallMs: 20_000 })
    const err = await via.get('stall/head').catch((e: unknown) => e)
    proxy.clearRules()
    expect(err).toBeInstanceOf(TimeoutError)
    expect((err as TimeoutError).key).toBe('stall/head')
  })

  it('pins the ranges of a parallel download even when the first answer has no ETag: never two versions', async () => {
    const key = 'noetag/obj'
    const original = randomBytes(4 * MiB)
    await bucket().put(original, key)
    let latest = original
    // The first range answers without an ETag; the object is replaced right after it.
    proxy.addRule({ match: (r) => onGet(key)(r) && String(r.headers.range).startsWith('bytes=0-'), fault: 'drop-etag', times: 1 })
    let replaced = false
    const watcher = setInterval(() => {
      if (!replaced && proxy.of('GetObject', (r) => r.key === key && r.fault === 'drop-etag' && r.finishedAt !== undefined).length > 0) {
        replaced = true
        latest = randomBytes(4 * MiB)
        void bucket().put(latest, key)
      }
    }, 5)
    try {
      const out = join(dir, 'noetag.bin')
      const got = await via.get(key, out, { partSize: MiB, concurrency: 2 }).then(
        () => readFile(out),
        (e: unknown) => e,
      )
      if (got instanceof Error) expect(got).toBeInstanceOf(IntegrityError)
      else expect([sha(original), sha(latest)]).toContain(sha(got as Buffer))
      // Every GET but the first of each attempt (bytes=0-...) was pinned.
      const later = proxy.of('GetObject', (r) => r.key === key && !String(r.headers.range).startsWith('bytes=0-'))
      expect(later.length).toBeGreaterThan(0)
      expect(later.every((r) => r.headers['if-match'] !== undefined)).toBe(true)
    } finally {
      clearInterval(watcher)
      proxy.clearRules()
    }
  })

  it('rejects with AbortError when aborted in the middle of a body', async () => {
    await bucket().put(randomBytes(MiB), 'abort/obj')
    proxy.addRule({ match: onGet('abort/obj'), fault: 'stall-body', stallMs: 20_000 })
    const slow = new Bucket(bucket().name, s3Options({ endpoint: proxy.url }))
    for (const start of [
      (signal: AbortSignal) => slow.get('abort/obj', { signal }),
      (signal: AbortSignal) => slow.get('abort/obj', join(dir, 'aborted.bin'), { signal }),
      (signal: AbortSignal) => streamed(slow.stream('abort/obj', { signal })),
      (signal: AbortSignal) => slow.get(['abort/obj'], { signal, stopOnError: true }),
    ]) {
      const controller = new AbortController()
      const pending = start(controller.signal).catch((e: unknown) => e)
      // Abort once the headers (and half the body) have arrived.
      while (!proxy.of('GetObject', (r) => r.key === 'abort/obj' && r.respondedAt !== undefined && r.finishedAt === undefined).length)
        await new Promise((r) => setTimeout(r, 10))
      controller.abort()
      const err = await pending
      expect(err).toBeInstanceOf(AbortError)
      expect((err as AbortError).code).toBe('AbortError')
      proxy.clearRequests()
    }
    proxy.clearRules()
    slow.client.destroy()
    expect(await readdir(dir)).not.toContain('aborted.bin')
  })
})
