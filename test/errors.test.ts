/**
 * Errors: bad arguments are InvalidArgumentErrors naming the argument, raised before any
 * request and never thrown synchronously by a Promise-returning function; S3 errors are typed by
 * their error code, not their HTTP status; the bucket named is the one that failed.
 */
import { Readable } from 'node:stream'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AccessDeniedError,
  Bucket,
  copyObject,
  getObject,
  getToFile,
  headObject,
  InvalidArgumentError,
  InvalidObjectStateError,
  NoSuchBucketError,
  NoSuchKeyError,
  NotImplementedError,
  putObject,
  putStream,
  S3Error,
} from '../src/index.js'
import { FaultProxy } from './support/proxy.js'
import { ScriptedProxy } from './support/scripted-proxy.js'
import { recordRequests } from './transport/recorder.js'
import { bucketName, s3Options, useBucket } from './support/s3.js'

describe('bad arguments', () => {
  const bucket = useBucket('errors-args')

  it('every Promise-returning verb and function rejects (never throws) with InvalidArgumentError, before any request', async () => {
    // Requests are recorded on the wire, whichever transport BUCKETFLOW_TRANSPORT picks.
    const b = new Bucket(bucket().name, s3Options())
    const recorder = recordRequests(b)
    const never = join(tmpdir(), 'bf-never-written')
    const cases: [string, () => unknown, string][] = [
      ['put: empty key', () => b.put(Buffer.from('x'), ''), 'key'],
      ['put: bad source', () => b.put(12 as never, 'k'), 'source'],
      ['put: lists of different lengths', () => b.put([Buffer.from('a')], ['a', 'b']), 'keys'],
      ['put: one source, many keys', () => b.put(Buffer.from('a') as never, ['a']), 'sources'],
      ['get: empty key', () => b.get(''), 'key'],
      ['get: bad start', () => b.get('k', { start: 'x' as never }), 'start'],
      ['get: range before the HEAD', () => b.get('k', { start: 10, end: 5.5 }), 'end'],
      ['get: both range forms', () => b.get('k', { start: 1, length: 2 }), 'length'],
      ['get many: bad start', () => b.get(['a', 'b'], { start: 1.5 }), 'start'],
      ['get many: lists of different lengths', () => b.get(['a'], ['x', 'y']), 'destinations'],
      ['get to file: bad partSize', () => b.get('k', never, { partSize: 1 }), 'partSize'],
      ['get many: bad concurrency', () => b.get(['a'], { concurrency: 0 }), 'concurrency'],
      ['read: empty key', () => b.read(''), 'key'],
      ['head: empty key', () => b.head(''), 'key'],
      ['exists: empty key', () => b.exists(''), 'key'],
      ['cp: empty source', () => b.cp('', 'b'), 'source key'],
      ['cp: bad destination bucket', () => b.cp('a', 'b', { destinationBucket: 'Bad_Name' }), 'bucket'],
      ['cp: list and string', () => b.cp(['a'], 'b' as never), 'destinations'],
      ['mv: list and string', () => b.mv(['a'], 'b' as never), 'destinations'],
      ['mv: empty destination', () => b.mv('a', ''), 'destination key'],
      ['rm: empty key', () => b.rm(''), 'key'],
      ['freeze: empty key', () => b.freeze(''), 'source key'],
      ['restore: empty key', () => b.restore(''), 'key'],
      ['putStream: bad source', () => b.putStream(12 as never, 'k'), 'source'],
      ['putStream: bad partSize', () => b.putStream(Readable.from([]), 'k', { partSize: 1 }), 'partSize'],
      ['abortUploads: bad olderThan', () => b.abortUploads({ olderThan: -1 }), 'olderThan'],
      ['Bucket.create: bad name', () => Bucket.create('Bad_Name', s3Options()), 'bucket'],
      ['getObject: bad end', () => getObject(b, 'k', { end: Number.NaN }), 'end'],
      ['getToFile: empty destination', () => getToFile(b, 'k', ''), 'destination'],
      ['putObject: bad source', () => putObject(b, {} as never, 'k'), 'source'],
      ['putStream(): bad queueSize', () => putStream(b, Readable.from([]), 'k', { queueSize: 0 }), 'queueSize'],
      ['headObject: bad key', () => headObject(b, 5 as never), 'key'],
      ['copyObject: bad multipartThreshold', () => copyObject(b, 'a', 'b', { multipartThreshold: -1 }), 'multipartThreshold'],
    ]
    for (const [name, call, argument] of cases) {
      let result: unknown
      expect(() => {
        result = call()
      }, name).not.toThrow()
      expect(result, name).toBeInstanceOf(Promise)
      const err = await (result as Promise<unknown>).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(err, name).toBeInstanceOf(InvalidArgumentError)
      expect((err as InvalidArgumentError).argument, name).toBe(argument)
      expect((err as InvalidArgumentError).code, name).toBe('InvalidArgument')
    }
    recorder.stop()
    expect(recorder.requests).toEqual([])
    b.client.destroy()
  })

  it('a null or malformed item of a list fails alone with InvalidArgumentError', async () => {
    const b = bucket()
    await b.put('fine', 'fine.txt', { literal: true })
    const results = await b.get(['fine.txt', null as never, 42 as never, { key: 'fine.txt' } as never])
    expect(results.map((r) => r.ok)).toEqual([true, false, false, true])
    for (const r of [results[1]!, results[2]!]) {
      expect(r.ok ? null : r.error).toBeInstanceOf(InvalidArgumentError)
      expect(r.ok ? '' : r.error.code).toBe('InvalidArgument')
    }
    expect(results[1]!.key).toBe('null')
  })
})

