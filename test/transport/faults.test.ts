/**
 * Faults on the wire, for both transports, through a scripted proxy in front of radosgw: idle
 * stalls (before the answer and inside a body), aborts, 200 answers carrying `<Error>` (with and
 * without whitespace), throttling and retries, clock skew, per-key delete errors; plus
 * credentials refreshed before they expire and the routing of configurations left to the SDK.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { Readable } from 'node:stream'
import { S3Client } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest'
import { AbortError, InvalidArgumentError, toBucketflowError } from '../../src/errors.js'
import { TransportError } from '../../src/transport/error.js'
import { FastTransport } from '../../src/transport/fast.js'
import { createTransport } from '../../src/transport/index.js'
import type { Transport, TransportKind } from '../../src/transport/types.js'
import { ScriptedProxy, type SeenRequest } from '../support/scripted-proxy.js'
import { bodyBytes, rejection, makeBucket, testClient } from './support.js'

const MiB = 1024 * 1024
// Long enough that a loaded radosgw answering slowly is not taken for a stall.
const IDLE_MS = 2500

/** Resolves once the proxy has seen a request matching `where` (polled: the proxy has no events). */
async function seenOnce(proxy: ScriptedProxy, where: (r: SeenRequest) => boolean): Promise<void> {
  while (proxy.seen(where).length === 0) await new Promise((r) => setTimeout(r, 5))
}

const isComplete = (r: SeenRequest) => r.method === 'POST' && r.query.has('uploadId')
const isCopy = (r: SeenRequest) => r.method === 'PUT' && r.headers['x-amz-copy-source'] !== undefined && !r.query.has('partNumber')
const INTERNAL = '<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>in-body</RequestId></Error>'

