/**
 * Appending on Ceph radosgw, through its own API (the AWS SDK does not know it): `PUT
 * /bucket/key?append&position=N` adds the body at byte N of an "appendable" object (position 0
 * creates one), and the answer's `x-rgw-next-append-position` is the object's new length. A wrong
 * position is refused with 409 `PositionNotEqualToLength`, carrying the object's current length in
 * the same header; an object written by a plain PUT is refused with 409 `ObjectNotAppendable`.
 *
 * The request is the SDK's own PutObject with the two query parameters added by a build-step
 * middleware (before signing, so they are signed): credentials, region, endpoint, path style,
 * retries, abort and error parsing stay the SDK's, and no second signer or HTTP path is kept in
 * step with them. The body carries Content-MD5, which radosgw checks; the answer's ETag (the MD5
 * of the appended bytes) and new length are checked too.
 *
 * When a position conflict is safe to resolve, and how:
 * - The bytes at the position already are exactly the data (the answer to an earlier attempt was
 *   lost and the SDK, or the caller, sent it again): the append is done; nothing is written twice.
 *   Without a pinned `offset` this is only concluded when this call's own request was retried
 *   (`$metadata.attempts > 1`); a first attempt refused outright wrote nothing.
 * - No `offset` was given (the caller asked for "at the end, wherever that is"): another writer
 *   moved the end; append at the length the server reported, up to 10 times.
 * - An `offset` was given and the bytes there differ: the caller pinned a position that is taken;
 *   that is an error (S3Error, code `PositionNotEqualToLength`, statusCode 409) for the caller to
 *   resolve. Nothing is overwritten.
 * Two writers appending identical bytes at the same position cannot be told apart by content:
 * give records something unique (a writer id, a sequence number) when that matters.
 *
 * Internal: `appendObject` (stages/append.ts) calls it for general purpose buckets on radosgw.
 */
import { createHash } from 'node:crypto'
import type { S3Client } from '@aws-sdk/client-s3'
import type { BucketRef } from '../bucket-ref.js'
import { IntegrityError, NoSuchKeyError, S3Error, toBucketflowError } from '../errors.js'
import { getObject } from './get/index.js'
import { headObject } from './head.js'
import { HeadBucketCommand, PutObjectCommand } from '../aws-sdk.cjs'

/** Header radosgw answers an append (and a refused one) with: the object's length after it. */
const NEXT_POSITION = 'x-rgw-next-append-position'
/** Appends retried at a moved end (no offset given) before giving up. */
const MAX_MOVES = 10

type Headers = Record<string, string | undefined>

/** What an append on radosgw produced (the fields of AppendResult). */
export interface RgwAppendResult {
  key: string
  offset: number
  size: number
  etag: string
  /** The bytes were found in place after a lost answer: nothing was written again. */
  recovered?: true
}

const detected = new WeakMap<S3Client, Map<string, Promise<boolean>>>()

/**
 * Whether the bucket's server is radosgw (its HeadBucket answer carries `x-rgw-*` headers), asked
 * once per client and bucket. Clients without a custom endpoint talk to AWS: false, no request.
 */
export async function isRgw(ref: BucketRef, signal?: AbortSignal): Promise<boolean> {
  if ((ref.client.config as { isCustomEndpoint?: boolean }).isCustomEndpoint !== true) return false
  let perBucket = detected.get(ref.client)
  if (!perBucket) detected.set(ref.client, (perBucket = new Map()))
  let answer = perBucket.get(ref.name)
  if (!answer) {
    answer = (async () => {
      let headers: Headers = {}
      const command = new HeadBucketCommand({ Bucket: ref.name })
      command.middlewareStack.add(
        (next) => async (args) => {
          const out = await next(args)
          headers = ((out.response as { headers?: Headers }).headers ?? {}) as Headers
          return out
        },
        { step: 'deserialize', name: 'bucketflowRgwProbe' },
      )
      try {
        await ref.client.send(command, signal ? { abortSignal: signal } : {})
      } catch (err) {
        throw toBucketflowError(err, { bucket: ref.name, operation: 'HeadBucket' })
      }
      return Object.keys(headers).some((h) => h.toLowerCase().startsWith('x-rgw-'))
    })()
    perBucket.set(ref.name, answer)
    // Do not remember a failed probe.
    answer.catch(() => perBucket!.delete(ref.name))
  }
  return answer
}

