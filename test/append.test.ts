import { randomBytes } from 'node:crypto'
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Bucket } from '../src/bucket.js'
import { BucketflowError, InvalidArgumentError, NotDirectoryBucketError } from '../src/errors.js'
import { appendInput, appendObject, isDirectoryBucket } from '../src/stages/append.js'
import { startLocalS3 } from '../src/server/server.js'
import { FaultProxy } from './support/proxy.js'
import { s3Options, useBucket } from './support/s3.js'

describe('append (S3 Express One Zone directory buckets)', () => {
  const direct = useBucket('append')
  let proxy: FaultProxy
  let bucket: Bucket
  /** A directory bucket's name on a server that has none. */
  const expressName = `bf-${randomBytes(4).toString('hex')}--use1-az4--x-s3`

  beforeAll(async () => {
    proxy = await FaultProxy.start(s3Options().endpoint!)
    bucket = new Bucket(direct().name, s3Options({ endpoint: proxy.url }))
  })
  afterAll(async () => {
    await proxy?.close()
  })

  it('refuses a general purpose bucket with NotDirectoryBucketError on servers with neither API (no request on AWS)', async () => {
    // On AWS (no custom endpoint): refused before any request.
    let sent = 0
    const aws = new S3Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      requestHandler: {
        handle: async () => {
          sent++
          throw new Error('no network in this test')
        },
      } as never,
    })
    const onAws = new Bucket('general-purpose-bucket', { client: aws })
    const err = await onAws.append('two\n', 'a.log').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NotDirectoryBucketError)
    expect((err as NotDirectoryBucketError).code).toBe('NotDirectoryBucket')
    expect((err as NotDirectoryBucketError).bucket).toBe('general-purpose-bucket')
    expect((err as NotDirectoryBucketError).key).toBe('a.log')
    expect((err as Error).message).toMatch(/directory bucket.*--x-s3.*radosgw/)
    expect(sent).toBe(0)
    aws.destroy()
    // A server that is neither S3 Express nor radosgw (bucketflow's own local server): one HeadBucket tells.
    const local = await startLocalS3()
    try {
      const plain = await Bucket.create('plain-bucket', { endpoint: local.endpoint, region: local.region, credentials: local.credentials })
      await plain.put('one\n', 'a.log', { literal: true })
      const err2 = await plain.append('two\n', 'a.log').catch((e: unknown) => e)
      expect(err2).toBeInstanceOf(NotDirectoryBucketError)
      expect(await plain.read('a.log')).toBe('one\n')
    } finally {
      await local.close()
    }
  })

  it('guards against servers that ignore WriteOffsetBytes: radosgw replaces the object', async () => {
    // What the guard prevents: the append request, sent to a general purpose bucket, carries
    // the header on the wire, and the server silently replaces the object.
    await bucket.put('one\n', 'b.log', { literal: true })
    proxy.clearRequests()
    const out = await bucket.client.send(new PutObjectCommand(appendInput(bucket.name, 'b.log', Buffer.from('two\n'), 4)))
    const [put] = proxy.of('PutObject')
    expect(put!.headers['x-amz-write-offset-bytes']).toBe('4')
    expect(put!.headers['content-length']).toBe('4')
    expect(out.Size).toBeUndefined()
    expect(await bucket.read('b.log')).toBe('two\n')
  })

  it('sends PutObject with WriteOffsetBytes to a directory bucket, and fails typed where there is none', async () => {
    // The SDK routes "--x-s3" names to S3 Express; without session auth the requests reach the
    // proxy as they would reach a zonal endpoint.
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
    const express = new Bucket(expressName, { client })
    proxy.clearRequests()
    const err = await express.append('hello\n', 'app.log', { offset: 7, literal: true }).catch((e: unknown) => e)
    expect(proxy.requests.map((r) => [r.method, r.op, r.bucket, r.key])).toEqual([['PUT', 'PutObject', expressName, 'app.log']])
    const [put] = proxy.requests
    expect(put!.headers['x-amz-write-offset-bytes']).toBe('7')
    expect(put!.headers['content-length']).toBe('6')
    expect(put!.bytes).toBe(6)
    // radosgw has no such bucket: a typed error, never a faked success.
    expect(err).toBeInstanceOf(BucketflowError)
    expect((err as BucketflowError).code).toBe('NoSuchBucket')
    expect((err as BucketflowError).bucket).toBe(expressName)

    // Without an offset it asks for the object's size first (a missing object appends at 0).
    proxy.clearRequests()
    const err1 = await express.append(Buffer.from('abc'), 'new.log').then(
      (value) => ({ value }),
      (e: unknown) => e,
    )
    expect(proxy.requests.map((r) => r.op)).toEqual(['HeadObject', 'PutObject'])
    expect(err1).toBeInstanceOf(BucketflowError)
    expect((err1 as BucketflowError).code).toBe('NoSuchBucket')
    expect((err1 as BucketflowError).key).toBe('new.log')
    expect(proxy.requests[1]!.headers['x-amz-write-offset-bytes']).toBe('0')

    // With the SDK's default S3 Express session auth, CreateSession comes first and fails typed.
    proxy.clearRequests()
    const sessions = new Bucket(expressName, s3Options({ endpoint: proxy.url, maxAttempts: 1 }))
    const err2 = await sessions.append('x', 'app.log', { offset: 0, literal: true }).catch((e: unknown) => e)
    expect(err2).toBeInstanceOf(BucketflowError)
    expect({ name: (err2 as BucketflowError).name, code: (err2 as BucketflowError).code, bucket: (err2 as BucketflowError).bucket }).toEqual({
      name: 'NoSuchBucketError',
      code: 'NoSuchBucket',
      bucket: expressName,
    })
    expect(proxy.requests[0]!.op).toBe('CreateSession')
    expect(proxy.of('PutObject')).toEqual([])
    client.destroy()
  })

  it('builds the request from bytes or text and validates its arguments', async () => {
    const data = Buffer.from('line\n')
    expect(appendInput('logs--use1-az4--x-s3', 'k', data, 120)).toEqual({
      Bucket: 'logs--use1-az4--x-s3',
      Key: 'k',
      Body: data,
      ContentLength: 5,
      WriteOffsetBytes: 120,
    })
    expect(isDirectoryBucket('logs--use1-az4--x-s3')).toBe(true)
    expect(isDirectoryBucket('logs-x-s3')).toBe(false)
    expect(isDirectoryBucket(bucket.name)).toBe(false)
    proxy.clearRequests()
    const express = new Bucket(expressName, s3Options({ endpoint: proxy.url }))
    for (const [call, argument] of [
      [() => appendObject(express, 42 as never, 'k'), 'data'],
      [() => appendObject(express, 'x', 'k', { offset: -1 }), 'offset'],
      [() => appendObject(express, 'x', 'k', { offset: 1.5 }), 'offset'],
      [() => appendObject(express, 'x', ''), 'key'],
    ] as const) {
      const err = await call().catch((e: unknown) => e)
      expect(err, argument).toBeInstanceOf(InvalidArgumentError)
      expect((err as InvalidArgumentError).argument).toBe(argument)
    }
    expect(proxy.requests).toEqual([])
  })
})
