import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Bucket } from '../src/bucket.js'
import { BucketflowError, InvalidArgumentError, S3Error } from '../src/errors.js'
import { FaultProxy } from './support/proxy.js'
import { s3Options, useBucket } from './support/s3.js'

const isAppend = (r: { op: string; query: URLSearchParams }) => r.op === 'PutObject' && r.query.has('append')

describe('append on Ceph radosgw (?append&position=)', () => {
  const direct = useBucket('append-rgw')
  let proxy: FaultProxy
  let bucket: Bucket

  beforeAll(async () => {
    proxy = await FaultProxy.start(s3Options().endpoint!)
    bucket = new Bucket(direct().name, s3Options({ endpoint: proxy.url }))
  })
  afterAll(async () => {
    await proxy?.close()
  })

  it('creates an appendable object and appends to its end, one signed PUT each with Content-MD5', async () => {
    proxy.clearRequests()
    const first = await bucket.append('line 1\n', 'app.log', { literal: true })
    expect(first).toEqual({ key: 'app.log', offset: 0, size: 7, etag: expect.stringMatching(/^"[0-9a-f]{32}"$/) })
    const second = await bucket.append(Buffer.from('line 2 ü\n'), 'app.log')
    expect(second).toMatchObject({ offset: 7, size: 17 })
    // One HeadBucket told radosgw apart (once per client and bucket), a HEAD found each length.
    expect(proxy.requests.map((r) => r.op)).toEqual(['HeadBucket', 'HeadObject', 'PutObject', 'HeadObject', 'PutObject'])
    expect(await bucket.read('app.log')).toBe('line 1\nline 2 ü\n')
    const puts = proxy.requests.filter(isAppend)
    expect(puts.map((r) => r.query.get('position'))).toEqual(['0', '7'])
    expect(puts.every((r) => typeof r.headers['content-md5'] === 'string' && String(r.headers.authorization).startsWith('AWS4-HMAC-SHA256'))).toBe(true)
    // With an offset: no HEAD.
    proxy.clearRequests()
    expect(await bucket.append('line 3\n', 'app.log', { literal: true, offset: 17 })).toMatchObject({ offset: 17, size: 24 })
    expect(proxy.requests.map((r) => r.op)).toEqual(['PutObject'])
  })

  it('refuses a pinned offset that is taken by other bytes: PositionNotEqualToLength, nothing overwritten', async () => {
    await bucket.append('abc', 'pinned.log', { literal: true, offset: 0 })
    const err = await bucket.append('xyz', 'pinned.log', { literal: true, offset: 0 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(S3Error)
    expect((err as S3Error).code).toBe('PositionNotEqualToLength')
    expect((err as S3Error).statusCode).toBe(409)
    expect((err as Error).message).toMatch(/3 bytes/)
    const past = await bucket.append('xyz', 'pinned.log', { literal: true, offset: 9 }).catch((e: unknown) => e)
    expect((past as S3Error).code).toBe('PositionNotEqualToLength')
    expect(await bucket.read('pinned.log')).toBe('abc')
  })

  it('takes a pinned append whose bytes are already in place as done (a retry after a lost answer), writing nothing twice', async () => {
    await bucket.append('hello ', 'again.log', { literal: true, offset: 0 })
    await bucket.append('world\n', 'again.log', { literal: true, offset: 6 })
    const again = await bucket.append('hello ', 'again.log', { literal: true, offset: 0 })
    expect(again).toMatchObject({ offset: 0, size: 12, recovered: true })
    expect(await bucket.read('again.log')).toBe('hello world\n')
  })

  it('recovers from a lost answer: the SDK resends, radosgw says 409, the bytes are found in place', async () => {
    await bucket.append('first\n', 'lost.log', { literal: true })
    proxy.clearRequests()
    proxy.addRule({ match: isAppend, fault: 'reset-after', times: 1 })
    const out = await bucket.append('second\n', 'lost.log', { literal: true })
    proxy.clearRules()
    expect(out).toMatchObject({ offset: 6, size: 13, recovered: true })
    expect(await bucket.read('lost.log')).toBe('first\nsecond\n')
    const puts = proxy.requests.filter(isAppend)
    expect(puts.map((r) => [r.query.get('position'), r.fault ?? 'ok', r.status])).toEqual([
      ['6', 'reset-after', undefined],
      ['6', 'ok', 409],
    ])
  })

  it('follows a moved end when no offset was given (another writer appended after the HEAD)', async () => {
    await bucket.append('A\n', 'moved.log', { literal: true })
    // The HEAD reports a stale length, as if another writer appended right after it.
    proxy.addRule({ match: (r) => r.op === 'HeadObject' && r.key === 'moved.log', rewriteHeaders: (h) => ({ ...h, 'content-length': '0' }), times: 1 })
    proxy.clearRequests()
    const out = await bucket.append('B\n', 'moved.log', { literal: true })
    proxy.clearRules()
    expect(out).toMatchObject({ offset: 2, size: 4 })
    expect(out.recovered).toBeUndefined()
    expect(await bucket.read('moved.log')).toBe('A\nB\n')
    expect(proxy.requests.filter(isAppend).map((r) => [r.query.get('position'), r.status])).toEqual([
      ['0', 409],
      ['2', 200],
    ])
  })

  it('refuses to append to an object written by a plain PUT (typed), and validates before any request', async () => {
    await bucket.put('plain', 'plain.txt', { literal: true })
    const err = await bucket.append('more', 'plain.txt', { literal: true }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BucketflowError)
    expect((err as BucketflowError).code).toBe('ObjectNotAppendable')
    expect(await bucket.read('plain.txt')).toBe('plain')
    proxy.clearRequests()
    for (const [call, argument] of [
      [() => bucket.append(42 as never, 'k'), 'data'],
      [() => bucket.append('x', 'k', { literal: true, offset: -1 }), 'offset'],
      [() => bucket.append('x', '', { literal: true }), 'key'],
    ] as const) {
      const e = await call().catch((x: unknown) => x)
      expect(e).toBeInstanceOf(InvalidArgumentError)
      expect((e as InvalidArgumentError).argument).toBe(argument)
    }
    expect(proxy.requests).toEqual([])
  })
})
