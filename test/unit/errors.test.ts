/**
 * The S3-error -> typed-error mapping as a table (one row per S3 code or HTTP status), then the
 * fields every error carries and the transient rule. No server: the SDK's error shapes are built
 * here as the SDK builds them (`name`/`Code`, `$metadata`, `$response`).
 */
import { describe, expect, it } from 'vitest'
import {
  AbortError,
  AccessDeniedError,
  BucketflowError,
  IntegrityError,
  InvalidArgumentError,
  InvalidObjectStateError,
  InvalidRangeError,
  isTransient,
  NoSuchBucketError,
  NoSuchKeyError,
  NotDirectoryBucketError,
  NotImplementedError,
  S3Error,
  SourceError,
  TimeoutError,
  toBucketflowError,
} from '../../src/errors.js'

/** An SDK service error as @aws-sdk/client-s3 throws it. */
function sdkError(name: string, status: number | undefined, extra: Record<string, unknown> = {}): Error {
  const err = Object.assign(new Error(extra.message === undefined ? `${name} message` : String(extra.message)), extra)
  err.name = name
  if (status !== undefined) Object.assign(err, { $metadata: { httpStatusCode: status, requestId: 'req-1' } })
  return err
}

/** A network error as node throws it (a code, no HTTP status). */
function netError(code: string): Error {
  return Object.assign(new Error(`socket ${code}`), { code })
}

type Row = {
  what: string
  err: unknown
  where?: { bucket?: string; key?: string; operation?: string }
  cls: new (...args: never[]) => BucketflowError
  code: string
  statusCode?: number
  transient: boolean
  message?: RegExp
  extra?: Record<string, unknown>
}

const at = { bucket: 'b', key: 'k', operation: 'GetObject' }

