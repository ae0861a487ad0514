/**
 * Appending to an object, which S3 Express One Zone directory buckets can do: PutObject
 * with `WriteOffsetBytes` equal to the object's current size adds the bytes at its end.
 * Ceph radosgw can too, through its own `?append&position=` API (stages/append-rgw.ts): a general
 * purpose bucket on a server whose HeadBucket answer shows it is radosgw appends that way.
 *
 * Directory buckets are named `<base>--<zone-id>--x-s3` (a suffix general purpose buckets may
 * not use). Any other bucket fails with {@link NotDirectoryBucketError} before a request is
 * sent: other buckets (and S3-compatible servers) ignore `WriteOffsetBytes` and would replace
 * the object. As a second guard, the response must report the appended object's new size
 * (`x-amz-object-size`), else {@link IntegrityError}.
 *
 * @example
 * ```ts
 * const express = new Bucket('logs--use1-az4--x-s3')
 * await express.append('second line\n', 'app.log', { literal: true })
 * ```
 * @packageDocumentation
 */
import type { PutObjectCommandInput } from '@aws-sdk/client-s3'
import type { BucketRef } from '../bucket-ref.js'
import { checkSource, prepareBody, type PutSource } from '../body.js'
import { IntegrityError, InvalidArgumentError, NoSuchKeyError, NotDirectoryBucketError, toBucketflowError } from '../errors.js'
import { describeValue, validateKey } from '../validate.js'
import { appendRgw, isRgw } from './append-rgw.js'
import { headObject } from './head.js'
import { PutObjectCommand } from '../aws-sdk.cjs'

/** Options for {@link appendObject}. */
export interface AppendOptions {
  /** Treat a string source as the bytes to append (UTF-8), not a file path, as for `put`. Default false. */
  literal?: boolean
  /**
   * The object's current size, where the bytes go. Default: found with a HEAD (0 when the
   * object does not exist yet, which creates it). S3 refuses an offset that is not the size.
   */
  offset?: number
  signal?: AbortSignal
}

/** What an append produced. */
export interface AppendResult {
  key: string
  /** Where the appended bytes start. */
  offset: number
  /** The object's size after the append. */
  size: number
  etag: string
  /** radosgw: the bytes were found in place after a lost answer, and not written again. */
  recovered?: true
}

/**
 * True when `name` is an S3 Express One Zone directory bucket name (it ends with `--x-s3`).
 *
 * @example
 * ```ts
 * isDirectoryBucket('logs--use1-az4--x-s3') // true
 * ```
 */
export function isDirectoryBucket(name: string): boolean {
  return name.endsWith('--x-s3')
}

/**
 * The PutObject request of an append: the bytes, their length, and `WriteOffsetBytes`.
 *
 * @example
 * ```ts
 * appendInput('logs--use1-az4--x-s3', 'app.log', Buffer.from('x\n'), 120)
 * // { Bucket, Key: 'app.log', Body, ContentLength: 2, WriteOffsetBytes: 120 }
 * ```
 */
export function appendInput(bucket: string, key: string, data: Uint8Array, offset: number): PutObjectCommandInput {
  return { Bucket: bucket, Key: key, Body: data, ContentLength: data.byteLength, WriteOffsetBytes: offset }
}

/**
 * Append `data` to the object `key` of a directory bucket. `data` is any source `put` takes
 * (bytes, a file path, a string with `{ literal: true }`, a Readable, an (async) iterable of
 * chunks, a web ReadableStream); a stream is read into memory first, since the request needs
 * its length. Resolves to `{ key, offset, size, etag }`. Another bucket appends through radosgw's
 * API when its server is radosgw (one HeadBucket tells, per client and bucket); anywhere else it
 * fails with NotDirectoryBucketError, and on AWS endpoints no request is sent. Two appenders racing: one of
 * them gets S3's error for a wrong offset (an S3Error, code `InvalidWriteOffset`); find the new
 * size and try again. Memory: `data`.
 *
 * @example
 * ```ts
 * const { size } = await appendObject(bucket, `${new Date().toISOString()} ok\n`, 'health.log', { literal: true })
 * ```
 */
export async function appendObject(ref: BucketRef, data: PutSource, key: string, opts: AppendOptions = {}): Promise<AppendResult> {
  validateKey(key, ref.name)
  const where = { bucket: ref.name, key }
  try {
    checkSource(data, key)
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message, { ...where, argument: 'data' })
  }
  if (opts.offset !== undefined && (!Number.isSafeInteger(opts.offset) || opts.offset < 0)) {
    throw new InvalidArgumentError(`Expected offset to be an integer >= 0, got ${describeValue(opts.offset)}`, { ...where, argument: 'offset' })
  }
  const directory = isDirectoryBucket(ref.name)
  if (!directory && !(await isRgw(ref, opts.signal))) {
    throw new NotDirectoryBucketError(
      `Cannot append to s3://${ref.name}/${key}: appending needs an S3 Express One Zone directory bucket (a name ending in --x-s3) or a Ceph radosgw server. ` +
        'Elsewhere, write a new object (createLogStream) or put the whole object again.',
      where,
    )
  }
  const body = await prepareBody(data, opts.literal ?? false, key)
  const bytes = body.kind === 'bytes' ? body.bytes : await readAll(body.stream, where)
  if (!directory) {
    const rgwOptions = { ...(opts.offset !== undefined ? { offset: opts.offset } : {}), ...(opts.signal ? { signal: opts.signal } : {}) }
    return appendRgw(ref, key, bytes, rgwOptions)
  }
  const signalOpt = opts.signal ? { signal: opts.signal } : {}
  let offset = opts.offset
  if (offset === undefined) {
    try {
      offset = (await headObject(ref, key, signalOpt)).size
    } catch (err) {
      if (!(err instanceof NoSuchKeyError)) throw err
      offset = 0
    }
  }
  let out
  try {
    out = await ref.client.send(new PutObjectCommand(appendInput(ref.name, key, bytes, offset)), opts.signal ? { abortSignal: opts.signal } : {})
  } catch (err) {
    throw toBucketflowError(err, { ...where, operation: 'PutObject' })
  }
  const expected = offset + bytes.byteLength
  if (out.Size !== expected) {
    throw new IntegrityError(
      `Appending ${bytes.byteLength} bytes at offset ${offset} of s3://${ref.name}/${key} should make it ${expected} bytes, but the server reported ${out.Size ?? 'no size'} (did it ignore WriteOffsetBytes?)`,
      where,
    )
  }
  return { key, offset, size: expected, etag: out.ETag ?? '' }
}

/** A stream source's bytes, in memory (an append is one request of known length). */
async function readAll(stream: AsyncIterable<Uint8Array | string>, where: { bucket: string; key: string }): Promise<Buffer> {
  const chunks: Buffer[] = []
  try {
    for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk))
  } catch (err) {
    throw toBucketflowError(err, { ...where, operation: 'Append (reading the source)' })
  }
  return Buffer.concat(chunks)
}