describe.each(['fast', 'sdk'] as TransportKind[])('%s transport under faults', (kind) => {
  let proxy: ScriptedProxy
  let bucket: string
  let transport: Transport

  beforeAll(async () => {
    proxy = await ScriptedProxy.start(inject('s3').endpoint)
    bucket = await makeBucket(`trf-${kind}`)
    transport = createTransport(testClient({ endpoint: proxy.url, maxAttempts: 3 }), { kind, idleTimeoutMs: IDLE_MS, connectTimeoutMs: 2000 })
    const setup = createTransport(testClient(), { kind })
    await setup.putObject({ Bucket: bucket, Key: 'small', Body: Buffer.from('small body') })
    await setup.putObject({ Bucket: bucket, Key: 'big', Body: Buffer.alloc(4 * MiB, 9) })
    await setup.close()
  })
  afterAll(async () => {
    await transport.close()
    await proxy.close()
  })
  beforeEach(() => proxy.reset())

  it('times out an answer that never comes (idle), retries it, then fails with TimeoutError', async () => {
    proxy.script({ match: (r) => r.method === 'GET' && r.path.endsWith('/small'), action: { stall: 'headers' } })
    const started = Date.now()
    const err = await rejection(transport.getObject({ Bucket: bucket, Key: 'small' }))
    expect(err.name).toBe('TimeoutError')
    expect(toBucketflowError(err, { bucket, key: 'small' }).code).toBe('Timeout')
    // Every attempt timed out: the client's maxAttempts (3) requests, each after the idle timeout.
    expect(proxy.seen((r) => r.path.endsWith('/small')).length).toBe(3)
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * IDLE_MS - 50)
  })

  it('retries a stalled answer and succeeds when the server answers again', async () => {
    proxy.script({ match: (r) => r.method === 'GET' && r.path.endsWith('/small'), action: { stall: 'headers' }, times: 1 })
    const got = await transport.getObject({ Bucket: bucket, Key: 'small' })
    expect((await bodyBytes(got.Body)).toString()).toBe('small body')
    expect(proxy.seen((r) => r.path.endsWith('/small')).length).toBe(2)
  })

  it('fails a body that stops mid-transfer with a TimeoutError, not a silent short read', async () => {
    proxy.script({ match: (r) => r.method === 'GET' && r.path.endsWith('/big'), action: { stall: 'body', afterBytes: 256 * 1024 } })
    const got = await transport.getObject({ Bucket: bucket, Key: 'big' })
    expect(got.ContentLength).toBe(4 * MiB)
    let read = 0
    const err = await rejection(
      (async () => {
        for await (const chunk of got.Body) read += chunk.byteLength
      })(),
    )
    expect(read).toBe(256 * 1024)
    expect(err.name).toBe('TimeoutError')
    expect(toBucketflowError(err, { bucket, key: 'big' }).code).toBe('Timeout')
  })

  it('aborts a stalled request at once with AbortError', async () => {
    proxy.script({ match: (r) => r.method === 'HEAD', action: { stall: 'headers' } })
    const controller = new AbortController()
    const pending = rejection(transport.headObject({ Bucket: bucket, Key: 'small' }, { signal: controller.signal }))
    await seenOnce(proxy, (r) => r.method === 'HEAD')
    const abortedAt = Date.now()
    controller.abort(new Error('user stop'))
    const err = await pending
    expect(err.name).toBe('AbortError')
    expect(Date.now() - abortedAt).toBeLessThan(IDLE_MS)
    expect(toBucketflowError(err, { bucket })).toBeInstanceOf(AbortError)
    expect(proxy.seen((r) => r.method === 'HEAD').length).toBe(1)
  })

  it('aborts during the backoff between attempts', async () => {
    proxy.script({
      match: (r) => r.method === 'GET' && r.path.endsWith('/small'),
      action: { respond: { status: 503, body: '<Error><Code>SlowDown</Code></Error>' } },
    })
    const controller = new AbortController()
    const pending = rejection(transport.getObject({ Bucket: bucket, Key: 'small' }, { signal: controller.signal }))
    await seenOnce(proxy, (r) => r.path.endsWith('/small'))
    controller.abort()
    const err = await pending
    expect(err.name).toBe('AbortError')
    // SlowDown waits at least a throttling backoff: the abort came before a second attempt.
    expect(proxy.seen((r) => r.path.endsWith('/small')).length).toBeLessThanOrEqual(2)
  })

  it('retries throttling (503 SlowDown) on a bytes body and succeeds; the stored body is intact', async () => {
    proxy.script({
      match: (r) => r.method === 'PUT' && r.path.endsWith('/throttled'),
      action: { respond: { status: 503, body: '<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>' } },
      times: 2,
    })
    const put = await transport.putObject({ Bucket: bucket, Key: 'throttled', Body: Buffer.from('kept bytes') })
    expect(put.ETag).toMatch(/^"/)
    expect(proxy.seen((r) => r.method === 'PUT' && r.path.endsWith('/throttled')).length).toBe(3)
    expect((await bodyBytes((await transport.getObject({ Bucket: bucket, Key: 'throttled' })).Body)).toString()).toBe('kept bytes')
  })

  it('does not resend a stream body: one attempt, then the error', async () => {
    proxy.script({
      match: (r) => r.method === 'PUT' && r.path.endsWith('/streamed'),
      action: { respond: { status: 503, body: '<Error><Code>SlowDown</Code></Error>' } },
      times: 1,
    })
    const err = await rejection(transport.putObject({ Bucket: bucket, Key: 'streamed', Body: Readable.from([Buffer.from('once')]), ContentLength: 4 }))
    expect([err.name, err.$metadata.httpStatusCode]).toEqual(['SlowDown', 503])
    expect(proxy.seen((r) => r.method === 'PUT' && r.path.endsWith('/streamed')).length).toBe(1)
  })

  for (const [label, body] of [
    ['as the whole body', INTERNAL],
    ['followed by a newline', `${INTERNAL}\n`],
    ['after keep-alive whitespace and before trailing spaces', `\n \n \n${INTERNAL}   \r\n`],
  ] as const) {
    it(`fails CompleteMultipartUpload answered 200 with <Error> ${label}, retries it, and completes once the server answers`, async () => {
      const key = `complete ${label.length}`
      const { UploadId } = await transport.createMultipartUpload({ Bucket: bucket, Key: key })
      const part = await transport.uploadPart({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: Buffer.from('only part') })
      const parts = [{ PartNumber: 1, ETag: part.ETag! }]
      proxy.script({ match: isComplete, action: { respond: { status: 200, body } } })
      const err = await rejection(transport.completeMultipartUpload({ Bucket: bucket, Key: key, UploadId, Parts: parts }))
      expect(err).toBeInstanceOf(TransportError)
      expect(err.name).toBe('InternalError')
      expect(err.inBody).toBe(true)
      expect(err.$metadata.httpStatusCode).toBe(200)
      expect(toBucketflowError(err, { bucket, key }).code).toBe('InternalError')
      // InternalError is transient: every attempt the client allows was made.
      expect(proxy.seen(isComplete).length).toBe(3)
      expect((await rejection(transport.headObject({ Bucket: bucket, Key: key }))).$metadata.httpStatusCode).toBe(404)
      proxy.reset()
      const done = await transport.completeMultipartUpload({ Bucket: bucket, Key: key, UploadId, Parts: parts })
      expect(done).toBeDefined()
      expect((await transport.headObject({ Bucket: bucket, Key: key })).ContentLength).toBe(9)
    })
  }

  it('fails CompleteMultipartUpload answered 200 with an empty body or another document', async () => {
    const { UploadId } = await transport.createMultipartUpload({ Bucket: bucket, Key: 'complete odd' })
    const part = await transport.uploadPart({ Bucket: bucket, Key: 'complete odd', UploadId, PartNumber: 1, Body: Buffer.from('x') })
    for (const body of ['', '   \n', '<CopyObjectResult><ETag>"x"</ETag></CopyObjectResult>', '<CompleteMultipartUploadResult><ETag>"x"</ETag>']) {
      proxy.reset()
      proxy.script({ match: isComplete, action: { respond: { status: 200, body } } })
      const err = await rejection(
        transport.completeMultipartUpload({ Bucket: bucket, Key: 'complete odd', UploadId, Parts: [{ PartNumber: 1, ETag: part.ETag! }] }),
      )
      expect(err, JSON.stringify(body)).toBeInstanceOf(TransportError)
      expect(err.$metadata.httpStatusCode).toBeGreaterThanOrEqual(200)
    }
    await transport.abortMultipartUpload({ Bucket: bucket, Key: 'complete odd', UploadId })
  })

  it('fails CopyObject answered 200 with <Error> (trailing whitespace too); sends copy-source conditions', async () => {
    proxy.script({ match: isCopy, action: { rewrite: () => ({ status: 200, body: `${INTERNAL}\n\n` }) } })
    const err = await rejection(
      transport.copyObject({ Bucket: bucket, Key: 'copied', CopySource: { Bucket: bucket, Key: 'small' }, CopySourceIfMatch: '"abc"' }),
    )
    expect([err.name, err.inBody]).toEqual(['InternalError', true])
    const copies = proxy.seen(isCopy)
    expect(copies.length).toBe(3)
    expect(copies[0]!.headers['x-amz-copy-source-if-match']).toBe('"abc"')
    expect(decodeURIComponent(String(copies[0]!.headers['x-amz-copy-source']))).toMatch(new RegExp(`^/?${bucket}/small$`))
  })

  it('refuses an empty key and a bucket name that would reshape the path, before any request', async () => {
    for (const call of [
      () => transport.getObject({ Bucket: bucket, Key: '' }),
      () => transport.headObject({ Bucket: bucket, Key: '' }),
      () => transport.putObject({ Bucket: bucket, Key: '', Body: Buffer.from('x') }),
      () => transport.listObjectsV2({ Bucket: `${bucket}/other` }),
      () => transport.getObject({ Bucket: `${bucket}?list-type=2`, Key: 'small' }),
      () => transport.deleteObjects({ Bucket: '', Objects: [{ Key: 'small' }] }),
    ]) {
      const err = await rejection(call())
      expect(err).toBeInstanceOf(InvalidArgumentError)
    }
    expect(proxy.requests).toEqual([])
  })

  it('reads per-key errors of a DeleteObjects answer', async () => {
    proxy.script({
      match: (r) => r.method === 'POST' && r.query.has('delete'),
      action: {
        respond: {
          status: 200,
          body: '<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b &amp; c</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>',
        },
      },
    })
    const out = await transport.deleteObjects({ Bucket: bucket, Objects: [{ Key: 'a' }, { Key: 'b & c' }], Quiet: false })
    expect(out.Deleted.map((d) => d.Key)).toEqual(['a'])
    expect(out.Errors).toEqual([{ Key: 'b & c', Code: 'AccessDenied', Message: 'Access Denied' }])
  })

  it('corrects the signing clock after RequestTimeTooSkewed and retries', async () => {
    const serverTime = new Date(Date.now() + 3600_000)
    proxy.script({
      match: (r) => r.method === 'GET' && r.path.endsWith('/small'),
      times: 1,
      action: {
        respond: {
          status: 403,
          headers: { date: serverTime.toUTCString() },
          body: '<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current time is too large.</Message></Error>',
        },
      },
    })
    // radosgw itself checks the time too: the retried request, signed an hour ahead, is refused
    // by it (RequestTimeTooSkewed again) unless the clock was corrected back; either way the
    // second request must carry the corrected date.
    await transport.getObject({ Bucket: bucket, Key: 'small' }).then(
      (out) => bodyBytes(out.Body),
      () => undefined,
    )
    const gets = proxy.seen((r) => r.method === 'GET' && r.path.endsWith('/small'))
    expect(gets.length).toBeGreaterThanOrEqual(2)
    const amzDate = String(gets[1]!.headers['x-amz-date'])
    const signedAt = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'))
    expect(Math.abs(signedAt - serverTime.getTime())).toBeLessThan(60_000)
  })
})