const TABLE: Row[] = [
  {
    what: 'NoSuchKey 404',
    err: sdkError('NoSuchKey', 404),
    cls: NoSuchKeyError,
    code: 'NoSuchKey',
    statusCode: 404,
    transient: false,
    message: /No such key: s3:\/\/b\/k/,
  },
  {
    what: 'HEAD 404 (no body, name NotFound)',
    err: sdkError('NotFound', 404),
    where: { bucket: 'b', key: 'k', operation: 'HeadObject' },
    cls: NoSuchKeyError,
    code: 'NoSuchKey',
    statusCode: 404,
    transient: false,
  },
  {
    what: 'NoSuchBucket 404',
    err: sdkError('NoSuchBucket', 404),
    cls: NoSuchBucketError,
    code: 'NoSuchBucket',
    statusCode: 404,
    transient: false,
    message: /Bucket b does not exist/,
  },
  {
    what: 'NoSuchBucket naming the other bucket of a copy',
    err: sdkError('NoSuchBucket', 404, { BucketName: 'src' }),
    cls: NoSuchBucketError,
    code: 'NoSuchBucket',
    statusCode: 404,
    transient: false,
    message: /Bucket src does not exist/,
    extra: { bucket: 'src' },
  },
  {
    what: '404 without a key (HeadBucket)',
    err: sdkError('NotFound', 404),
    where: { bucket: 'b', operation: 'HeadBucket' },
    cls: NoSuchBucketError,
    code: 'NoSuchBucket',
    statusCode: 404,
    transient: false,
  },
  {
    what: 'NoSuchUpload 404 stays an S3Error',
    err: sdkError('NoSuchUpload', 404),
    cls: S3Error,
    code: 'NoSuchUpload',
    statusCode: 404,
    transient: false,
    message: /NoSuchUpload \(HTTP 404\)/,
  },
  {
    what: 'AccessDenied 403',
    err: sdkError('AccessDenied', 403),
    cls: AccessDeniedError,
    code: 'AccessDenied',
    statusCode: 403,
    transient: false,
    message: /Access denied: GetObject s3:\/\/b\/k/,
  },
  { what: 'AllAccessDisabled 403', err: sdkError('AllAccessDisabled', 403), cls: AccessDeniedError, code: 'AccessDenied', statusCode: 403, transient: false },
  { what: 'HEAD 403 (no body: code 403)', err: sdkError('403', 403), cls: AccessDeniedError, code: 'AccessDenied', statusCode: 403, transient: false },
  { what: 'Forbidden 403', err: sdkError('Forbidden', 403), cls: AccessDeniedError, code: 'AccessDenied', statusCode: 403, transient: false },
  {
    what: 'InvalidObjectState 403 on a read',
    err: sdkError('InvalidObjectState', 403),
    cls: InvalidObjectStateError,
    code: 'InvalidObjectState',
    statusCode: 403,
    transient: false,
    message: /is archived/,
    extra: { archived: true },
  },
  {
    what: 'InvalidObjectState on RestoreObject',
    err: sdkError('InvalidObjectState', 403),
    where: { bucket: 'b', key: 'k', operation: 'RestoreObject' },
    cls: InvalidObjectStateError,
    code: 'InvalidObjectState',
    statusCode: 403,
    transient: false,
    message: /is not archived/,
    extra: { archived: false },
  },
  {
    what: 'InvalidRange 416',
    err: sdkError('InvalidRange', 416),
    cls: InvalidRangeError,
    code: 'InvalidRange',
    statusCode: 416,
    transient: false,
    message: /Invalid range for s3:\/\/b\/k/,
  },
  { what: 'bare 416', err: sdkError('Unknown', 416), cls: InvalidRangeError, code: 'InvalidRange', statusCode: 416, transient: false },
  {
    what: 'NotImplemented 501',
    err: sdkError('NotImplemented', 501),
    cls: NotImplementedError,
    code: 'NotImplemented',
    statusCode: 501,
    transient: true,
    message: /GetObject is not implemented by this server/,
  },
  { what: 'SlowDown 503', err: sdkError('SlowDown', 503), cls: S3Error, code: 'SlowDown', statusCode: 503, transient: true, message: /SlowDown \(HTTP 503\)/ },
  { what: 'InternalError 500', err: sdkError('InternalError', 500), cls: S3Error, code: 'InternalError', statusCode: 500, transient: true },
  { what: 'ServiceUnavailable 503', err: sdkError('ServiceUnavailable', 503), cls: S3Error, code: 'ServiceUnavailable', statusCode: 503, transient: true },
  { what: 'a 429', err: sdkError('TooManyRequests', 429), cls: S3Error, code: 'TooManyRequests', statusCode: 429, transient: true },
  {
    what: 'RequestTimeTooSkewed 403',
    err: sdkError('RequestTimeTooSkewed', 403),
    cls: S3Error,
    code: 'RequestTimeTooSkewed',
    statusCode: 403,
    transient: false,
  },
  { what: 'BadDigest 400', err: sdkError('BadDigest', 400), cls: S3Error, code: 'BadDigest', statusCode: 400, transient: true },
  {
    what: 'XAmzContentSHA256Mismatch 400',
    err: sdkError('XAmzContentSHA256Mismatch', 400),
    cls: S3Error,
    code: 'XAmzContentSHA256Mismatch',
    statusCode: 400,
    transient: true,
  },
  {
    what: 'InvalidArgument 400 from the server',
    err: sdkError('InvalidArgument', 400),
    cls: S3Error,
    code: 'InvalidArgument',
    statusCode: 400,
    transient: false,
  },
  { what: 'PreconditionFailed 412', err: sdkError('PreconditionFailed', 412), cls: S3Error, code: 'PreconditionFailed', statusCode: 412, transient: false },
  {
    what: 'Code field over name',
    err: sdkError('Error', 409, { Code: 'BucketNotEmpty' }),
    cls: S3Error,
    code: 'BucketNotEmpty',
    statusCode: 409,
    transient: false,
  },
  {
    what: 'status from $response when $metadata is missing',
    err: Object.assign(sdkError('SlowDown', undefined), { $response: { statusCode: 503 } }),
    cls: S3Error,
    code: 'SlowDown',
    statusCode: 503,
    transient: true,
  },
  {
    what: 'RequestTimeout 400',
    err: sdkError('RequestTimeout', 400),
    cls: TimeoutError,
    code: 'Timeout',
    statusCode: 400,
    transient: true,
    message: /timed out/,
  },
  { what: 'SDK TimeoutError (no status)', err: sdkError('TimeoutError', undefined), cls: TimeoutError, code: 'Timeout', transient: true },
  { what: 'ETIMEDOUT socket', err: netError('ETIMEDOUT'), cls: TimeoutError, code: 'Timeout', transient: true },
  {
    what: 'ECONNRESET socket',
    err: netError('ECONNRESET'),
    cls: BucketflowError,
    code: 'ECONNRESET',
    transient: true,
    message: /GetObject s3:\/\/b\/k failed: socket ECONNRESET/,
  },
  {
    what: 'ECONNRESET named TimeoutError by the SDK',
    err: Object.assign(sdkError('TimeoutError', undefined), { code: 'ECONNRESET' }),
    cls: BucketflowError,
    code: 'ECONNRESET',
    transient: true,
  },
  { what: 'EPIPE socket', err: netError('EPIPE'), cls: BucketflowError, code: 'EPIPE', transient: true },
  { what: 'ECONNREFUSED socket', err: netError('ECONNREFUSED'), cls: BucketflowError, code: 'ECONNREFUSED', transient: true },
  {
    what: 'an AbortError',
    err: sdkError('AbortError', undefined),
    cls: AbortError,
    code: 'AbortError',
    transient: false,
    message: /GetObject s3:\/\/b\/k was aborted/,
  },
  { what: 'ABORT_ERR code', err: netError('ABORT_ERR'), cls: AbortError, code: 'AbortError', transient: false },
  // No HTTP status and no known code: taken for a network failure, worth another attempt.
  { what: 'a plain Error', err: new Error('socket hang up'), cls: BucketflowError, code: 'Error', transient: true, message: /failed: socket hang up/ },
  { what: 'a thrown string', err: 'weird', cls: BucketflowError, code: 'Error', transient: true, message: /failed: weird/ },
  { what: 'undefined', err: undefined, cls: BucketflowError, code: 'Error', transient: true },
]