describe('errors by S3 error code', () => {
  const bucket = useBucket('errors-codes')
  let proxy: FaultProxy
  let via: Bucket
  beforeAll(async () => {
    proxy = await FaultProxy.start(s3Options().endpoint!)
    via = new Bucket(bucket().name, s3Options({ endpoint: proxy.url }))
    await bucket().put('archived', 'cold.txt', { literal: true })
  })
  afterAll(async () => {
    via.client.destroy()
    await proxy.close()
  })

  it('a 403 is AccessDenied only when its code says so: InvalidObjectState asks for a restore', async () => {
    const cases: [string, (e: unknown) => void][] = [
      [
        'InvalidObjectState',
        (e) => {
          expect(e).toBeInstanceOf(InvalidObjectStateError)
          expect((e as InvalidObjectStateError).code).toBe('InvalidObjectState')
          expect((e as Error).message).toMatch(/restore/)
        },
      ],
      ['AccessDenied', (e) => expect(e).toBeInstanceOf(AccessDeniedError)],
      [
        'SignatureDoesNotMatch',
        (e) => {
          expect(e).not.toBeInstanceOf(AccessDeniedError)
          expect(e).toBeInstanceOf(S3Error)
          expect((e as S3Error).code).toBe('SignatureDoesNotMatch')
        },
      ],
    ]
    for (const [code, check] of cases) {
      proxy.addRule({ match: (r) => r.op === 'GetObject', respond: { status: 403, code }, times: 1 })
      const err = await via.get('cold.txt').catch((e: unknown) => e)
      check(err)
      expect((err as S3Error).statusCode).toBe(403)
      expect((err as S3Error).key).toBe('cold.txt')
    }
    // A HEAD's 403 has no body to carry a code: access denied.
    proxy.addRule({ match: (r) => r.op === 'HeadObject', respond: { status: 403, code: 'AccessDenied' }, times: 1 })
    await expect(via.head('cold.txt')).rejects.toBeInstanceOf(AccessDeniedError)
  })

  it('names the bucket that is missing in a copy: the destination, or the source', async () => {
    const missing = bucketName('missing')
    const err = await bucket()
      .cp('cold.txt', 'copy.txt', { destinationBucket: missing })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NoSuchBucketError)
    expect((err as NoSuchBucketError).bucket).toBe(missing)
    expect((err as Error).message).toContain(missing)
    const ghost = new Bucket(missing, s3Options())
    const e2 = await ghost.cp('cold.txt', 'copy.txt', { destinationBucket: bucket().name }).catch((e: unknown) => e)
    expect(e2).toBeInstanceOf(NoSuchBucketError)
    expect((e2 as NoSuchBucketError).bucket).toBe(missing)
    ghost.client.destroy()
  })
})

