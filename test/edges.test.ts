/**
 * The library's edges found by using it as a new user would: lists that are not arrays, a
 * Writable or a file: URL as a destination, folder uploads and downloads relative to a prefix,
 * append's sources, short value descriptions in messages, content types, and the index edges
 * (empty and missing listings, the cache file).
 */
import { mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { pathToFileURL } from 'node:url'
import { S3Client } from '@aws-sdk/client-s3'
import { describe, expect, inject, it } from 'vitest'
import { Bucket, collect, InvalidArgumentError, listPartitioned, NoSuchBucketError, readParquet, toRecordBatches, writeParquet } from '../src/index.js'
import { contentTypeOf } from '../src/mime.js'
import { describeValue } from '../src/validate.js'
import { FaultProxy } from './support/proxy.js'
import { bucketName, s3Options, useBucket } from './support/s3.js'

const temp = (p: string) => mkdtemp(join(tmpdir(), `bf-edges-${p}-`))

describe('library edges', () => {
  const bucket = useBucket('edges')

  it('takes any iterable of keys in the list forms: a Set, a generator, an Arrow column, a listing', async () => {
    const b = bucket()
    const keys = ['it/a.txt', 'it/b.txt', 'it/c.txt']
    await b.put(new Set(['A', 'B', 'C'].map((s) => Buffer.from(s))), new Set(keys))
    // Seen: "Expected key to be a string" for a Set or an Arrow column.
    const fromSet = await b.get(new Set(keys))
    expect(fromSet.map((r) => (r.ok ? r.value.toString() : r.error.message))).toEqual(['A', 'B', 'C'])
    const gen = function* () {
      yield* keys
    }
    expect((await b.head(gen())).map((r) => r.ok && r.value.size)).toEqual([1, 1, 1])
    const index = await b.index({ prefix: 'it/' })
    const column = index.getChild('Key')!
    const viaColumn = await b.get(column)
    expect(viaColumn.map((r) => r.key)).toEqual(keys)
    expect(viaColumn.every((r) => r.ok)).toBe(true)
    const copies = await b.cp(
      column,
      keys.map((k) => k.replace('it/', 'it2/')),
    )
    expect(copies.every((r) => r.ok)).toBe(true)
    const dir = await temp('list')
    const toFiles = await b.get(b.list('it2/'), dir)
    expect(toFiles.map((r) => r.ok)).toEqual([true, true, true])
    expect((await b.rm(b.list('it2/'))).length).toBe(3)
    expect(await b.list('it2/')).toEqual([])
  })

  it('writes get(key, writable) to the Writable, and takes a file: URL as a path', async () => {
    const b = bucket()
    await b.put('stream me', 'w/one.txt', { literal: true })
    const sink = new PassThrough()
    const chunks: Buffer[] = []
    sink.on('data', (c: Buffer) => chunks.push(c))
    // Seen: a Writable or a URL was taken for options: a Buffer came back and nothing was written.
    expect(await b.get('w/one.txt', sink)).toBeUndefined()
    expect(Buffer.concat(chunks).toString()).toBe('stream me')
    const dir = await temp('url')
    const url = pathToFileURL(join(dir, 'one.txt'))
    expect(await b.get('w/one.txt', url)).toBe(join(dir, 'one.txt'))
    expect(await readFile(join(dir, 'one.txt'), 'utf8')).toBe('stream me')
    await expect(b.get('w/one.txt', new URL('https://example.com/x'))).rejects.toThrow(/local path or a file: URL/)
    expect((await b.put(url, 'w/from-url.txt')).size).toBe(9)
  })

  it('downloads into folders it makes, small and large files alike, and makes none for a failed download', async () => {
    const b = bucket()
    const small = Buffer.alloc(4096, 7)
    const large = Buffer.alloc(300 * 1024 + 5, 9) // above the size written with synchronous calls
    await b.put([small, large], ['f/small.bin', 'f/large.bin'])
    const dir = await temp('folders')
    expect(await b.get('f/small.bin', join(dir, 'a', 'b', 'small.bin'))).toBe(join(dir, 'a', 'b', 'small.bin'))
    expect(await b.get('f/large.bin', join(dir, 'c', 'large.bin'))).toBe(join(dir, 'c', 'large.bin'))
    expect((await readFile(join(dir, 'a', 'b', 'small.bin'))).equals(small)).toBe(true)
    expect((await readFile(join(dir, 'c', 'large.bin'))).equals(large)).toBe(true)
    // An existing file is replaced, and no temporary file is left beside it.
    await b.put('new', 'f/small.bin', { literal: true })
    await b.get('f/small.bin', join(dir, 'a', 'b', 'small.bin'))
    expect(await readFile(join(dir, 'a', 'b', 'small.bin'), 'utf8')).toBe('new')
    expect(await readdir(join(dir, 'a', 'b'))).toEqual(['small.bin'])
    // A key that does not exist: the error, and no folder made for it.
    await expect(b.get('f/missing.bin', join(dir, 'x', 'y', 'missing.bin'))).rejects.toMatchObject({ code: 'NoSuchKey' })
    const results = await b.get(['f/missing.bin', 'f/large.bin'], join(dir, 'many'))
    expect(results.map((r) => r.ok)).toEqual([false, true])
    expect((await readdir(dir)).sort()).toEqual(['a', 'c', 'many'])
    expect(await readdir(join(dir, 'many', 'f'))).toEqual(['large.bin'])
    // A parent that is a file: the download's own error stays what it is, and a write error names
    // the destination, not the temporary file.
    await writeFile(join(dir, 'plain.txt'), 'keep')
    await expect(b.get('f/missing.bin', join(dir, 'plain.txt', 'm.bin'))).rejects.toMatchObject({ code: 'NoSuchKey' })
    for (const key of ['f/small.bin', 'f/large.bin']) {
      const err = await b.get(key, join(dir, 'plain.txt', 'x.bin')).catch((e: Error) => e)
      expect(err, key).toMatchObject({ code: 'ENOTDIR', key })
      expect((err as Error).message, key).toContain(`'${join(dir, 'plain.txt', 'x.bin')}'`)
      expect((err as Error).message, key).not.toMatch(/partial/)
    }
    expect(await readFile(join(dir, 'plain.txt'), 'utf8')).toBe('keep')

    // A large download (streamed, or in ranges) that fails after its file was created takes the
    // folders it made away again.
    const big = Buffer.alloc(9 * 1024 * 1024, 3)
    await b.put(big, 'f/big.bin')
    const proxy = await FaultProxy.start(s3Options().endpoint!)
    try {
      const corrupting = new Bucket(b.name, s3Options({ endpoint: proxy.url }))
      for (const rangeConcurrency of [1, 4]) {
        proxy.addRule({ match: (r) => r.op === 'GetObject', fault: 'corrupt-body' })
        const err = await corrupting
          .get('f/big.bin', join(dir, 'gone', 'deep', 'big.bin'), { rangeConcurrency, partSize: 5 * 1024 * 1024 })
          .catch((e: Error) => e)
        proxy.clearRules()
        expect(err, `rangeConcurrency ${rangeConcurrency}`).toMatchObject({ name: 'IntegrityError' })
        expect((await readdir(dir)).sort(), `rangeConcurrency ${rangeConcurrency}`).toEqual(['a', 'c', 'many', 'plain.txt'])
      }
    } finally {
      await proxy.close()
    }
  })

  it('uploads a folder with put(dir, "prefix/"), a file to prefix + its name, and refuses a folder without a prefix', async () => {
    const b = bucket()
    const dir = await temp('folder')
    await mkdir(join(dir, 'sub', 'deeper'), { recursive: true })
    await mkdir(join(dir, 'empty'))
    await writeFile(join(dir, 'a.csv'), 'a,b\n')
    await writeFile(join(dir, 'sub', 'deeper', 'c.json'), '{}')
    await symlink('a.csv', join(dir, 'link.csv'))
    await symlink('gone', join(dir, 'dangling'))
    const results = await b.put(dir, 'up/')
    expect(results.map((r) => [r.key, r.ok])).toEqual([
      ['up/a.csv', true],
      ['up/dangling', false],
      ['up/link.csv', true],
      ['up/sub/deeper/c.json', true],
    ])
    const failed = results.find((r) => !r.ok)
    expect(failed && !failed.ok && failed.error).toBeInstanceOf(InvalidArgumentError)
    expect((await b.head('up/sub/deeper/c.json')).contentType).toBe('application/json')
    const one = await b.put(join(dir, 'a.csv'), 'single/')
    expect(one.map((r) => r.key)).toEqual(['single/a.csv'])
    await expect(b.put(dir, 'noslash')).rejects.toThrow(/is a folder; to upload the files in it, pass a key prefix ending in "\/"/)
    // A folder marker is still an object of its own.
    expect((await b.put(null, 'marker/')).size).toBe(0)
  })

  it('downloads keys relative to a prefix with get(keys, dir, { relativeTo })', async () => {
    const b = bucket()
    await b.put(['1', '2', '3'], ['rel/logs/2024/a', 'rel/logs/2024/b', 'rel/other/c'], { literal: true })
    const dir = await temp('rel')
    const results = await b.get(['rel/logs/2024/a', 'rel/logs/2024/b', 'rel/other/c'], dir, { relativeTo: 'rel/logs' })
    expect(results.map((r) => r.ok)).toEqual([true, true, false])
    expect(results[0]!.ok && results[0]!.value).toBe(join(dir, '2024', 'a'))
    expect(await readdir(dir, { recursive: true })).toEqual(expect.arrayContaining(['2024', '2024/a', '2024/b']))
    expect((await readdir(dir, { recursive: true })).length).toBe(3)
    const outside = results[2]!
    expect(!outside.ok && outside.error.message).toMatch(/not under relativeTo "rel\/logs\/"/)
  })

  it("describes bad values briefly, never with a function's source, and rejects instead of throwing", async () => {
    const b = bucket()
    function secretSource() {
      return 'do not print me'
    }
    const put = b.put(secretSource as never, 'k')
    expect(put).toBeInstanceOf(Promise)
    const err = (await put.catch((e: unknown) => e)) as Error
    expect(err).toBeInstanceOf(InvalidArgumentError)
    expect(err.message).toMatch(/a function \(secretSource\)/)
    expect(err.message).not.toMatch(/do not print me/)
    const list = b.put(Buffer.from('x') as never, ['a', 'b'])
    expect(list).toBeInstanceOf(Promise)
    await expect(list).rejects.toThrow(InvalidArgumentError)
    await expect(b.get((() => 'x') as never)).rejects.toThrow(/Expected key to be a string, got a function/)
    expect(describeValue(new Map())).toBe('a Map')
    expect(describeValue([1, 2, 3])).toBe('an array of 3')
    expect(describeValue(Readable.from([]))).toBe('a Readable')
    expect(describeValue({ a: 1 })).toBe('an object')
    expect(describeValue('x'.repeat(200))).toHaveLength(82)
  })

  it('stores the content type of a file from its extension unless contentType is given', async () => {
    const b = bucket()
    const dir = await temp('ct')
    await writeFile(join(dir, 'page.html'), '<p>')
    await b.put(join(dir, 'page.html'), 'ct/page')
    expect((await b.head('ct/page')).contentType).toBe('text/html')
    await b.put(join(dir, 'page.html'), 'ct/forced', { contentType: 'text/plain' })
    expect((await b.head('ct/forced')).contentType).toBe('text/plain')
    await b.put('plain text', 'ct/literal.html', { literal: true })
    expect((await b.head('ct/literal.html')).contentType).not.toBe('text/html')
    expect(contentTypeOf('a/b/C.PNG')).toBe('image/png')
    expect(contentTypeOf('index.parquet')).toBe('application/vnd.apache.parquet')
    expect(contentTypeOf('rows.ndjson')).toBe('application/x-ndjson')
    expect(contentTypeOf('.hidden')).toBeUndefined()
    expect(contentTypeOf('Makefile')).toBeUndefined()
  })
})

describe('append takes the sources of put, with the same literal rule', () => {
  it("sends a file path's bytes, a stream's bytes, a literal string; a plain string is a path", async () => {
    const s3 = inject('s3')
    const proxy = await FaultProxy.start(s3.endpoint)
    const client = new S3Client({
      endpoint: proxy.url,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: s3Options().credentials!,
      maxAttempts: 1,
      disableS3ExpressSessionAuth: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    })
    try {
      const express = new Bucket('edges--use1-az4--x-s3', { client })
      const dir = await temp('append')
      await writeFile(join(dir, 'lines.txt'), 'from a file\n')
      const sent = async (source: unknown, options: { literal?: boolean } = {}) => {
        proxy.clearRequests()
        // radosgw has no such bucket: the request is what counts here.
        await express.append(source as never, 'app.log', { offset: 0, ...options }).catch(() => undefined)
        return proxy.of('PutObject').map((r) => r.bytes)
      }
      expect(await sent(join(dir, 'lines.txt'))).toEqual([12])
      expect(await sent(Readable.from([Buffer.from('ab'), Buffer.from('cd')]))).toEqual([4])
      expect(await sent('literal\n', { literal: true })).toEqual([8])
      proxy.clearRequests()
      const err = (await express.append('not a file\n', 'app.log', { offset: 0 }).catch((e: unknown) => e)) as Error
      expect(err).toBeInstanceOf(InvalidArgumentError)
      expect(err.message).toMatch(/pass \{ literal: true \}/)
      expect(proxy.requests).toEqual([])
    } finally {
      client.destroy()
      await proxy.close()
    }
  })
})

describe('index edges', () => {
  const bucket = useBucket('edges-index')

  it('writes an empty listing as a valid 0-row Parquet file with the listing schema', async () => {
    const b = bucket()
    const file = join(await temp('empty'), 'empty.parquet')
    // Seen: this never settled ("Dyn casting error" inside parquet-wasm).
    const result = await writeParquet(toRecordBatches(listPartitioned(b, { prefix: 'nothing/' })), file)
    expect(result.rows).toBe(0)
    const table = await readParquet(file)
    expect(table.numRows).toBe(0)
    expect(table.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual([
      'Key:Utf8',
      'LastModified:Timestamp<MILLISECOND, UTC>',
      'ETag:Utf8',
      'Size:Int64',
      'StorageClass:Dictionary<Int32, Utf8>',
    ])
    await expect(writeParquet([], join(await temp('none'), 'none.parquet'))).rejects.toThrow(/at least one record batch/)
  })

  it('rejects when the listing fails before its first page, leaving nothing at the destination', async () => {
    const missing = new Bucket(bucketName('missing'), s3Options())
    const dir = await temp('missing')
    // Seen: an unhandled 'error' event, a .partial file, and a promise that never settled.
    await expect(writeParquet(toRecordBatches(listPartitioned(missing)), join(dir, 'out', 'index.parquet'))).rejects.toBeInstanceOf(NoSuchBucketError)
    expect(await readdir(dir)).toEqual([])
    const b = bucket()
    await expect(writeParquet(toRecordBatches(listPartitioned(missing)), { bucket: b, key: 'idx/missing.parquet' })).rejects.toBeInstanceOf(NoSuchBucketError)
    expect(await b.listUploads({ prefix: 'idx/' })).toEqual([])
    expect(await b.exists('idx/missing.parquet')).toBe(false)
  })

  it('index({ cache }) reads an existing cache file and lists only on updateContents() or refresh', async () => {
    const s3 = inject('s3')
    const b = bucket()
    await b.put(['1', '2'], ['c/a', 'c/b'], { literal: true })
    const cache = join(await temp('cache'), 'index.parquet')
    const first = await b.index({ cache })
    expect(first.numRows).toBe(2)
    await b.put('3', 'c/c', { literal: true })
    const proxy = await FaultProxy.start(s3.endpoint)
    try {
      const fresh = new Bucket(b.name, s3Options({ endpoint: proxy.url }))
      // Seen: every call listed the bucket again.
      const cached = await fresh.index({ cache })
      expect(cached.numRows).toBe(2)
      expect(proxy.count('ListObjects')).toBe(0)
      const updated = await fresh.updateContents({ cache })
      expect(updated.numRows).toBe(3)
      expect(proxy.count('ListObjects')).toBeGreaterThan(0)
      expect((await readParquet(cache)).numRows).toBe(3)
      proxy.clearRequests()
      expect((await fresh.index({ cache })).numRows).toBe(3)
      expect(proxy.count('ListObjects')).toBe(0)
      await b.put('4', 'c/d', { literal: true })
      expect((await fresh.index({ cache, refresh: true })).numRows).toBe(4)
      expect(proxy.count('ListObjects')).toBeGreaterThan(0)
    } finally {
      await proxy.close()
    }
    expect(await collect(toRecordBatches([]))).toHaveLength(1)
  })
})