describe('toBucketflowError, one row per S3 code or status', () => {
  it.each(TABLE)('$what -> $cls.name ($code)', (row) => {
    const where = row.where ?? at
    const mapped = toBucketflowError(row.err, where)
    expect(mapped).toBeInstanceOf(row.cls)
    // The exact class, not a subclass of it (an InvalidRangeError is also an InvalidArgumentError).
    expect(mapped.constructor).toBe(row.cls)
    expect(mapped).toBeInstanceOf(BucketflowError)
    expect(mapped).toBeInstanceOf(Error)
    expect(mapped.name).toBe(row.cls.name)
    expect(mapped.code).toBe(row.code)
    expect(mapped.statusCode).toBe(row.statusCode)
    expect(mapped.requestId).toBe(row.statusCode !== undefined && (row.err as { $metadata?: unknown }).$metadata ? 'req-1' : undefined)
    expect(mapped.bucket).toBe(row.extra?.bucket ?? where.bucket)
    expect(mapped.key).toBe(where.key)
    expect(mapped.cause).toBe(row.err)
    expect(isTransient(mapped)).toBe(row.transient)
    if (row.message) expect(mapped.message).toMatch(row.message)
    for (const [field, value] of Object.entries(row.extra ?? {})) expect((mapped as unknown as Record<string, unknown>)[field], field).toBe(value)
  })

  it('covers every error class that a server answer can map to', () => {
    const mapped = new Set(TABLE.map((row) => row.cls))
    for (const cls of [
      NoSuchKeyError,
      NoSuchBucketError,
      AccessDeniedError,
      InvalidObjectStateError,
      InvalidRangeError,
      NotImplementedError,
      TimeoutError,
      AbortError,
      S3Error,
    ]) {
      expect(mapped.has(cls), cls.name).toBe(true)
    }
  })

  it('returns a BucketflowError as it is', () => {
    const original = new NoSuchKeyError('gone', { bucket: 'x', key: 'y' })
    expect(toBucketflowError(original, at)).toBe(original)
  })

  it("makes any failure after the signal aborted an AbortError, the signal's own reason first", () => {
    const controller = new AbortController()
    controller.abort(new Error('stop'))
    const mapped = toBucketflowError(netError('ECONNRESET'), at, controller.signal)
    expect(mapped.constructor).toBe(AbortError)
    expect(mapped.message).toBe('GetObject s3://b/k was aborted')
    expect(mapped.bucket).toBe('b')
    expect((mapped.cause as Error).message).toBe('stop')
    const reason = new AbortError('by the consumer')
    const second = new AbortController()
    second.abort(reason)
    expect(toBucketflowError(sdkError('SlowDown', 503), at, second.signal)).toBe(reason)
    // Not aborted: the signal changes nothing.
    expect(toBucketflowError(sdkError('SlowDown', 503), at, new AbortController().signal).constructor).toBe(S3Error)
  })

  it('names the target as s3://bucket, s3://bucket/key, or nothing', () => {
    expect(toBucketflowError(sdkError('SlowDown', 503), { bucket: 'b', operation: 'ListObjectsV2' }).message).toBe(
      'ListObjectsV2 s3://b failed: SlowDown (HTTP 503): SlowDown message',
    )
    expect(toBucketflowError(sdkError('SlowDown', 503, { message: 'SlowDown' }), {}).message).toBe(' failed: SlowDown (HTTP 503)')
  })
})

