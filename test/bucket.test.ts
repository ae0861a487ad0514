import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { Bucket, BucketflowError, InvalidArgumentError, NoSuchBucketError, NoSuchKeyError, type ObjectEntry } from '../src/index.js'
import { bucketName, s3Options, useBucket } from './support/s3.js'
import { ScriptedProxy } from './support/scripted-proxy.js'
import { recordRequests } from './transport/recorder.js'

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
const MiB = 1024 * 1024

async function* irregular(data: Buffer): AsyncGenerator<Uint8Array> {
  let at = 0
  let n = 1
  while (at < data.length) {
    const size = Math.min(data.length - at, ((n * 7919) % 300_000) + 1)
    yield data.subarray(at, at + size)
    at += size
    n++
  }
}

describe('Bucket put/get roundtrips', () => {
  const bucket = useBucket('roundtrip')
  const sizes = [0, 1, 100_000, 16 * MiB]

  for (const size of sizes) {
    it(`is byte-exact for ${size} bytes from every source type`, async () => {
      const b = bucket()
      const data = randomBytes(size)
      const dir = await mkdtemp(join(tmpdir(), 'bf-'))
      const file = join(dir, 'src.bin')
      await writeFile(file, data)
      const sources: [string, () => unknown][] = [
        ['buffer', () => data],
        ['uint8array', () => new Uint8Array(data)],
        ['file', () => file],
        ['readable-unknown-length', () => Readable.from(irregular(data))],
        ['async-iterable', () => irregular(data)],
        ['web-stream', () => Readable.toWeb(Readable.from(irregular(data)))],
      ]
      for (const [name, make] of sources) {
        const key = `rt/${size}/${name}`
        const put = await b.put(make() as never, key)
        expect(put.size, name).toBe(size)
        const back = await b.get(key)
        expect(back.length, name).toBe(size)
        expect(sha(back), name).toBe(sha(data))
      }
      const out = join(dir, 'deep', 'er', 'out.bin')
      await b.get(`rt/${size}/buffer`, out)
      expect(sha(await readFile(out))).toBe(sha(data))
    })
  }

  it('puts a literal string and reads it back as text or bytes', async () => {
    const b = bucket()
    await b.put('# cats\nsmall predatory mammals\n', 'README.md', { literal: true, contentType: 'text/markdown' })
    expect(await b.read('README.md')).toBe('# cats\nsmall predatory mammals\n')
    const bytes = await b.read('README.md', { encoding: null })
    expect(Buffer.isBuffer(bytes)).toBe(true)
    expect(bytes.toString('utf8')).toBe('# cats\nsmall predatory mammals\n')
  })

  it('treats a string as a file path unless literal, with a clear error for a missing file', async () => {
    const b = bucket()
    await expect(b.put('no/such/file.txt', 'x')).rejects.toThrow(/cannot be read.*literal: true/)
    await expect(b.put('no/such/file.txt', 'x')).rejects.toBeInstanceOf(InvalidArgumentError)
  })

  it('puts null as an empty object, with metadata and content type', async () => {
    const b = bucket()
    await b.put(null, 'empty.marker', { metadata: { origin: 'test' }, contentType: 'application/x-marker' })
    const h = await b.head('empty.marker')
    expect(h.size).toBe(0)
    expect(h.metadata).toEqual({ origin: 'test' })
    expect(h.contentType).toBe('application/x-marker')
  })
})

