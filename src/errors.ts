/**
 * Typed errors. Every error bucketflow raises is a {@link BucketflowError} with a stable
 * `name` and `code` and the fields that locate the problem (`bucket`, `key`, `uploadId`,
 * `partNumber`, `statusCode`, `requestId`) plus the underlying SDK error as `cause`.
 * Branch on the class or on `code`, never on the message text.
 *
 * @example
 * ```ts
 * import { NoSuchKeyError } from 'bucketflow'
 * try {
 *   await bucket.get('missing.txt')
 * } catch (err) {
 *   if (err instanceof NoSuchKeyError) console.log(`${err.bucket}/${err.key} is not there`)
 *   else throw err
 * }
 * ```
 * @packageDocumentation
 */

export * from './error-classes.js'
import {
  BucketflowError,
  NoSuchKeyError,
  NoSuchBucketError,
  AccessDeniedError,
  InvalidObjectStateError,
  InvalidArgumentError,
  InvalidRangeError,
  IntegrityError,
  TimeoutError,
  SourceError,
  AbortError,
  NotImplementedError,
  S3Error,
  type ErrorFields,
} from './error-classes.js'

interface SdkErrorShape {
  name?: string
  Code?: string
  code?: string
  message?: string
  BucketName?: string
  $metadata?: { httpStatusCode?: number; requestId?: string }
  $response?: { statusCode?: number }
}