describe('error classes', () => {
  const fields = { bucket: 'b', key: 'k', uploadId: 'u', partNumber: 3, statusCode: 500, requestId: 'r', cause: new Error('root') }
  const CLASSES: [new (message: string, fields?: object) => BucketflowError, string][] = [
    [NoSuchKeyError, 'NoSuchKey'],
    [NoSuchBucketError, 'NoSuchBucket'],
    [AccessDeniedError, 'AccessDenied'],
    [InvalidObjectStateError, 'InvalidObjectState'],
    [InvalidArgumentError, 'InvalidArgument'],
    [InvalidRangeError, 'InvalidRange'],
    [IntegrityError, 'IntegrityError'],
    [TimeoutError, 'Timeout'],
    [SourceError, 'SourceError'],
    [AbortError, 'AbortError'],
    [NotImplementedError, 'NotImplemented'],
    [NotDirectoryBucketError, 'NotDirectoryBucket'],
  ]

  it.each(CLASSES)('%o has a stable name and code and keeps the locating fields', (cls, code) => {
    const err = new cls('msg', fields)
    expect(err.name).toBe(cls.name)
    expect(err.code).toBe(code)
    expect(err.message).toBe('msg')
    for (const [k, v] of Object.entries(fields)) expect((err as unknown as Record<string, unknown>)[k], k).toBe(v)
    const bare = new cls('bare')
    expect([bare.bucket, bare.key, bare.statusCode, bare.cause]).toEqual([undefined, undefined, undefined, undefined])
  })

  it('keeps argument on InvalidArgumentError and the comparison on IntegrityError', () => {
    expect(new InvalidArgumentError('x', { argument: 'concurrency' }).argument).toBe('concurrency')
    const integrity = new IntegrityError('x', { algorithm: 'md5', expected: 'aa', actual: 'bb' })
    expect([integrity.algorithm, integrity.expected, integrity.actual]).toEqual(['md5', 'aa', 'bb'])
    expect(new InvalidRangeError('x')).toBeInstanceOf(InvalidArgumentError)
    expect(new AbortError().message).toBe('The operation was aborted')
  })

  it('calls client-side failures not transient: bad input, integrity, the source, an abort', () => {
    expect(isTransient(new InvalidArgumentError('x', { statusCode: 503 }))).toBe(false)
    expect(isTransient(new IntegrityError('x'))).toBe(false)
    expect(isTransient(new SourceError('x'))).toBe(false)
    expect(isTransient(new AbortError())).toBe(false)
    expect(isTransient(new BucketflowError('x'))).toBe(false)
    expect(isTransient(new TimeoutError('x'))).toBe(true)
    expect(isTransient(new S3Error('x', { statusCode: 404 }, 'SlowDown'))).toBe(false)
    expect(isTransient(new S3Error('x', { statusCode: 408 }, 'Whatever'))).toBe(true)
  })
})