describe('connect timeout', () => {
  let server: Server
  const sockets: Socket[] = []
  beforeAll(async () => {
    // Accepts TCP connections and never says a word: a TLS handshake to it never completes.
    server = createServer((socket) => void sockets.push(socket))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  })
  afterAll(async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  it.each(['fast', 'sdk'] as TransportKind[])('%s: a connection that cannot be established fails with TimeoutError', async (kind) => {
    const endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
    const transport = createTransport(testClient({ endpoint, maxAttempts: 1 }), { kind, connectTimeoutMs: 300, idleTimeoutMs: 400 })
    const started = Date.now()
    const err = await rejection(transport.headObject({ Bucket: 'bucket', Key: 'k' }))
    expect(err.name).toBe('TimeoutError')
    expect(Date.now() - started).toBeLessThan(5000)
    await transport.close()
  })
})

describe('credentials and configuration from the S3Client', () => {
  it('asks the provider again only when the cached credentials are about to expire', async () => {
    const s3 = inject('s3')
    let calls = 0
    const clientExpiringIn = (ms: number) =>
      new S3Client({
        endpoint: s3.endpoint,
        region: s3.region,
        forcePathStyle: true,
        credentials: async () => {
          calls++
          return { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, expiration: new Date(Date.now() + ms) }
        },
      })
    const bucket = await makeBucket('trc')
    const longLived = createTransport(clientExpiringIn(3600_000), { kind: 'fast' })
    for (let i = 0; i < 3; i++) await longLived.listObjectsV2({ Bucket: bucket })
    expect(calls).toBe(1)
    // Credentials that expire within the refresh window (5 minutes) are fetched anew each time.
    calls = 0
    const shortLived = createTransport(clientExpiringIn(60_000), { kind: 'fast' })
    for (let i = 0; i < 3; i++) await shortLived.listObjectsV2({ Bucket: bucket })
    expect(calls).toBeGreaterThanOrEqual(3)
    await longLived.close()
    await shortLived.close()
  })

  it('respects AWS_MAX_ATTEMPTS through the client when no maxAttempts is given', async () => {
    const s3 = inject('s3')
    const proxy = await ScriptedProxy.start(s3.endpoint)
    const saved = process.env.AWS_MAX_ATTEMPTS
    process.env.AWS_MAX_ATTEMPTS = '2'
    try {
      const client = new S3Client({
        endpoint: proxy.url,
        region: s3.region,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      })
      const transport = createTransport(client, { kind: 'fast' })
      proxy.script({ match: (r) => r.method === 'HEAD', action: { respond: { status: 500 } } })
      const err = await rejection(transport.headObject({ Bucket: 'any-bucket', Key: 'k' }))
      expect([err.name, err.$metadata.httpStatusCode]).toEqual(['InternalError', 500])
      expect(proxy.seen((r) => r.method === 'HEAD').length).toBe(2)
      await transport.close()
    } finally {
      if (saved === undefined) delete process.env.AWS_MAX_ATTEMPTS
      else process.env.AWS_MAX_ATTEMPTS = saved
      await proxy.close()
    }
  })

  it('leaves dual-stack, FIPS, accelerate and S3 Express buckets to the sdk transport', async () => {
    const calls: string[] = []
    const fallback = new Proxy({} as Transport, {
      get: (_, name) =>
        name === 'kind'
          ? 'sdk'
          : async () => {
              calls.push(String(name))
              return { Contents: [], CommonPrefixes: [], IsTruncated: false }
            },
    })
    const credentials = { accessKeyId: 'a', secretAccessKey: 'b' }
    const configs = [
      new S3Client({ region: 'us-east-1', credentials, useDualstackEndpoint: true }),
      new S3Client({ region: 'us-east-1', credentials, useFipsEndpoint: true }),
      new S3Client({ region: 'us-east-1', credentials, useAccelerateEndpoint: true }),
    ]
    for (const client of configs) {
      const fast = new FastTransport(client, { fallback })
      expect(await fast.kindFor('plain-bucket')).toBe('sdk')
      await fast.listObjectsV2({ Bucket: 'plain-bucket' })
      await fast.close()
    }
    const aws = new FastTransport(new S3Client({ region: 'us-west-2', credentials }), { fallback })
    expect(await aws.kindFor('data--usw2-az1--x-s3')).toBe('sdk')
    expect(await aws.kindFor('arn:aws:s3:us-west-2:123456789012:accesspoint/ap')).toBe('sdk')
    expect(await aws.kindFor('plain-bucket')).toBe('fast')
    await aws.listObjectsV2({ Bucket: 'data--usw2-az1--x-s3' })
    expect(calls).toEqual(['listObjectsV2', 'listObjectsV2', 'listObjectsV2', 'listObjectsV2'])
    await aws.close()
  })
})