describe('an endpoint that is not S3', () => {
  const bucket = useBucket('errors-foreign')

  it('a 4xx with an HTML page or other text (a web server, a proxy) is not NoSuchKey, NoSuchBucket or AccessDenied: it says what came back', async () => {
    const proxy = await ScriptedProxy.start(s3Options().endpoint!)
    const transports = (['fast', 'sdk'] as const).map((transport) => new Bucket(bucket().name, { ...s3Options({ endpoint: proxy.url }), transport }))
    try {
      await bucket().put('here', 'real.txt', { literal: true })
      for (const via of transports) await checkForeign(proxy, via, via === transports[1])
    } finally {
      for (const via of transports) via.client.destroy()
      await proxy.close()
    }
  })
})

/**
 * Foreign answers through `via` are UnexpectedResponse errors. The `sdk` transport does not see
 * a body that is not XML: its message tells the content type only.
 */
async function checkForeign(proxy: ScriptedProxy, via: Bucket, sdk: boolean): Promise<void> {
  const page = '<!DOCTYPE html>\n<html><head><title>Not Found</title></head><body><h1>Not Found</h1></body></html>\n'
  const answers: { status: number; type: string; body: string; what: RegExp }[] = [
    { status: 404, type: 'text/html; charset=utf-8', body: page, what: /HTTP 404 with an HTML page/ },
    { status: 403, type: 'text/html', body: page, what: /HTTP 403 with an HTML page/ },
    {
      status: 404,
      type: 'text/plain',
      body: 'no such route',
      what: sdk ? /HTTP 404 with a body of type text\/plain,/ : /HTTP 404 with a body of type text\/plain \("no such route"\)/,
    },
    { status: 501, type: 'text/html', body: page, what: /HTTP 501 with an HTML page/ },
  ]
  for (const { status, type, body, what } of answers) {
    const calls: [string, () => Promise<unknown>][] = [
      ['get', () => via.get('real.txt')],
      ['head', () => via.head('real.txt')],
      ['list', () => via.list('any/').toArray()],
    ]
    for (const [name, call] of calls) {
      proxy.script({ match: () => true, times: 1, action: { respond: { status, headers: { 'content-type': type }, body } } })
      const err = await call().catch((e: unknown) => e)
      const label = `${name} ${status} ${type}`
      if (name === 'head') {
        // A HEAD has no body to show it is not S3's: its status is taken at its word.
        expect(err, label).toBeInstanceOf(({ 404: NoSuchKeyError, 403: AccessDeniedError, 501: NotImplementedError } as const)[status as 404])
        continue
      }
      expect(err, label).toBeInstanceOf(S3Error)
      expect(err, label).not.toBeInstanceOf(NoSuchKeyError)
      expect(err, label).not.toBeInstanceOf(NoSuchBucketError)
      expect(err, label).not.toBeInstanceOf(AccessDeniedError)
      expect((err as S3Error).code, label).toBe('UnexpectedResponse')
      expect((err as S3Error).statusCode, label).toBe(status)
      expect((err as Error).message, label).toMatch(what)
      expect((err as Error).message, label).toMatch(/not an S3 answer: is the endpoint an S3 server/)
    }
  }
  if (!sdk) {
    // A success answer that is an HTML page where S3 sends XML (a listing, a copy's result).
    const page = '<!DOCTYPE html>\n<html><body>Welcome</body></html>\n'
    for (const [name, call] of [
      ['list', () => via.list('any/').toArray()],
      ['copy', () => via.cp('real.txt', 'copied.txt', { metadata: { a: '1' } })],
    ] as const) {
      proxy.script({ match: (r) => r.method !== 'HEAD', times: 1, action: { respond: { status: 200, headers: { 'content-type': 'text/html' }, body: page } } })
      const err = await call().catch((e: unknown) => e)
      expect((err as S3Error).code, name).toBe('UnexpectedResponse')
      expect((err as Error).message, name).toMatch(/HTTP 200 with an HTML page, not an S3 answer/)
    }
  }
  // S3's own answers keep their meaning.
  await expect(via.get('missing.txt')).rejects.toBeInstanceOf(NoSuchKeyError)
  await expect(via.head('missing.txt')).rejects.toBeInstanceOf(NoSuchKeyError)
  expect((await via.get('real.txt')).toString()).toBe('here')
}
