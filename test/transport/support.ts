/** Shared helpers of the transport tests: clients and transports on the run's S3 server. */
import { randomBytes } from 'node:crypto'
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3'
import { inject } from 'vitest'
import { createClient, type ClientOptions } from '../../src/client.js'
import { createTransport, type TransportOptions } from '../../src/transport/index.js'
import type { TransportError } from '../../src/transport/error.js'
import type { Transport, TransportKind } from '../../src/transport/types.js'

/** An S3Client for the run's server (optionally through another endpoint, e.g. a proxy). */
export function testClient(extra: ClientOptions = {}): S3Client {
  const s3 = inject('s3')
  return createClient({
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    ...extra,
  })
}

/** A transport of `kind` over a fresh client. */
export function testTransport(kind: TransportKind, extra: ClientOptions = {}, options: TransportOptions = {}): { client: S3Client; transport: Transport } {
  const client = testClient(extra)
  return { client, transport: createTransport(client, { kind, ...options }) }
}

/** Create a uniquely named bucket. */
export async function makeBucket(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(5).toString('hex')}`
  await testClient().send(new CreateBucketCommand({ Bucket: name }))
  return name
}

/** Drain a response body into one Buffer. */
export async function bodyBytes(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of body) chunks.push(Buffer.from(c))
  return Buffer.concat(chunks)
}

/**
 * Keys users bring: spaces, unicode, '+', '%', XML's special characters, control characters,
 * dot segments, a double slash, and one of 1024 bytes.
 */
export const HARD_KEYS = [
  'plain.txt',
  'with space/and  two.txt',
  'unicodé/日本語/😀.txt',
  'a+b=c&d;e,f.txt',
  '100%/x%20y%2F%zz.txt',
  '<tag attr="1">&amp;\'quote\'</tag>',
  'ctl\u0001\u0002\u001f\u007f.txt',
  'line\nbreak\r\ttab',
  '../dot/./seg/..',
  '//double//slash',
  '~!*()[]{}|\\^`@$#?',
  `long/${'k'.repeat(1019)}`,
]

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<TransportError> {
  try {
    await p
  } catch (err) {
    return err as TransportError
  }
  throw new Error('expected a rejection')
}
