/**
 * The embedded S3 server (src/server), started in this file, driven through bucketflow's
 * `Bucket` and the AWS SDK directly (for what the library guards against before sending).
 */
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  RestoreObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Bucket, listPages, NoSuchBucketError, NoSuchKeyError, type ObjectEntry } from '../src/index.js'
import { startLocalS3, type LocalS3 } from '../src/server/server.js'

const MiB = 1024 * 1024
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest()
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
const byteOrder = (keys: string[]) => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))

let s3: LocalS3
let n = 0
const options = () => ({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials })
const newBucket = (prefix: string) => Bucket.create(`${prefix}-${++n}`, options())
/** The SDK error a request failed with: its S3 code and HTTP status. */
const failure = (p: Promise<unknown>) =>
  p.then(
    () => ({ name: 'resolved', status: 0 }),
    (e: { name: string; $metadata?: { httpStatusCode?: number } }) => ({ name: e.name, status: e.$metadata?.httpStatusCode ?? 0 }),
  )

beforeAll(async () => {
  s3 = await startLocalS3()
})
afterAll(async () => {
  await s3?.close()
})

describe('startLocalS3', () => {
  it('listens on loopback with a free port and describes itself as AWS environment variables', () => {
    expect(s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(s3.endpoint).not.toMatch(/:0$/)
    expect(s3.env()).toEqual({
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
    })
  })

  it('stops listening on close', async () => {
    const other = await startLocalS3({ region: 'eu-west-1' })
    expect(other.region).toBe('eu-west-1')
    const b = await Bucket.create('closing', { endpoint: other.endpoint, region: other.region, credentials: other.credentials, maxAttempts: 1 })
    await b.put('x', 'x', { literal: true })
    await other.close()
    await expect(fetch(`${other.endpoint}/closing/x`)).rejects.toThrow()
  })
})

describe('objects', () => {
  let b: Bucket
  beforeAll(async () => {
    b = await newBucket('objects')
  })

  for (const size of [0, 1, 100_000, 12 * MiB]) {
    it(`roundtrips ${size} bytes byte-exact, from a Buffer and from a stream`, async () => {
      const data = randomBytes(size)
      const put = await b.put(data, `rt/${size}`)
      expect(put.size).toBe(size)
      expect(sha(await b.get(`rt/${size}`))).toBe(sha(data))
      await b.put(Readable.from([data.subarray(0, size >> 1), data.subarray(size >> 1)]), `rt/${size}.stream`)
      expect(sha(await b.get(`rt/${size}.stream`))).toBe(sha(data))
      expect((await b.head(`rt/${size}`)).etag).toBe(`"${md5(data).toString('hex')}"`)
    })
  }

  it('decodes an aws-chunked upload with a CRC32 trailer from the SDK default checksums', async () => {
    const client = new S3Client({ ...options(), forcePathStyle: true }) // default checksums: streamed bodies go aws-chunked
    const data = randomBytes(300_000)
    await client.send(
      new PutObjectCommand({
        Bucket: b.name,
        Key: 'chunked',
        Body: Readable.from([data.subarray(0, 70_000), data.subarray(70_000)]),
        ContentLength: data.length,
      }),
    )
    expect(sha(await b.get('chunked'))).toBe(sha(data))
    client.destroy()
  })

  it('checks Content-MD5 and refuses a body that does not match', async () => {
    const data = Buffer.from('checked')
    await b.client.send(new PutObjectCommand({ Bucket: b.name, Key: 'md5', Body: data, ContentMD5: md5(data).toString('base64') }))
    const bad = b.client.send(new PutObjectCommand({ Bucket: b.name, Key: 'md5', Body: data, ContentMD5: md5(Buffer.from('other')).toString('base64') }))
    expect(await failure(bad)).toEqual({ name: 'BadDigest', status: 400 })
    expect(await b.read('md5')).toBe('checked')
  })

  it('honours conditional writes and refuses appends', async () => {
    const put = (Body: string, extra: { IfNoneMatch?: string; IfMatch?: string; WriteOffsetBytes?: number }) =>
      b.client.send(new PutObjectCommand({ Bucket: b.name, Key: 'cond', Body, ...extra }))
    await put('v1', { IfNoneMatch: '*' })
    expect(await failure(put('bad', { IfNoneMatch: '*' }))).toEqual({ name: 'PreconditionFailed', status: 412 })
    expect(await failure(put('bad', { IfMatch: '"0000"' }))).toEqual({ name: 'PreconditionFailed', status: 412 })
    await put('v2', { IfMatch: (await b.head('cond')).etag })
    expect(await failure(put('bad', { WriteOffsetBytes: 2 }))).toEqual({ name: 'NotImplemented', status: 501 })
    expect(await b.read('cond')).toBe('v2')
  })

  it('serves ranges: a-b, a-, suffix, suffix longer than the object, 416 and If-Match 412', async () => {
    const data = Buffer.from('0123456789abcdefghij')
    await b.put(data, 'r.txt')
    expect((await b.get('r.txt', { start: 2, end: 5 })).toString()).toBe('234')
    expect((await b.get('r.txt', { start: 15 })).toString()).toBe('fghij')
    expect((await b.get('r.txt', { start: -4 })).toString()).toBe('ghij')
    const get = (Range: string, IfMatch?: string) =>
      b.client.send(new GetObjectCommand({ Bucket: b.name, Key: 'r.txt', Range, ...(IfMatch ? { IfMatch } : {}) }))
    const suffix = await get('bytes=-50')
    expect(suffix.ContentRange).toBe('bytes 0-19/20')
    expect(await suffix.Body!.transformToString()).toBe(data.toString())
    const open = await get('bytes=18-')
    expect([open.ContentRange, open.ContentLength, await open.Body!.transformToString()]).toEqual(['bytes 18-19/20', 2, 'ij'])
    const clipped = await get('bytes=17-99')
    expect(await clipped.Body!.transformToString()).toBe('hij')
    expect(await failure(get('bytes=20-'))).toEqual({ name: 'InvalidRange', status: 416 })
    expect(await failure(get('bytes=0-1', '"0000"'))).toEqual({ name: 'PreconditionFailed', status: 412 })
    const etag = (await b.head('r.txt')).etag
    expect(await (await get('bytes=0-1', etag)).Body!.transformToString()).toBe('01')
    // Python slice semantics: a start past the end is 0 bytes, not an error.
    expect((await b.get('r.txt', { start: 25 })).length).toBe(0)
  })

  it('heads an object with size, ETag, Last-Modified, storage class, content type and metadata', async () => {
    const before = Date.now() - 2000
    await b.put(Buffer.from('hello'), 'h/one.txt', { contentType: 'text/plain', metadata: { color: 'tabby' } })
    const h = await b.head('h/one.txt')
    expect(h).toMatchObject({
      key: 'h/one.txt',
      size: 5,
      etag: '"5d41402abc4b2a76b9719d911017c592"',
      storageClass: 'STANDARD',
      contentType: 'text/plain',
      metadata: { color: 'tabby' },
    })
    expect(h.restore).toBeUndefined()
    expect(h.lastModified!.getTime()).toBeGreaterThan(before)
    expect(h.lastModified!.getTime()).toBeLessThanOrEqual(Date.now())
    await expect(b.head('h/none.txt')).rejects.toBeInstanceOf(NoSuchKeyError)
    await expect(b.get('h/none.txt')).rejects.toBeInstanceOf(NoSuchKeyError)
  })

  it('stores a 1024-byte key and refuses a 1025-byte one with KeyTooLongError', async () => {
    const key = `${'k'.repeat(1021)}éz`
    expect(Buffer.byteLength(key)).toBe(1024)
    await b.put('long', key, { literal: true })
    expect(await b.read(key)).toBe('long')
    expect(((await b.ls('kkk', { recursive: true })) as ObjectEntry[]).map((e) => e.key)).toEqual([key])
    const tooLong = b.client.send(new PutObjectCommand({ Bucket: b.name, Key: `${key}x`, Body: 'x' }))
    expect(await failure(tooLong)).toEqual({ name: 'KeyTooLongError', status: 400 })
  })

  it('copies and moves, keeping or replacing metadata, and refuses a copy onto itself that changes nothing', async () => {
    await b.put(Buffer.from('copy me'), 'c/src.txt', { metadata: { a: '1' }, contentType: 'text/x-cat' })
    expect(await b.cp('c/src.txt', 'c/dst.txt')).toMatchObject({ key: 'c/dst.txt' })
    expect(await b.read('c/dst.txt')).toBe('copy me')
    expect(await b.head('c/dst.txt')).toMatchObject({ metadata: { a: '1' }, contentType: 'text/x-cat' })
    await b.cp('c/src.txt', 'c/new-meta.txt', { metadata: { b: '2' } })
    expect((await b.head('c/new-meta.txt')).metadata).toEqual({ b: '2' })
    await b.mv('c/dst.txt', 'c/sub dir/ü+moved.txt')
    expect(await b.exists('c/dst.txt')).toBe(false)
    expect(await b.read('c/sub dir/ü+moved.txt')).toBe('copy me')
    const self = b.client.send(new CopyObjectCommand({ Bucket: b.name, Key: 'c/src.txt', CopySource: `${b.name}/c/src.txt` }))
    expect(await failure(self)).toEqual({ name: 'InvalidRequest', status: 400 })
    const missing = b.client.send(new CopyObjectCommand({ Bucket: b.name, Key: 'c/x', CopySource: `${b.name}/c/none` }))
    expect(await failure(missing)).toEqual({ name: 'NoSuchKey', status: 404 })
  })

  it('freezes objects: storage class in head and ls, archived bytes unreadable until restored', async () => {
    await b.put([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')], ['f/a', 'f/b', 'f/c'])
    await b.freeze('f/a')
    expect((await b.freeze(['f/b'], 'GLACIER')).every((r) => r.ok)).toBe(true)
    await b.cp('f/c', undefined, { storageClass: 'STANDARD_IA' })
    expect((await b.head('f/a')).storageClass).toBe('DEEP_ARCHIVE')
    expect((await b.head('f/b')).storageClass).toBe('GLACIER')
    const listed = (await b.ls('f/')) as ObjectEntry[]
    expect(listed.map((e) => [e.key, e.storageClass])).toEqual([
      ['f/a', 'DEEP_ARCHIVE'],
      ['f/b', 'GLACIER'],
      ['f/c', 'STANDARD_IA'],
    ])
    expect(await failure(b.client.send(new GetObjectCommand({ Bucket: b.name, Key: 'f/a' })))).toEqual({ name: 'InvalidObjectState', status: 403 })
    expect(await b.read('f/c')).toBe('c')
  })

  it('restores an archived object (202, then x-amz-restore on HEAD) and refuses to restore a STANDARD one', async () => {
    await b.put(Buffer.from('cold'), 'cold.txt')
    await b.freeze('cold.txt', 'GLACIER')
    const restore = (Key: string) =>
      b.client.send(new RestoreObjectCommand({ Bucket: b.name, Key, RestoreRequest: { Days: 2, GlacierJobParameters: { Tier: 'Bulk' } } }))
    expect((await restore('cold.txt')).$metadata.httpStatusCode).toBe(202)
    const h = await b.head('cold.txt')
    expect(h.storageClass).toBe('GLACIER')
    expect(h.restore).toMatch(/^ongoing-request="false", expiry-date="\w{3}, \d{2} \w{3} \d{4} 00:00:00 GMT"$/)
    const expiry = Date.parse(/expiry-date="(.*)"/.exec(h.restore!)![1]!)
    expect(expiry).toBeGreaterThan(Date.now() + 2 * 86_400_000 - 1000)
    expect(expiry).toBeLessThanOrEqual(Date.now() + 3 * 86_400_000)
    expect(await b.read('cold.txt')).toBe('cold')
    expect((await restore('cold.txt')).$metadata.httpStatusCode).toBe(200)
    await b.restore('cold.txt', { days: 1 })
    expect(await failure(restore('h/one.txt'))).toEqual({ name: 'InvalidObjectState', status: 403 })
  })

  it('removes 2500 keys through DeleteObjects with one result per key', async () => {
    const keys = Array.from({ length: 2500 }, (_, i) => `rm/${String(i).padStart(5, '0')}`)
    expect(
      (
        await b.put(
          keys.map(() => null),
          keys,
          { concurrency: 32 },
        )
      ).every((r) => r.ok),
    ).toBe(true)
    expect((await b.list('rm/')).length).toBe(2500)
    const removed = await b.rm([...keys, 'rm/never-there'])
    expect(removed.map((r) => r.key)).toEqual([...keys, 'rm/never-there'])
    expect(removed.every((r) => r.ok)).toBe(true)
    expect((await b.list('rm/')).length).toBe(0)
    await b.put(null, 'rm/a')
    const out = await b.client.send(
      new DeleteObjectsCommand({ Bucket: b.name, Delete: { Quiet: false, Objects: [{ Key: 'rm/a' }, { Key: 'k'.repeat(1025) }, { Key: 'rm/<&>' }] } }),
    )
    expect(out.Deleted!.map((d) => d.Key)).toEqual(['rm/a', 'rm/<&>'])
    expect(out.Errors!.map((e) => [e.Key?.length, e.Code])).toEqual([[1025, 'KeyTooLongError']])
    expect(await b.exists('rm/a')).toBe(false)
  })
})

describe('listing', () => {
  let b: Bucket
  const alphabet = ['a', 'A', 'b', 'B', 'z', 'Z', '0', '!', '~', 'é', 'ÿ', 'ß', 'Ω', '中', '\uff61', '😀', '𝄞', '-', '_']
  const keys: string[] = []
  for (const x of alphabet) for (const y of alphabet) for (const z of ['', '/1', '/x/2']) keys.push(`l/${x}${y}${z}`)
  keys.push('top.txt', 'dir/a/1.txt', 'dir/b.txt')

  beforeAll(async () => {
    b = await newBucket('listing')
    const put = await b.put(
      keys.map(() => null),
      keys,
      { concurrency: 32 },
    )
    expect(put.filter((r) => !r.ok)).toEqual([])
  })

  it('lists more than 1000 keys in UTF-8 byte order, whole and in small pages', async () => {
    const l = keys.filter((k) => k.startsWith('l/'))
    expect(l.length).toBeGreaterThan(600)
    const expected = byteOrder(l)
    expect(expected).not.toEqual([...l].sort()) // JS string order differs: the test can tell them apart
    const all = await b.list('l/')
    expect(all).toEqual(expected)
    const paged: string[] = []
    for await (const page of listPages(b, { prefix: 'l/', pageSize: 7 })) paged.push(...page.objects.map((o) => o.key))
    expect(paged).toEqual(expected)
    const everything = await b.list()
    expect(everything).toEqual(byteOrder(keys))
    expect(everything.length).toBeGreaterThan(1000)
    const after = await b.ls('l/', { recursive: true, startAfter: expected[500]! })
    expect(after.map((e) => e.key)).toEqual(expected.slice(501))
  })

  it('groups common prefixes with a delimiter, also across page boundaries', async () => {
    const root = await b.ls()
    expect(root.map((e) => `${e.kind}:${e.key}`)).toEqual(['prefix:dir/', 'prefix:l/', 'object:top.txt'])
    expect((await b.ls('dir/')).map((e) => `${e.kind}:${e.key}`)).toEqual(['prefix:dir/a/', 'object:dir/b.txt'])
    const level = byteOrder([
      ...new Set(keys.filter((k) => k.startsWith('l/')).map((k) => k.split('/').slice(0, 2).join('/') + (k.split('/').length > 2 ? '/' : ''))),
    ])
    const pages: string[] = []
    for await (const page of listPages(b, { prefix: 'l/', delimiter: '/', pageSize: 4 })) {
      pages.push(...byteOrder([...page.objects.map((o) => o.key), ...page.prefixes]))
    }
    expect(pages).toEqual(level)
    const out = await b.client.send(new ListObjectsV2Command({ Bucket: b.name, Prefix: 'l/a', Delimiter: '/', MaxKeys: 3 }))
    expect([out.KeyCount, out.IsTruncated, out.MaxKeys, out.Prefix, out.Delimiter]).toEqual([3, true, 3, 'l/a', '/'])
    // The token continues the listing right after the page's last entry.
    const after = await b.client.send(
      new ListObjectsV2Command({ Bucket: b.name, Prefix: 'l/a', Delimiter: '/', MaxKeys: 1000, ContinuationToken: out.NextContinuationToken! }),
    )
    const firstPage = [...(out.Contents ?? []).map((c) => c.Key!), ...(out.CommonPrefixes ?? []).map((p) => p.Prefix!)]
    const rest = [...(after.Contents ?? []).map((c) => c.Key!), ...(after.CommonPrefixes ?? []).map((p) => p.Prefix!)]
    expect(byteOrder([...firstPage, ...rest])).toEqual(level.filter((e) => e.startsWith('l/a')))
    const v1: string[] = []
    for (let marker: string | undefined, pages = 0; pages === 0 || marker !== undefined; pages++) {
      const o = await b.client.send(new ListObjectsCommand({ Bucket: b.name, Prefix: 'l/', Delimiter: '/', MaxKeys: 5, ...(marker ? { Marker: marker } : {}) }))
      v1.push(...(o.CommonPrefixes ?? []).map((p) => p.Prefix!), ...(o.Contents ?? []).map((c) => c.Key!))
      marker = o.IsTruncated ? o.NextMarker : undefined
      expect(pages).toBeLessThan(200)
    }
    expect(byteOrder(v1)).toEqual(level)
  })

  it('reports KeyCount and StorageClass and the owner with fetch-owner', async () => {
    const out = await b.client.send(new ListObjectsV2Command({ Bucket: b.name, Prefix: 'dir/', FetchOwner: true }))
    expect(out.KeyCount).toBe(2)
    expect(out.IsTruncated).toBe(false)
    expect(out.Contents!.map((o) => [o.Key, o.StorageClass, o.Size, typeof o.Owner?.ID])).toEqual([
      ['dir/a/1.txt', 'STANDARD', 0, 'string'],
      ['dir/b.txt', 'STANDARD', 0, 'string'],
    ])
  })

  it('url-encodes keys with encoding-type=url', async () => {
    await b.put(null, 'enc/a b+c/ü')
    const out = await b.client.send(new ListObjectsV2Command({ Bucket: b.name, Prefix: 'enc/', EncodingType: 'url' }))
    expect(out.Contents!.map((o) => o.Key)).toEqual(['enc/a+b%2Bc/%C3%BC'])
  })
})

describe('multipart', () => {
  let b: Bucket
  beforeAll(async () => {
    b = await newBucket('multipart')
  })

  it('completes a 12 MiB lib-storage Upload (5 MiB parts) byte-exact with the md5-of-md5s ETag', async () => {
    const data = randomBytes(12 * MiB)
    const upload = new Upload({ client: b.client, params: { Bucket: b.name, Key: 'big.bin', Body: Readable.from([data]) }, partSize: 5 * MiB, queueSize: 2 })
    const done = await upload.done()
    const parts = [data.subarray(0, 5 * MiB), data.subarray(5 * MiB, 10 * MiB), data.subarray(10 * MiB)]
    const expected = `"${md5(Buffer.concat(parts.map(md5))).toString('hex')}-3"`
    expect(done.ETag).toBe(expected)
    const h = await b.head('big.bin')
    expect([h.size, h.etag]).toEqual([data.length, expected])
    expect(sha(await b.get('big.bin'))).toBe(sha(data))
  })

  it('checks parts on completion: EntityTooSmall, InvalidPart, InvalidPartOrder; copies ranges with UploadPartCopy', async () => {
    const c = b.client
    const { UploadId } = await c.send(
      new CreateMultipartUploadCommand({ Bucket: b.name, Key: 'parts.bin', ContentType: 'application/x-parts', StorageClass: 'STANDARD_IA' }),
    )
    const part = (PartNumber: number, Body: Buffer) => c.send(new UploadPartCommand({ Bucket: b.name, Key: 'parts.bin', UploadId, PartNumber, Body }))
    const complete = (Parts: { PartNumber: number; ETag: string }[]) =>
      c.send(new CompleteMultipartUploadCommand({ Bucket: b.name, Key: 'parts.bin', UploadId, MultipartUpload: { Parts } }))
    const small = randomBytes(1000)
    const e1 = (await part(1, small)).ETag!
    const e2 = (await part(2, small)).ETag!
    expect(
      await failure(
        complete([
          { PartNumber: 1, ETag: e1 },
          { PartNumber: 2, ETag: e2 },
        ]),
      ),
    ).toEqual({ name: 'EntityTooSmall', status: 400 })
    expect(await failure(complete([{ PartNumber: 1, ETag: '"00"' }]))).toEqual({ name: 'InvalidPart', status: 400 })
    expect(await failure(complete([{ PartNumber: 3, ETag: e1 }]))).toEqual({ name: 'InvalidPart', status: 400 })
    expect(
      await failure(
        complete([
          { PartNumber: 2, ETag: e2 },
          { PartNumber: 1, ETag: e1 },
        ]),
      ),
    ).toEqual({ name: 'InvalidPartOrder', status: 400 })
    const big = randomBytes(6 * MiB)
    await b.put(big, 'copy-source.bin')
    const copied = await c.send(
      new UploadPartCopyCommand({
        Bucket: b.name,
        Key: 'parts.bin',
        UploadId,
        PartNumber: 1,
        CopySource: `${b.name}/copy-source.bin`,
        CopySourceRange: `bytes=0-${5 * MiB}`,
      }),
    )
    const listed = await c.send(new ListPartsCommand({ Bucket: b.name, Key: 'parts.bin', UploadId }))
    expect(listed.Parts!.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual([
      [1, 5 * MiB + 1, copied.CopyPartResult!.ETag],
      [2, 1000, e2],
    ])
    await complete([
      { PartNumber: 1, ETag: copied.CopyPartResult!.ETag! },
      { PartNumber: 2, ETag: e2 },
    ])
    expect(sha(await b.get('parts.bin'))).toBe(sha(Buffer.concat([big.subarray(0, 5 * MiB + 1), small])))
    expect(await b.head('parts.bin')).toMatchObject({ contentType: 'application/x-parts', storageClass: 'STANDARD_IA' })
    expect(await failure(complete([{ PartNumber: 2, ETag: e2 }]))).toEqual({ name: 'NoSuchUpload', status: 404 })
  })

  it('lists unfinished uploads by prefix and aborts them, leaving none', async () => {
    const c = b.client
    const ids: string[] = []
    for (const Key of ['up/b', 'up/a', 'other/x', 'up/b']) ids.push((await c.send(new CreateMultipartUploadCommand({ Bucket: b.name, Key }))).UploadId!)
    const listed = await c.send(new ListMultipartUploadsCommand({ Bucket: b.name, Prefix: 'up/' }))
    expect(listed.Uploads!.map((u) => [u.Key, u.UploadId])).toEqual([
      ['up/a', ids[1]],
      ['up/b', ids[0]],
      ['up/b', ids[3]],
    ])
    const paged: string[] = []
    let markers = {}
    for (let truncated = true; truncated; ) {
      const page = await c.send(new ListMultipartUploadsCommand({ Bucket: b.name, MaxUploads: 1, ...markers }))
      paged.push(...page.Uploads!.map((u) => u.UploadId!))
      truncated = page.IsTruncated ?? false
      markers = { KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker }
    }
    expect(paged).toEqual([ids[2], ids[1], ids[0], ids[3]])
    await c.send(new AbortMultipartUploadCommand({ Bucket: b.name, Key: 'up/b', UploadId: ids[3] }))
    await c.send(new AbortMultipartUploadCommand({ Bucket: b.name, Key: 'up/b', UploadId: ids[0] }))
    expect(await failure(c.send(new AbortMultipartUploadCommand({ Bucket: b.name, Key: 'up/b', UploadId: ids[0] })))).toEqual({
      name: 'NoSuchUpload',
      status: 404,
    })
    await c.send(new AbortMultipartUploadCommand({ Bucket: b.name, Key: 'up/a', UploadId: ids[1] }))
    await c.send(new AbortMultipartUploadCommand({ Bucket: b.name, Key: 'other/x', UploadId: ids[2] }))
    expect((await c.send(new ListMultipartUploadsCommand({ Bucket: b.name }))).Uploads ?? []).toEqual([])
  })
})

describe('buckets and errors', () => {
  it('creates, refuses a repeat, refuses to delete a non-empty bucket, then deletes it', async () => {
    const b = await newBucket('lifecycle')
    expect(await failure(b.client.send(new CreateBucketCommand({ Bucket: b.name })))).toEqual({ name: 'BucketAlreadyOwnedByYou', status: 409 })
    await Bucket.create(b.name, options()) // the library treats the repeat as success
    expect((await b.client.send(new ListBucketsCommand({}))).Buckets!.map((x) => x.Name)).toContain(b.name)
    expect((await b.client.send(new HeadBucketCommand({ Bucket: b.name }))).$metadata.httpStatusCode).toBe(200)
    await b.put('x', 'x', { literal: true })
    expect(await failure(b.client.send(new DeleteBucketCommand({ Bucket: b.name })))).toEqual({ name: 'BucketNotEmpty', status: 409 })
    await b.delete({ force: true })
    await expect(b.ls().toArray()).rejects.toBeInstanceOf(NoSuchBucketError)
    await expect(b.get('x')).rejects.toBeInstanceOf(NoSuchBucketError)
    expect(await failure(b.client.send(new HeadBucketCommand({ Bucket: b.name })))).toEqual({ name: 'NotFound', status: 404 })
    expect((await b.client.send(new ListBucketsCommand({}))).Buckets?.map((x) => x.Name) ?? []).not.toContain(b.name)
  })

  it('answers S3 XML errors with Code, Message, Resource and RequestId, and 501 for what it lacks', async () => {
    const res = await fetch(`${s3.endpoint}/no-such-bucket/some%20key`)
    expect(res.status).toBe(404)
    const text = await res.text()
    expect(text).toMatch(
      /<Error><Code>NoSuchBucket<\/Code><Message>[^<]+<\/Message>.*<Resource>\/no-such-bucket\/some key<\/Resource><RequestId>\w+<\/RequestId><\/Error>/,
    )
    expect(res.headers.get('x-amz-request-id')).toMatch(/^\w+$/)
    const b = await newBucket('errors')
    await b.put('x', 'x', { literal: true })
    expect(await failure(b.client.send(new GetObjectTaggingCommand({ Bucket: b.name, Key: 'x' })))).toEqual({ name: 'NotImplemented', status: 501 })
    expect((await fetch(`${s3.endpoint}/${b.name}/x`, { method: 'PATCH' })).status).toBe(501)
  })
})