describe('ranges', () => {
  const bucket = useBucket('ranges')
  const data = Buffer.from('0123456789abcdefghij') // 20 bytes

  it('reads slices with Python semantics, negative indices and suffix ranges', async () => {
    const b = bucket()
    await b.put(data, 'r.txt')
    const cases: [{ start?: number; end?: number }, string][] = [
      [{ start: 0, end: 4 }, '0123'],
      [{ start: 5 }, '56789abcdefghij'],
      [{ end: 3 }, '012'],
      [{ start: -5 }, 'fghij'],
      [{ start: 0, end: -1 }, '0123456789abcdefghi'],
      [{ start: -6, end: -2 }, 'efgh'],
      [{ start: 7, end: 7 }, ''],
      [{ start: 19, end: 20 }, 'j'],
    ]
    for (const [range, expected] of cases) {
      expect((await b.get('r.txt', range)).toString(), JSON.stringify(range)).toBe(expected)
      expect(await b.read('r.txt', range), JSON.stringify(range)).toBe(expected)
      const chunks: Buffer[] = []
      for await (const c of b.stream('r.txt', range)) chunks.push(c as Buffer)
      expect(Buffer.concat(chunks).toString(), JSON.stringify(range)).toBe(expected)
    }
  })

  it('clamps like a Python slice: an end past the object, a start past the end, start after end', async () => {
    const b = bucket()
    await b.put(data, 'r2.txt')
    await b.put(Buffer.alloc(0), 'empty.txt')
    const cases: [{ start?: number; end?: number; offset?: number; length?: number }, string][] = [
      [{ start: 21 }, ''],
      [{ start: 20 }, ''],
      [{ start: 0, end: 25 }, data.toString()],
      [{ start: 18, end: 1024 }, 'ij'],
      [{ start: -30, end: 2 }, '01'],
      [{ start: -30 }, data.toString()],
      [{ start: 10, end: 5 }, ''],
      [{ start: -2, end: -5 }, ''],
      [{ end: 0 }, ''],
      [{ end: -25 }, ''],
      [{ offset: 2, length: 3 }, '234'],
      [{ offset: 18, length: 100 }, 'ij'],
      [{ offset: -5, length: 2 }, 'fg'],
      [{ offset: -5, length: 99 }, 'fghij'],
      [{ offset: 25, length: 3 }, ''],
      [{ offset: 3 }, data.toString().slice(3)],
      [{ offset: 3, length: 0 }, ''],
    ]
    for (const [range, expected] of cases) {
      expect((await b.get('r2.txt', range)).toString(), JSON.stringify(range)).toBe(expected)
      expect(await b.read('r2.txt', range), JSON.stringify(range)).toBe(expected)
      const chunks: Buffer[] = []
      for await (const c of b.stream('r2.txt', range)) chunks.push(c as Buffer)
      expect(Buffer.concat(chunks).toString(), `stream ${JSON.stringify(range)}`).toBe(expected)
    }
    for (const range of [{ start: 0, end: 10 }, { start: 5 }, { start: -3 }, { offset: 1, length: 2 }]) {
      expect((await b.get('empty.txt', range)).length, JSON.stringify(range)).toBe(0)
    }
    // The array form: one range for objects of different sizes.
    await b.put(randomBytes(4096), 'big.bin')
    const both = await b.get(['r2.txt', 'big.bin'], { start: 0, end: 1024 })
    expect(both.map((r) => (r.ok ? r.value.length : r.error.code))).toEqual([20, 1024])
    const dir = await mkdtemp(join(tmpdir(), 'bf-ranges-'))
    const files = await b.get(['r2.txt', 'big.bin'], dir, { start: 0, end: 1024 })
    expect(files.every((r) => r.ok)).toBe(true)
    expect((await stat(join(dir, 'r2.txt'))).size).toBe(20)
    expect((await stat(join(dir, 'big.bin'))).size).toBe(1024)
    // A missing object is still missing, even for a range that is empty whatever the size.
    await expect(b.get('nope.txt', { start: 10, end: 5 })).rejects.toBeInstanceOf(NoSuchKeyError)
    await expect(b.get('nope.txt', { start: 3 })).rejects.toBeInstanceOf(NoSuchKeyError)
  })

  it('sends one ranged GET and no HEAD for any range with a start >= 0, and for suffixes', async () => {
    const b = bucket()
    await b.put(data, 'r3.txt')
    // Requests are recorded on the wire, whichever transport BUCKETFLOW_TRANSPORT picks.
    const r = new Bucket(b.name, s3Options())
    const recorder = recordRequests(r)
    const sent = recorder.requests
    const cases: [{ start?: number; end?: number; offset?: number; length?: number }, string, string][] = [
      [{ start: 3, end: 7 }, 'GET bytes=3-6', '3456'],
      [{ start: 15, end: 99 }, 'GET bytes=15-98', 'fghij'],
      [{ start: 30 }, 'GET bytes=30-', ''],
      [{ start: 2, end: -2 }, 'GET bytes=2-', '23456789abcdefgh'],
      [{ start: -4 }, 'GET bytes=-4', 'ghij'],
      [{ start: -4, end: -1 }, 'GET bytes=-4', 'ghi'],
      [{ start: -4, end: 18 }, 'GET bytes=-4', 'gh'],
      [{ offset: 4, length: 2 }, 'GET bytes=4-5', '45'],
      [{ start: 0, end: -1 }, 'GET', data.toString().slice(0, -1)],
    ]
    try {
      for (const [range, request, expected] of cases) {
        sent.length = 0
        expect((await r.get('r3.txt', range)).toString(), JSON.stringify(range)).toBe(expected)
        expect(
          sent.map((s) => `${s.method} ${s.range ?? ''}`.trim()),
          JSON.stringify(range),
        ).toEqual([request])
        expect(sent[0]!.path.split('?')[0], JSON.stringify(range)).toBe(`/${b.name}/r3.txt`)
      }
    } finally {
      recorder.stop()
    }
  })

  it('refuses a non-integer bound, a negative length or both range forms before any request', async () => {
    const b = bucket()
    // Requests are recorded on the wire, whichever transport BUCKETFLOW_TRANSPORT picks.
    const r = new Bucket(b.name, s3Options())
    const recorder = recordRequests(r)
    const sent = recorder.requests
    const cases: [Record<string, unknown>, string][] = [
      [{ start: 1.5 }, 'start'],
      [{ start: '3' }, 'start'],
      [{ end: Number.NaN }, 'end'],
      [{ end: Infinity }, 'end'],
      [{ offset: 'x' }, 'offset'],
      [{ length: -1 }, 'length'],
      [{ length: 2.5 }, 'length'],
      [{ start: 1, length: 3 }, 'length'],
      [{ end: 3, offset: 1 }, 'offset'],
    ]
    for (const [range, argument] of cases) {
      for (const call of [
        () => r.get('missing.txt', range as never),
        () => r.read('missing.txt', range as never),
        () => r.get('missing.txt', join(tmpdir(), 'never-written'), range as never),
        () => r.get(['missing.txt', 'other.txt'], range as never),
        () =>
          new Promise((resolve, reject) =>
            r
              .stream('missing.txt', range as never)
              .on('error', reject)
              .on('end', resolve)
              .resume(),
          ),
      ]) {
        let err: unknown
        try {
          await call()
        } catch (e) {
          err = e
        }
        expect(err, JSON.stringify(range)).toBeInstanceOf(InvalidArgumentError)
        expect((err as InvalidArgumentError).argument, JSON.stringify(range)).toBe(argument)
      }
    }
    recorder.stop()
    expect(sent).toEqual([])
  })
})