function isAbort(err: SdkErrorShape): boolean {
  return err.name === 'AbortError' || err.code === 'ABORT_ERR'
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ECONNABORTED'])
const TIMEOUT_CODES = new Set(['TimeoutError', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'RequestTimeout', 'Timeout'])

/**
 * Turn an SDK (or network) error into a typed {@link BucketflowError} that names the bucket and
 * key. The kind comes from the S3 error code (and, where a response has no body to carry one,
 * the HTTP status), never the message text (some servers send none). Given the operation's
 * `signal`, any failure after it aborted is an {@link AbortError} (a request torn down by the
 * abort fails with a socket error first).
 *
 * @example
 * ```ts
 * import { HeadObjectCommand } from '@aws-sdk/client-s3'
 * try {
 *   await client.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' }))
 * } catch (err) {
 *   throw toBucketflowError(err, { bucket: 'b', key: 'k', operation: 'GetObject' })
 * }
 * ```
 */
export function toBucketflowError(err: unknown, where: ErrorFields & { operation?: string } = {}, signal?: AbortSignal): BucketflowError {
  if (signal?.aborted && !(err instanceof AbortError)) {
    const reason: unknown = signal.reason
    if (reason instanceof AbortError) return reason
    const { operation: _op, ...fields } = where
    const target = targetOf(where)
    return new AbortError(`${where.operation ? `${where.operation} ` : ''}${target} was aborted`, { ...fields, cause: reason ?? err })
  }
  if (err instanceof BucketflowError) return err
  const e = (err ?? {}) as SdkErrorShape
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode
  const requestId = e.$metadata?.requestId
  const code = String(e.Code ?? (e.name && e.name !== 'Error' ? e.name : undefined) ?? e.code ?? 'UnknownError')
  const { operation, ...located } = where
  const fields: ErrorFields = { ...located, cause: err }
  if (status !== undefined) fields.statusCode = status
  if (requestId !== undefined) fields.requestId = requestId
  const target = targetOf(where)
  const op = operation ? (target ? `${operation} ` : operation) : ''
  // The message adds nothing when it only repeats the code (and status).
  const bare = e.message === code || e.message === 'UnknownError' || e.message === `${code} (HTTP ${status})`
  const detail = e.message && !bare ? `: ${e.message}` : ''
  if (isAbort(e)) return new AbortError(`${op}${target} was aborted`, fields)
  // The SDK names a reset socket (ECONNRESET, EPIPE) 'TimeoutError': the socket's code says what it was.
  if (status === undefined && e.code !== undefined && RESET_CODES.has(e.code)) {
    return new BucketflowError(`${op}${target} failed: ${e.message ?? e.code}`, fields, e.code)
  }
  if (TIMEOUT_CODES.has(code) || (e.code !== undefined && TIMEOUT_CODES.has(e.code))) {
    return new TimeoutError(`${op}${target} timed out${detail}`, fields)
  }
  // Not an S3 response (a source stream's error, a socket error): keep its own code and message.
  if (status === undefined) {
    return new BucketflowError(`${op}${target} failed: ${e.message ?? String(err)}`, fields, code === 'UnknownError' ? 'Error' : code)
  }
  // Not an answer of S3 (a web server or a proxy at the endpoint): its status says nothing of the bucket or key.
  if (code === 'UnexpectedResponse') return new S3Error(`${op}${target} failed${detail}`, fields, code)
  if (code === 'NoSuchBucket') {
    // The error names the bucket that is missing (a copy has two).
    const bucket = e.BucketName || where.bucket
    const f = bucket === undefined ? fields : { ...fields, bucket }
    return new NoSuchBucketError(`Bucket ${bucket ?? ''} does not exist`, f)
  }
  if (code === 'NoSuchKey' || (status === 404 && where.key !== undefined && code !== 'NoSuchUpload')) {
    return new NoSuchKeyError(`No such key: ${target}`, fields)
  }
  if (status === 404 && where.key === undefined && code !== 'NoSuchUpload') {
    return new NoSuchBucketError(`Bucket ${where.bucket ?? ''} does not exist`, fields)
  }
  if (code === 'InvalidObjectState') {
    if (operation === 'RestoreObject') {
      return new InvalidObjectStateError(`${target} is not archived: only GLACIER and DEEP_ARCHIVE objects can be restored`, fields, false)
    }
    return new InvalidObjectStateError(
      `${target} is archived and cannot be read until it is restored: restore it (bucket.restore(key), or \`bucketflow restore\`), then read it when the restore has finished`,
      fields,
    )
  }
  // A 403 is access denied only when the code says so; a HEAD's 403 has no body, hence no code.
  if (
    code === 'AccessDenied' ||
    code === 'AllAccessDisabled' ||
    code === 'Forbidden' ||
    (status === 403 && (code === '403' || code === 'Unknown' || code === 'UnknownError'))
  ) {
    return new AccessDeniedError(`Access denied: ${op}${target}${detail}`, fields)
  }
  if (code === 'InvalidRange' || status === 416) return new InvalidRangeError(`Invalid range for ${target}${detail}`, fields)
  if (code === 'NotImplemented' || status === 501) {
    return new NotImplementedError(`${op || 'operation '}is not implemented by this server (${target})${detail}`, fields)
  }
  return new S3Error(`${op}${target} failed: ${code}${status ? ` (HTTP ${status})` : ''}${detail}`, fields, code)
}

function targetOf(where: { bucket?: string; key?: string }): string {
  return where.bucket === undefined ? '' : where.key === undefined ? `s3://${where.bucket}` : `s3://${where.bucket}/${where.key}`
}

const TRANSIENT_CODES = new Set([
  'SlowDown',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'Throttling',
  'ThrottlingException',
  'BadDigest',
  'XAmzContentSHA256Mismatch',
  'IncompleteBody',
  'UnknownError',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
])

/**
 * Whether a failed request is worth sending again: network errors and timeouts, 5xx, throttling,
 * and a body the server saw corrupted (`BadDigest`: the sender still holds the right bytes).
 * Never an abort, a bad argument, or a 403/404.
 *
 * @example
 * ```ts
 * declare const err: unknown
 * declare function retry(): Promise<void>
 * if (isTransient(toBucketflowError(err))) await retry()
 * ```
 */
export function isTransient(err: BucketflowError): boolean {
  if (err instanceof AbortError || err instanceof InvalidArgumentError) return false
  if (err instanceof TimeoutError) return true
  const status = err.statusCode
  if (status === undefined) return !(err instanceof IntegrityError) && !(err instanceof SourceError) && err.code !== 'BucketflowError'
  if (status >= 500 || status === 429 || status === 408) return true
  return TRANSIENT_CODES.has(err.code) && status !== 404 && status !== 403
}
