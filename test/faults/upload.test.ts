/**
 * Uploads and copies under faults on the wire: bodies corrupted on the way to the server,
 * CompleteMultipartUpload and CopyObject answering 200 with an `<Error>` document, answers lost
 * after the server did the work.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Bucket, BucketflowError, IntegrityError, multipartEtag, type Bucket as BucketType } from '../../src/index.js'
import { FaultProxy, type ProxiedRequest } from '../support/proxy.js'
import { s3Options, useBucket } from '../support/s3.js'

const MiB = 1024 * 1024
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex')

async function uploadsOf(b: BucketType, key: string): Promise<string[]> {
  const out = await b.client.send(new ListMultipartUploadsCommand({ Bucket: b.name, Prefix: key }))
  return (out.Uploads ?? []).filter((u) => u.Key === key).map((u) => u.UploadId!)
}

describe('uploads under faults', () => {
  const bucket = useBucket('faults-put')
  let proxy: FaultProxy
  let via: Bucket
  beforeAll(async () => {
    proxy = await FaultProxy.start(s3Options().endpoint!)
    via = new Bucket(bucket().name, s3Options({ endpoint: proxy.url, idleTimeout: 2000 }))
  })
  afterAll(async () => {
    via.client.destroy()
    await proxy.close()
  })
  const is = (op: string, key: string) => (r: ProxiedRequest) => r.op === op && r.key === key

  it('sends a Content-MD5 with put(Buffer) and put(path), and sends a body corrupted on the way again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bf-faults-put-'))
    const data = randomBytes(300_000)
    const file = join(dir, 'src.bin')
    await writeFile(file, data)
    for (const [name, source] of [
      ['buffer', data],
      ['path', file],
      ['literal', 'a literal string, corrupted once'],
    ] as const) {
      const key = `md5/${name}`
      proxy.clearRequests()
      proxy.addRule({ match: is('PutObject', key), fault: 'corrupt-request', times: 1 })
      const result = await via.put(source, key, name === 'literal' ? { literal: true } : {})
      const expected = name === 'literal' ? Buffer.from(source) : data
      expect(result.verified, name).toBe('md5')
      expect(result.etag.replace(/"/g, ''), name).toBe(md5(expected))
      expect(sha(await bucket().get(key)), name).toBe(sha(expected))
      const puts = proxy.of('PutObject', (r) => r.key === key)
      expect(
        puts.map((r) => r.fault ?? r.status),
        name,
      ).toEqual(['corrupt-request', 200])
      expect(puts[0]!.headers['content-md5'], name).toBe(createHash('md5').update(expected).digest('base64'))
    }
  })

  it('sends a corrupted single-part stream and a corrupted part again from the bytes it kept', async () => {
    for (const size of [1000, 6 * MiB]) {
      const key = `md5/stream-${size}`
      const data = randomBytes(size)
      proxy.addRule({ match: (r) => (r.op === 'PutObject' || r.op === 'UploadPart') && r.key === key, fault: 'corrupt-request', times: 1 })
      const result = await via.putStream(Readable.from([data]), key, { partSize: 5 * MiB })
      expect(result.verified).toBe('md5')
      expect(sha(await bucket().get(key))).toBe(sha(data))
    }
  })

  for (const trailing of ['', '\n', '\r\n  \n']) {
    it(`retries a CompleteMultipartUpload answered 200 with <Error>${JSON.stringify(trailing)}, before or after the server completed`, async () => {
      for (const fault of ['error-200-unprocessed', 'error-200'] as const) {
        const key = `complete/${fault}-${trailing.length}`
        const data = randomBytes(6 * MiB)
        proxy.clearRequests()
        proxy.addRule({ match: is('CompleteMultipartUpload', key), fault, trailing, times: 1 })
        const result = await via.putStream(Readable.from([data]), key, { partSize: 5 * MiB })
        expect(result.parts).toBe(2)
        expect(result.size).toBe(data.length)
        expect(sha(await bucket().get(key))).toBe(sha(data))
        expect(proxy.of('CompleteMultipartUpload', (r) => r.key === key).length).toBe(2)
        expect(await uploadsOf(bucket(), key)).toEqual([])
      }
    })
  }

  it('an <Error> on every Complete fails typed, keeps the object that was there, and leaves no upload', async () => {
    const key = 'complete/always-error'
    const previous = randomBytes(1234)
    await bucket().put(previous, key)
    proxy.addRule({ match: is('CompleteMultipartUpload', key), fault: 'error-200-unprocessed', trailing: '\n' })
    const err = await via.putStream(Readable.from([randomBytes(6 * MiB)]), key, { partSize: 5 * MiB }).catch((e: unknown) => e)
    proxy.clearRules()
    expect(err).toBeInstanceOf(BucketflowError)
    expect((err as BucketflowError).code).toBe('InternalError')
    expect((err as BucketflowError).key).toBe(key)
    expect(sha(await bucket().get(key))).toBe(sha(previous))
    expect(await uploadsOf(bucket(), key)).toEqual([])
  })

  it('after a lost answer, NoSuchUpload on the retry is success when the object is provably the one written', async () => {
    const key = 'complete/lost-answer'
    const data = randomBytes(6 * MiB)
    proxy.clearRequests()
    // The server completes, the answer is lost; the retry hears NoSuchUpload (as AWS answers).
    proxy.addRule({ match: is('CompleteMultipartUpload', key), fault: 'reset-after', times: 1 })
    proxy.addRule({ match: is('CompleteMultipartUpload', key), fault: 'no-such-upload', times: 1 })
    const result = await via.putStream(Readable.from([data]), key, { partSize: 5 * MiB })
    const expected = multipartEtag([md5(data.subarray(0, 5 * MiB)), md5(data.subarray(5 * MiB))])
    expect(result.etag.replace(/"/g, '')).toBe(expected)
    expect(sha(await bucket().get(key))).toBe(sha(data))
    expect(await uploadsOf(bucket(), key)).toEqual([])
  })

  it('NoSuchUpload with another object under the key fails, never resolves with its ETag, and never deletes it', async () => {
    const key = 'complete/not-ours'
    const theirs = randomBytes(6 * MiB)
    await bucket().putStream(Readable.from([theirs]), key, { partSize: 5 * MiB }) // a multipart object of the same size
    const theirEtag = (await bucket().head(key)).etag
    // Complete is never processed; the retry hears NoSuchUpload.
    proxy.addRule({ match: is('CompleteMultipartUpload', key), reset: true, times: 1 })
    proxy.addRule({ match: is('CompleteMultipartUpload', key), fault: 'no-such-upload', times: 1 })
    const err = await via.putStream(Readable.from([randomBytes(6 * MiB)]), key, { partSize: 5 * MiB }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BucketflowError)
    expect((err as BucketflowError).code).toBe('NoSuchUpload')
    expect((await bucket().head(key)).etag).toBe(theirEtag)
    expect(sha(await bucket().get(key))).toBe(sha(theirs))
    // The upload that never completed was aborted.
    expect(await uploadsOf(bucket(), key)).toEqual([])
  })

  it('a Complete that succeeded but whose object is not ours is not deleted: IntegrityError, nothing removed', async () => {
    const key = 'complete/replaced'
    const data = randomBytes(6 * MiB)
    // The HEAD after Complete answers another object's ETag and size (a writer that came after).
    proxy.addRule({
      match: is('HeadObject', key),
      rewriteHeaders: (h) => ({ ...h, etag: '"0123456789abcdef0123456789abcdef-2"', 'content-length': '99' }),
      times: 1,
    })
    const err = await via.putStream(Readable.from([data]), key, { partSize: 5 * MiB }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IntegrityError)
    expect((err as IntegrityError).algorithm).toBe('etag')
    expect(sha(await bucket().get(key))).toBe(sha(data))
    expect(await uploadsOf(bucket(), key)).toEqual([])
  })

  it('aborts the upload a lost CreateMultipartUpload answer left behind', async () => {
    const key = 'create/lost-answer'
    const data = randomBytes(6 * MiB)
    proxy.clearRequests()
    proxy.addRule({ match: is('CreateMultipartUpload', key), fault: 'reset-after', times: 1 })
    const result = await via.putStream(Readable.from([data]), key, { partSize: 5 * MiB })
    expect(result.size).toBe(data.length)
    expect(proxy.of('CreateMultipartUpload', (r) => r.key === key)).toHaveLength(2)
    expect(await uploadsOf(bucket(), key)).toEqual([])
    expect(sha(await bucket().get(key))).toBe(sha(data))
  })

  it('a multipart copy whose Complete answer is lost succeeds on NoSuchUpload when the object has its parts and size', async () => {
    const data = randomBytes(6 * MiB)
    await bucket().put(data, 'mpcopy/src')
    proxy.addRule({ match: is('CompleteMultipartUpload', 'mpcopy/dst'), fault: 'reset-after', times: 1 })
    proxy.addRule({ match: is('CompleteMultipartUpload', 'mpcopy/dst'), fault: 'no-such-upload', times: 1 })
    const result = await via.cp('mpcopy/src', 'mpcopy/dst', { multipartThreshold: 0, partSize: 5 * MiB })
    expect(result.etag).toMatch(/-2"?$/)
    expect(result.size).toBe(data.length)
    expect(sha(await bucket().get('mpcopy/dst'))).toBe(sha(data))
    expect(await uploadsOf(bucket(), 'mpcopy/dst')).toEqual([])
  })

  for (const trailing of ['', '\n']) {
    it(`retries a CopyObject answered 200 with <Error>${JSON.stringify(trailing)}`, async () => {
      const data = randomBytes(10_000)
      await bucket().put(data, 'copy/src')
      for (const fault of ['error-200-unprocessed', 'error-200'] as const) {
        const key = `copy/dst-${fault}-${trailing.length}`
        proxy.clearRequests()
        proxy.addRule({ match: is('CopyObject', key), fault, trailing, times: 1 })
        const result = await via.cp('copy/src', key)
        expect(result.etag.replace(/"/g, '')).toBe(md5(data))
        expect(sha(await bucket().get(key))).toBe(sha(data))
        expect(proxy.of('CopyObject', (r) => r.key === key)).toHaveLength(2)
      }
    })
  }
})