interface AppendAnswer {
  etag: string
  next: number | undefined
}

async function putAppend(ref: BucketRef, key: string, data: Uint8Array, position: number, md5: Buffer, signal: AbortSignal | undefined): Promise<AppendAnswer> {
  const command = new PutObjectCommand({ Bucket: ref.name, Key: key, Body: data, ContentLength: data.byteLength, ContentMD5: md5.toString('base64') })
  let headers: Headers = {}
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { query?: Record<string, string> }
      request.query = { ...request.query, append: '', position: String(position) }
      const out = await next(args)
      headers = ((out.response as { headers?: Headers }).headers ?? {}) as Headers
      return out
    },
    { step: 'build', name: 'bucketflowRgwAppend' },
  )
  const out = await ref.client.send(command, signal ? { abortSignal: signal } : {})
  const next = headers[NEXT_POSITION]
  return { etag: out.ETag ?? '', next: next === undefined ? undefined : Number(next) }
}

function conflictOf(err: unknown): { next: number; attempts: number } | undefined {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number; attempts?: number }; $response?: { headers?: Headers } }
  const code = e.Code ?? e.name
  if (code !== 'PositionNotEqualToLength' || e.$metadata?.httpStatusCode !== 409) return undefined
  const next = Number(e.$response?.headers?.[NEXT_POSITION])
  return Number.isSafeInteger(next) && next >= 0 ? { next, attempts: e.$metadata?.attempts ?? 1 } : undefined
}

/**
 * Append `data` to `key` on radosgw at `offset` (default: the object's length, from a HEAD; 0
 * when it does not exist). See the module notes for what a position conflict does.
 */
export async function appendRgw(
  ref: BucketRef,
  key: string,
  data: Uint8Array,
  options: { offset?: number; signal?: AbortSignal } = {},
): Promise<RgwAppendResult> {
  const where = { bucket: ref.name, key }
  const signal = options.signal
  const pinned = options.offset !== undefined
  let position = options.offset
  if (position === undefined) {
    try {
      position = (await headObject(ref, key, signal ? { signal } : {})).size
    } catch (err) {
      if (!(err instanceof NoSuchKeyError)) throw err
      position = 0
    }
  }
  const md5 = createHash('md5').update(data).digest()
  const md5Hex = md5.toString('hex')
  const length = data.byteLength
  for (let moves = 0; ; moves++) {
    let answer: AppendAnswer
    try {
      answer = await putAppend(ref, key, data, position, md5, signal)
    } catch (err) {
      const conflict = conflictOf(err)
      if (!conflict) throw toBucketflowError(err, { ...where, operation: 'PutObject (append)' })
      const maybeOurs = pinned || conflict.attempts > 1
      if (maybeOurs && conflict.next >= position + length && length > 0) {
        const there = await getObject(ref, key, { start: position, end: position + length, ...(signal ? { signal } : {}) })
        if (Buffer.compare(there, data) === 0) return { key, offset: position, size: conflict.next, etag: `"${md5Hex}"`, recovered: true }
      }
      if (pinned || moves + 1 >= MAX_MOVES) {
        throw new S3Error(
          `Cannot append to s3://${ref.name}/${key} at byte ${position}: the object is ${conflict.next} bytes${pinned ? ' (the offset given is not its length, and the bytes there differ)' : `, and it kept moving (${MAX_MOVES} tries)`}`,
          { ...where, statusCode: 409, cause: err },
          'PositionNotEqualToLength',
        )
      }
      position = conflict.next
      continue
    }
    const expected = position + length
    if (answer.next !== expected) {
      throw new IntegrityError(
        `Appending ${length} bytes at byte ${position} of s3://${ref.name}/${key} should make it ${expected} bytes, but the server reported ${answer.next ?? 'no length'} (did it treat the append as a plain PUT?)`,
        where,
      )
    }
    const etag = answer.etag.replaceAll('"', '')
    if (/^[0-9a-f]{32}$/.test(etag) && etag !== md5Hex) {
      throw new IntegrityError(
        `The server stored different bytes for the append to s3://${ref.name}/${key} at byte ${position}: ETag ${etag}, MD5 of the data ${md5Hex}`,
        where,
      )
    }
    return { key, offset: position, size: expected, etag: answer.etag }
  }
}