describe('head, exists, cp, mv, rm', () => {
  const bucket = useBucket('verbs')

  it('heads an object with every field', async () => {
    const b = bucket()
    const before = Date.now() - 60_000
    await b.put(Buffer.from('hello'), 'h/one.txt', { contentType: 'text/plain', metadata: { color: 'tabby' } })
    const h = await b.head('h/one.txt')
    expect(h.key).toBe('h/one.txt')
    expect(h.size).toBe(5)
    expect(h.etag).toBe('"5d41402abc4b2a76b9719d911017c592"')
    expect(h.lastModified!.getTime()).toBeGreaterThan(before)
    expect(h.storageClass).toBe('STANDARD')
    expect(h.contentType).toBe('text/plain')
    expect(h.metadata).toEqual({ color: 'tabby' })
    expect(h.contentEncoding).toBeUndefined()
    expect(h.restore).toBeUndefined()
    expect(await b.exists('h/one.txt')).toBe(true)
    expect(await b.exists('h/none.txt')).toBe(false)
  })

  it('metadata comes back as it was given: non-ASCII, tabs, spaces at the ends or in a row, and text that looks encoded', async () => {
    const proxy = await ScriptedProxy.start(s3Options().endpoint!)
    const b = new Bucket(bucket().name, s3Options({ endpoint: proxy.url }))
    const metadata = {
      author: 'Zoë Müller',
      city: '東京',
      tabbed: 'a\tb',
      padded: '  two  spaces  ',
      emoji: '🐈 cat',
      literal: '=?UTF-8?B?aGVsbG8=?=',
      plain: 'just ascii, with one space',
      empty: '',
    }
    await b.put(Buffer.from('m'), 'meta/put.txt', { metadata })
    expect((await b.head('meta/put.txt')).metadata).toEqual(metadata)
    // A multipart upload (CreateMultipartUpload carries the metadata) and a copy that replaces it.
    await b.putStream(Readable.from([randomBytes(6 * MiB)]), 'meta/stream.bin', { metadata, partSize: 5 * MiB })
    expect((await b.head('meta/stream.bin')).metadata).toEqual(metadata)
    const other = { ...metadata, author: 'Ådne Ørsted' }
    await b.cp('meta/put.txt', 'meta/copy.txt', { metadata: other })
    expect((await b.head('meta/copy.txt')).metadata).toEqual(other)
    // Only what a header cannot carry as it is goes encoded.
    const [sent] = proxy.seen((r) => r.method === 'PUT' && r.path.endsWith('/meta/put.txt'))
    expect(sent!.headers['x-amz-meta-plain']).toBe('just ascii, with one space')
    expect(sent!.headers['x-amz-meta-author']).toBe(`=?UTF-8?B?${Buffer.from('Zoë Müller').toString('base64')}?=`)
    b.client.destroy()
    await proxy.close()
  })

  it('refuses a metadata name a header cannot carry, naming it, before any request', async () => {
    const b = bucket()
    for (const name of ['with space', 'naïve', 'a:b', '']) {
      const err = await b.put(Buffer.from('x'), 'meta/bad.txt', { metadata: { [name]: 'v' } }).catch((e: unknown) => e)
      expect(err, name).toBeInstanceOf(InvalidArgumentError)
      expect((err as InvalidArgumentError).argument).toBe('metadata')
      expect((err as Error).message).toContain(JSON.stringify(name))
    }
    const notString = await b.put(Buffer.from('x'), 'meta/bad.txt', { metadata: { n: 5 as unknown as string } }).catch((e: unknown) => e)
    expect(notString).toBeInstanceOf(InvalidArgumentError)
    // A stream is not read for nothing: the metadata is checked when the call is made.
    let pulled = 0
    const source = new Readable({
      read() {
        pulled++
        this.push(randomBytes(64 * 1024))
      },
    })
    const streamed = await b.putStream(source, 'meta/bad.bin', { metadata: { 'a b': 'v' } }).catch((e: unknown) => e)
    expect(streamed).toBeInstanceOf(InvalidArgumentError)
    const piped = await b.put(source, 'meta/bad.bin', { metadata: { 'x y': 'v' } }).catch((e: unknown) => e)
    expect(piped).toBeInstanceOf(InvalidArgumentError)
    expect(pulled).toBe(0)
    // A copy checks its new metadata before the HEAD of its source (here missing).
    const copy = await b.cp('meta/missing.txt', 'meta/bad.txt', { metadata: { 'a b': 'v' } }).catch((e: unknown) => e)
    expect(copy).toBeInstanceOf(InvalidArgumentError)
    expect(await b.exists('meta/bad.txt')).toBe(false)
  })

  it('keeps Content-Encoding through head, a copy that replaces metadata, and a multipart copy', async () => {
    const b = bucket()
    const data = randomBytes(6 * MiB)
    await b.putStream(Readable.from([data]), 'enc/src.gz', { contentEncoding: 'gzip', contentType: 'text/plain', partSize: 5 * MiB })
    expect((await b.head('enc/src.gz')).contentEncoding).toBe('gzip')
    // put: bytes in one PutObject, a stream through the multipart sink.
    await b.put(Buffer.from('x'), 'enc/bytes.gz', { contentEncoding: 'gzip' })
    await b.put(Readable.from([data]), 'enc/stream.gz', { contentEncoding: 'gzip', partSize: 5 * MiB })
    expect((await b.head('enc/bytes.gz')).contentEncoding).toBe('gzip')
    expect((await b.head('enc/stream.gz')).contentEncoding).toBe('gzip')
    await b.cp('enc/src.gz', 'enc/replaced.gz', { metadata: { note: 'new' }, contentType: 'text/x-log' })
    const replaced = await b.head('enc/replaced.gz')
    expect(replaced.contentEncoding).toBe('gzip')
    expect(replaced.contentType).toBe('text/x-log')
    expect(replaced.metadata).toEqual({ note: 'new' })
    await b.cp('enc/src.gz', 'enc/parts.gz', { multipartThreshold: 5 * MiB, partSize: 5 * MiB })
    const parts = await b.head('enc/parts.gz')
    expect(parts.etag).toMatch(/-2"$/)
    expect(parts.contentEncoding).toBe('gzip')
    expect(parts.contentType).toBe('text/plain')
  })

  it('a copy after a HEAD copies only the object the HEAD saw (x-amz-copy-source-if-match); a source replaced meanwhile fails it and leaves no upload', async () => {
    const proxy = await ScriptedProxy.start(s3Options().endpoint!)
    const b = new Bucket(bucket().name, s3Options({ endpoint: proxy.url }))
    try {
      await bucket().put(randomBytes(11 * MiB), 'ifm/src.bin')
      const { etag } = await bucket().head('ifm/src.bin')
      const copies = (r: { method: string; headers: Record<string, unknown> }) => r.method === 'PUT' && r.headers['x-amz-copy-source'] !== undefined
      await b.cp('ifm/src.bin', 'ifm/replaced.bin', { metadata: { a: '1' } })
      await b.cp('ifm/src.bin', 'ifm/parts.bin', { multipartThreshold: 5 * MiB, partSize: 5 * MiB })
      const sent = proxy.seen(copies)
      expect(sent).toHaveLength(4) // one CopyObject, three UploadPartCopy
      for (const r of sent) expect(r.headers['x-amz-copy-source-if-match']).toBe(etag)
      // The server says the source changed (412) at the second part: the copy fails, its upload is aborted.
      proxy.script({
        match: (r) => copies(r) && r.query.get('partNumber') === '2',
        times: 1,
        action: {
          respond: {
            status: 412,
            body: '<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>',
          },
        },
      })
      const err = await b.cp('ifm/src.bin', 'ifm/raced.bin', { multipartThreshold: 5 * MiB, partSize: 5 * MiB }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(BucketflowError)
      expect((err as BucketflowError).code).toBe('PreconditionFailed')
      expect(await bucket().exists('ifm/raced.bin')).toBe(false)
      expect(await bucket().listUploads({ prefix: 'ifm/' })).toEqual([])
    } finally {
      b.client.destroy()
      await proxy.close()
    }
  })

  it('raises NoSuchKeyError and NoSuchBucketError with bucket and key', async () => {
    const b = bucket()
    const e1 = await b.get('missing/key').catch((e: unknown) => e)
    expect(e1).toBeInstanceOf(NoSuchKeyError)
    expect((e1 as NoSuchKeyError).name).toBe('NoSuchKeyError')
    expect((e1 as NoSuchKeyError).code).toBe('NoSuchKey')
    expect((e1 as NoSuchKeyError).bucket).toBe(b.name)
    expect((e1 as NoSuchKeyError).key).toBe('missing/key')
    await expect(b.head('missing/key')).rejects.toBeInstanceOf(NoSuchKeyError)
    const ghost = new Bucket(bucketName('ghost'), s3Options())
    const e2 = await ghost.get('x').catch((e: unknown) => e)
    expect(e2).toBeInstanceOf(NoSuchBucketError)
    expect((e2 as NoSuchBucketError).code).toBe('NoSuchBucket')
    await expect(ghost.ls().toArray()).rejects.toBeInstanceOf(NoSuchBucketError)
  })

  it('copies and moves objects, within and across buckets', async () => {
    const b = bucket()
    await b.put(Buffer.from('copy me'), 'c/src.txt', { metadata: { a: '1' } })
    const c = await b.cp('c/src.txt', 'c/dst.txt')
    expect(c).toMatchObject({ bucket: b.name, key: 'c/dst.txt' })
    expect(await b.read('c/dst.txt')).toBe('copy me')
    expect((await b.head('c/dst.txt')).metadata).toEqual({ a: '1' })
    const other = await Bucket.create(bucketName('other'), s3Options())
    try {
      await b.cp('c/src.txt', 'from-other.txt', { destinationBucket: other.name })
      expect(await other.read('from-other.txt')).toBe('copy me')
    } finally {
      await other.delete({ force: true })
    }
    await b.mv('c/dst.txt', 'c/moved.txt')
    expect(await b.exists('c/dst.txt')).toBe(false)
    expect(await b.read('c/moved.txt')).toBe('copy me')
    const moved = await b.mv(['c/moved.txt', 'c/nope.txt'], ['c/moved2.txt', 'c/nope2.txt'])
    expect(moved.map((r) => r.ok)).toEqual([true, false])
    expect(await b.exists('c/moved.txt')).toBe(false)
    expect(await b.exists('c/moved2.txt')).toBe(true)
  })

  it('copies in parts (UploadPartCopy) above the multipart threshold, byte-exact, keeping metadata', async () => {
    const b = bucket()
    const data = randomBytes(12 * MiB + 123)
    await b.put(data, 'big/src.bin', { metadata: { kind: 'big' }, contentType: 'application/x-big' })
    const copied = await b.cp('big/src.bin', 'big/dst.bin', { multipartThreshold: 5 * MiB, partSize: 5 * MiB })
    expect(copied.size).toBe(data.length)
    expect(sha(await b.get('big/dst.bin'))).toBe(sha(data))
    const h = await b.head('big/dst.bin')
    expect(h.metadata).toEqual({ kind: 'big' })
    expect(h.contentType).toBe('application/x-big')
    expect(h.etag).toMatch(/-3"$/)
    expect(await b.listUploads({ prefix: 'big/' })).toEqual([])
  })

  it('freezes objects and shows the new storage class in head and ls', async () => {
    const b = bucket()
    await b.put([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')], ['f/a', 'f/b', 'f/c'])
    const one = await b.freeze('f/a')
    expect(one.key).toBe('f/a')
    const many = await b.freeze(['f/b', 'f/c'], 'GLACIER')
    expect(many.every((r) => r.ok)).toBe(true)
    await b.cp('f/c', undefined, { storageClass: 'STANDARD_IA' })
    expect((await b.head('f/a')).storageClass).toBe('DEEP_ARCHIVE')
    expect((await b.head('f/b')).storageClass).toBe('GLACIER')
    expect((await b.head('f/c')).storageClass).toBe('STANDARD_IA')
    const listed = (await b.ls('f/')) as ObjectEntry[]
    expect(listed.map((e) => [e.key, e.storageClass])).toEqual([
      ['f/a', 'DEEP_ARCHIVE'],
      ['f/b', 'GLACIER'],
      ['f/c', 'STANDARD_IA'],
    ])
    expect(await b.read('f/a')).toBe('a')
  })

  it('restore on a server without RestoreObject fails with a typed error per item', async () => {
    const b = bucket()
    await b.put(Buffer.from('x'), 'frozen/x')
    await b.freeze('frozen/x')
    const results = await b.restore(['frozen/x'], { days: 1 })
    expect(results).toHaveLength(1)
    expect(results[0]!.ok).toBe(false)
    if (!results[0]!.ok) {
      expect(results[0]!.error.key).toBe('frozen/x')
      expect(['NotImplemented', 'InvalidObjectState']).toContain(results[0]!.error.code)
    }
  })

  it('removes 2500 keys in DeleteObjects batches with one result per key', async () => {
    const b = bucket()
    const keys = Array.from({ length: 2500 }, (_, i) => `rm/${String(i).padStart(5, '0')}`)
    const put = await b.put(
      keys.map(() => null),
      keys,
      { concurrency: 32 },
    )
    expect(put.filter((r) => !r.ok)).toEqual([])
    expect((await b.list('rm/')).length).toBe(2500)
    const removed = await b.rm(keys)
    expect(removed).toHaveLength(2500)
    expect(removed.map((r) => r.key)).toEqual(keys)
    expect(removed.every((r) => r.ok)).toBe(true)
    expect((await b.list('rm/')).length).toBe(0)
    await b.put(null, 'single')
    await b.rm('single')
    expect(await b.exists('single')).toBe(false)
  })

  it("reports a key the DeleteObjects answer lists under <Error> as a failure with the server's code, the others as removed", async () => {
    const keys = ['perkey/a', 'perkey/b & c', 'perkey/d']
    await bucket().put(
      keys.map(() => null),
      keys,
    )
    const proxy = await ScriptedProxy.start(s3Options().endpoint!)
    try {
      // The request reaches the server; its answer says one key failed.
      proxy.script({
        match: (r) => r.method === 'POST' && r.query.has('delete'),
        times: 1,
        action: {
          rewrite: () => ({
            body: '<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Error><Key>perkey/b &amp; c</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>',
          }),
        },
      })
      const b = new Bucket(bucket().name, s3Options({ endpoint: proxy.url }))
      const removed = await b.rm(keys)
      expect(proxy.seen((r) => r.method === 'POST' && r.query.has('delete'))).toHaveLength(1)
      expect(removed.map((r) => [r.key, r.ok])).toEqual([
        ['perkey/a', true],
        ['perkey/b & c', false],
        ['perkey/d', true],
      ])
      const failed = removed[1]!
      if (failed.ok) throw new Error('unreachable')
      expect(failed.error).toBeInstanceOf(BucketflowError)
      expect({ code: failed.error.code, bucket: failed.error.bucket, key: failed.error.key }).toEqual({
        code: 'AccessDenied',
        bucket: bucket().name,
        key: 'perkey/b & c',
      })
    } finally {
      await proxy.close()
    }
  })
})

describe('ls', () => {
  const bucket = useBucket('ls')

  it('lists with prefix and delimiter, and paginates over more than 1000 keys', async () => {
    const b = bucket()
    const keys = Array.from({ length: 1205 }, (_, i) => `many/${String(i).padStart(4, '0')}.txt`)
    const put = await b.put(
      keys.map(() => null),
      keys,
      { concurrency: 32 },
    )
    expect(put.every((r) => r.ok)).toBe(true)
    await b.put([Buffer.from('1'), Buffer.from('22'), Buffer.from('333')], ['top.txt', 'dir/a/1.txt', 'dir/b.txt'])
    const root = await b.ls()
    expect(root.map((e) => `${e.kind}:${e.key}`)).toEqual(['prefix:dir/', 'prefix:many/', 'object:top.txt'])
    const dir = await b.ls('dir/')
    expect(dir.map((e) => `${e.kind}:${e.key}`)).toEqual(['prefix:dir/a/', 'object:dir/b.txt'])
    const rec = await b.ls('dir/', { recursive: true })
    expect(rec.map((e) => e.key)).toEqual(['dir/a/1.txt', 'dir/b.txt'])
    expect((rec[1] as ObjectEntry).size).toBe(3)
    const many: string[] = []
    for await (const e of b.ls('many/', { recursive: true })) many.push(e.key)
    expect(many).toEqual(keys)
    const after = await b.ls('many/', { recursive: true, startAfter: 'many/1199.txt' })
    expect(after.map((e) => e.key)).toEqual(keys.slice(1200))
  })
})

describe('parallel forms', () => {
  const bucket = useBucket('parallel')

  it('puts and gets 200 objects; one bad item fails alone, in input order', async () => {
    const b = bucket()
    const keys = Array.from({ length: 200 }, (_, i) => `p/${i}.bin`)
    const datas = keys.map(() => randomBytes(1000 + Math.floor(Math.random() * 5000)))
    const sources: unknown[] = [...datas]
    const badKeys = [...keys]
    badKeys[57] = 'x'.repeat(1025) // too long
    sources[123] = 42 // not a source
    const results = await b.put(sources as Buffer[], badKeys, { concurrency: 16 })
    expect(results).toHaveLength(200)
    expect(results.map((r) => r.key)).toEqual(badKeys)
    const failed = results.flatMap((r, i) => (r.ok ? [] : [i]))
    expect(failed).toEqual([57, 123])
    expect(results[57]!.ok ? null : results[57]!.error).toBeInstanceOf(InvalidArgumentError)
    expect(results[123]!.ok ? null : results[123]!.error.message).toMatch(/Unsupported source type/)

    const readKeys = [...keys]
    readKeys[5] = 'p/missing.bin'
    const got = await b.get(readKeys)
    expect(got.map((r) => r.key)).toEqual(readKeys)
    got.forEach((r, i) => {
      if (i === 5 || i === 57 || i === 123) {
        expect(r.ok, `item ${i}`).toBe(false)
        return
      }
      expect(r.ok).toBe(true)
      if (r.ok) expect(sha(r.value)).toBe(sha(datas[i]!))
    })
    expect(got[5]!.ok ? null : got[5]!.error).toBeInstanceOf(NoSuchKeyError)

    const heads = await b.head(keys.slice(0, 3))
    expect(heads.map((r) => (r.ok ? r.value.size : -1))).toEqual(datas.slice(0, 3).map((d) => d.length))
  })

  it('stops at the first failure with stopOnError', async () => {
    const b = bucket()
    await expect(b.get(['p/missing-1', 'p/missing-2'], { stopOnError: true })).rejects.toBeInstanceOf(NoSuchKeyError)
  })

  it('downloads one object into an existing folder or a path ending in / under its own name', async () => {
    const b = bucket()
    await b.put('into a folder', 'deep/name.txt', { literal: true })
    const root = await mkdtemp(join(tmpdir(), 'bf-into-'))
    expect(await b.get('deep/name.txt', root)).toBe(join(root, 'name.txt'))
    expect(await b.get('deep/name.txt', `${root}/new/`)).toBe(join(root, 'new', 'name.txt'))
    expect(await readFile(join(root, 'name.txt'), 'utf8')).toBe('into a folder')
    expect(await readFile(join(root, 'new', 'name.txt'), 'utf8')).toBe('into a folder')
    expect((await readdir(root)).sort()).toEqual(['name.txt', 'new'])
  })

  it('skips folder markers (keys ending in /) when downloading a listing into a folder', async () => {
    const b = bucket()
    await b.put(Buffer.alloc(0), 'fm/')
    await b.put(Buffer.alloc(0), 'fm/sub/')
    await b.put('inside', 'fm/sub/x.txt', { literal: true })
    const root = await mkdtemp(join(tmpdir(), 'bf-markers-'))
    const results = await b.get(b.list('fm/'), root, { relativeTo: 'fm/' })
    expect(results.map((r) => [r.key, r.ok])).toEqual([
      ['fm/', true],
      ['fm/sub/', true],
      ['fm/sub/x.txt', true],
    ])
    expect(await readdir(root)).toEqual(['sub'])
    expect(await readFile(join(root, 'sub', 'x.txt'), 'utf8')).toBe('inside')
  })

  it('downloads into given paths and into a mirror folder, refusing keys that escape it', async () => {
    const b = bucket()
    const keys = ['m/a.txt', 'm/deep/b.txt', '../../escape.txt', '/abs.txt', 'm/../../up.txt']
    const put = await b.put(
      keys.map((k) => `content of ${k}`),
      keys,
      { literal: true },
    )
    expect(put.every((r) => r.ok)).toBe(true)
    // A throw-away root with the folder three levels down: a key that escapes by '../../' lands
    // inside the root if the guard is broken, never on the host, and is seen below.
    const root = await mkdtemp(join(tmpdir(), 'bf-mirror-'))
    const dir = join(root, 'l1', 'l2', 'mirror')
    const results = await b.get(keys, dir)
    expect(results.map((r) => r.ok)).toEqual([true, true, false, false, false])
    for (const r of results.slice(2)) {
      expect(r.ok ? null : r.error).toBeInstanceOf(InvalidArgumentError)
      expect(r.ok ? '' : r.error.message).toMatch(/outside the destination folder/)
    }
    expect(await readFile(join(dir, 'm/deep/b.txt'), 'utf8')).toBe('content of m/deep/b.txt')
    // Nothing was written outside the folder.
    expect((await readdir(root, { recursive: true })).sort()).toEqual([
      'l1',
      'l1/l2',
      'l1/l2/mirror',
      'l1/l2/mirror/m',
      'l1/l2/mirror/m/a.txt',
      'l1/l2/mirror/m/deep',
      'l1/l2/mirror/m/deep/b.txt',
    ])

    const paths = [join(root, 'x', 'one.txt'), join(root, 'y', 'two.txt')]
    const explicit = await b.get(['m/a.txt', 'm/deep/b.txt'], paths)
    expect(explicit.map((r) => (r.ok ? r.value : r.error.message))).toEqual(paths)
    expect((await stat(paths[1]!)).size).toBe('content of m/deep/b.txt'.length)
    await rm(root, { recursive: true, force: true })
  })
})

describe('bad input', () => {
  const bucket = useBucket('badinput')

  it('rejects bad arguments before any request, naming the argument and the value', async () => {
    const b = bucket()
    const cases: [() => unknown, RegExp][] = [
      [() => new Bucket('Bad_Name', s3Options()), /Invalid bucket name "Bad_Name"/],
      [() => new Bucket('ab', s3Options()), /Invalid bucket name "ab"/],
      [() => b.put(Buffer.from('x'), ''), /key to be 1 to 1024 UTF-8 bytes long, got 0 bytes/],
      [() => b.put(Buffer.from('x'), 'é'.repeat(513)), /got 1026 bytes/],
      [() => b.put(12 as never, 'k'), /Unsupported source type 12/],
      [() => b.put([Buffer.from('a')], ['a', 'b']), /sources and keys to have the same length, got 1 and 2/],
      [() => b.get(['a'], ['x', 'y']), /keys and destinations to have the same length/],
      [() => b.get(['a'], { concurrency: 0 }), /Expected concurrency to be an integer >= 1, got 0/],
      [() => new Bucket('fine-name', { ...s3Options(), concurrency: 0 }), /Expected concurrency to be an integer >= 1, got 0/],
      [
        () => {
          b.concurrency = -1
        },
        /got -1/,
      ],
      [() => b.cp('a', 'b', { multipartThreshold: 0, partSize: 0 }), /Expected partSize to be an integer between 5242880 and 5368709120, got 0/],
      [() => b.cp('a', 'b', { multipartThreshold: -1 }), /Expected multipartThreshold to be an integer >= 0, got -1/],
      [() => b.abortUploads({ olderThan: -1 }), /Expected olderThan to be milliseconds >= 0 or a valid Date, got -1/],
      [() => b.abortUploads({ olderThan: new Date('nope') }), /Expected olderThan to be milliseconds >= 0 or a valid Date/],
    ]
    for (const [fn, message] of cases) {
      let caught: unknown
      try {
        await fn()
      } catch (err) {
        caught = err
      }
      expect(caught, String(message)).toBeInstanceOf(InvalidArgumentError)
      expect((caught as Error).message).toMatch(message)
      expect((caught as InvalidArgumentError).code).toBe('InvalidArgument')
    }
    expect(b.concurrency).toBe(8)
  })

  it('accepts a 1024-byte key', async () => {
    const b = bucket()
    const key = `${'k'.repeat(1021)}éz` // 1024 bytes
    expect(Buffer.byteLength(key)).toBe(1024)
    await b.put('long', key, { literal: true })
    expect(await b.read(key)).toBe('long')
  })
})
