/**
 * How a Bucket picks its transport: `fast` by default, `sdk` for a client the caller brings,
 * the `transport` option first, then `BUCKETFLOW_TRANSPORT`; `close()` releases the pool.
 */
import { S3Client } from '@aws-sdk/client-s3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Bucket, InvalidArgumentError } from '../../src/index.js'
import { transportOf } from '../../src/bucket-ref.js'
import { s3Options, useBucket } from '../support/s3.js'

describe('Bucket transport', () => {
  const bucket = useBucket('transport-choice')
  let saved: string | undefined

  beforeEach(() => {
    saved = process.env.BUCKETFLOW_TRANSPORT
    delete process.env.BUCKETFLOW_TRANSPORT
  })
  afterEach(() => {
    if (saved === undefined) delete process.env.BUCKETFLOW_TRANSPORT
    else process.env.BUCKETFLOW_TRANSPORT = saved
  })

  it('is fast by default and sdk for a client the caller brings, unless asked', () => {
    const client = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', forcePathStyle: true })
    expect(new Bucket(bucket().name, s3Options()).transport.kind).toBe('fast')
    expect(new Bucket(bucket().name, s3Options({ transport: 'sdk' })).transport.kind).toBe('sdk')
    expect(new Bucket(bucket().name, { client }).transport.kind).toBe('sdk')
    expect(new Bucket(bucket().name, { client, transport: 'fast' }).transport.kind).toBe('fast')
    // A plain { client, name } reference goes through the SDK.
    expect(transportOf({ client, name: bucket().name }).kind).toBe('sdk')
  })

  it('takes its default from BUCKETFLOW_TRANSPORT, the option first', () => {
    const client = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', forcePathStyle: true })
    process.env.BUCKETFLOW_TRANSPORT = 'sdk'
    expect(new Bucket(bucket().name, s3Options()).transport.kind).toBe('sdk')
    expect(new Bucket(bucket().name, s3Options({ transport: 'fast' })).transport.kind).toBe('fast')
    process.env.BUCKETFLOW_TRANSPORT = 'fast'
    expect(new Bucket(bucket().name, { client }).transport.kind).toBe('fast')
  })

  it('refuses an unknown transport before any request', () => {
    expect(() => new Bucket(bucket().name, s3Options({ transport: 'http2' as never }))).toThrow(InvalidArgumentError)
    expect(() => new Bucket(bucket().name, s3Options({ transport: 'http2' as never }))).toThrow(/Expected transport to be 'fast' or 'sdk', got "http2"/)
    process.env.BUCKETFLOW_TRANSPORT = 'slow'
    expect(() => new Bucket(bucket().name, s3Options())).toThrow(/Expected BUCKETFLOW_TRANSPORT to be 'fast' or 'sdk', got "slow"/)
  })

  it.each(['fast', 'sdk'] as const)('serves requests over %s, and close() ends the fast pool', async (kind) => {
    const b = new Bucket(bucket().name, s3Options({ transport: kind }))
    const transport = b.transport
    expect(transport.kind).toBe(kind)
    await b.put('over the wire', `close-${kind}.txt`, { literal: true })
    expect(await b.read(`close-${kind}.txt`)).toBe('over the wire')
    await b.close()
    expect(b.transport).toBe(transport)
    const head = transport.headObject({ Bucket: b.name, Key: `close-${kind}.txt` })
    if (kind === 'fast') await expect(head).rejects.toThrow()
    else await expect(head).resolves.toMatchObject({ ContentLength: 13 })
  })
})
