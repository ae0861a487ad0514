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

/** Fields that locate an error. */
export interface ErrorFields {
  bucket?: string
  key?: string
  uploadId?: string
  partNumber?: number
  statusCode?: number
  requestId?: string
  /** For {@link InvalidArgumentError}: the name of the argument or option that was wrong. */
  argument?: string
  cause?: unknown
}

/** Base class of every error bucketflow raises. */
export class BucketflowError extends Error {
  /** Stable machine-readable code, e.g. `NoSuchKey`, `InvalidArgument`. */
  readonly code: string
  readonly bucket?: string
  readonly key?: string
  readonly uploadId?: string
  readonly partNumber?: number
  readonly statusCode?: number
  readonly requestId?: string

  constructor(message: string, fields: ErrorFields = {}, code = 'BucketflowError') {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause })
    this.name = new.target.name
    this.code = code
    if (fields.bucket !== undefined) this.bucket = fields.bucket
    if (fields.key !== undefined) this.key = fields.key
    if (fields.uploadId !== undefined) this.uploadId = fields.uploadId
    if (fields.partNumber !== undefined) this.partNumber = fields.partNumber
    if (fields.statusCode !== undefined) this.statusCode = fields.statusCode
    if (fields.requestId !== undefined) this.requestId = fields.requestId
  }
}

/** The object does not exist (S3 `NoSuchKey`, or 404 on HEAD). */
export class NoSuchKeyError extends BucketflowError {
  constructor(message: string, fields: ErrorFields = {}) {
    super(message, fields, 'NoSuchKey')
  }
}

/** The bucket does not exist (S3 `NoSuchBucket`). */
export class NoSuchBucketError extends BucketflowError {
  constructor(message: string, fields: ErrorFields = {}) {
    super(message, fields, 'NoSuchBucket')
  }
}

/** The credentials are not allowed to do this (S3 `AccessDenied`, 403). */
export class AccessDeniedError extends BucketflowError {
  constructor(message: string, fields: ErrorFields = {}) {
    super(message, fields, 'AccessDenied')
  }
}

/** Bad input, caught before any request was sent. `argument` names what was wrong. */
export class InvalidArgumentError extends BucketflowError {
  readonly argument?: string
  constructor(message: string, fields: ErrorFields = {}, code = 'InvalidArgument') {
    super(message, fields, code)
    if (fields.argument !== undefined) this.argument = fields.argument
  }
}

/** A requested byte range lies outside the object (checked after a HEAD, before the GET). */
export class InvalidRangeError extends InvalidArgumentError {
  constructor(message: string, fields: ErrorFields = {}) {
    super(message, fields, 'InvalidRange')
  }
}

/** Data did not arrive intact: a size or checksum mismatch. */
export class IntegrityError extends BucketflowError {
  constructor(message: string, fields: ErrorFields = {}) {
    super(message, fields, 'IntegrityError')
  }
}

/** The operation was aborted through its `signal`, or by the consumer stopping early. */
export class AbortError extends BucketflowError {
  constructor(message = 'The operation was aborted', fields: ErrorFields = {}) {
    super(message, fields, 'AbortError')
  }
}

/** The server does not implement this operation (e.g. RestoreObject on some S3-compatible servers). */
export class NotImplementedError extends BucketflowError {
  constructor(message: string, fields: ErrorFields = {}) {
    super(message, fields, 'NotImplemented')
  }
}

/** The operation needs an S3 Express One Zone directory bucket (e.g. {@link Bucket.append}). */
export class NotDirectoryBucketError extends BucketflowError {
  constructor(message: string, fields: ErrorFields = {}) {
    super(message, fields, 'NotDirectoryBucket')
  }
}

/** Any other S3 error response; `code` is the S3 error code (e.g. `SlowDown`). */
export class S3Error extends BucketflowError {}

interface SdkErrorShape {
  name?: string
  Code?: string
  code?: string
  message?: string
  $metadata?: { httpStatusCode?: number; requestId?: string }
  $response?: { statusCode?: number }
}

function isAbort(err: SdkErrorShape): boolean {
  return err.name === 'AbortError' || err.code === 'ABORT_ERR'
}

/**
 * Turn an SDK (or network) error into a typed {@link BucketflowError} that names the bucket and
 * key. The kind comes from the S3 error code and HTTP status, never the message text (some
 * servers send none).
 */
export function toBucketflowError(err: unknown, where: ErrorFields & { operation?: string } = {}): BucketflowError {
  if (err instanceof BucketflowError) return err
  const e = (err ?? {}) as SdkErrorShape
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode
  const requestId = e.$metadata?.requestId
  const code = e.Code ?? (e.name && e.name !== 'Error' ? e.name : undefined) ?? e.code ?? 'UnknownError'
  const fields: ErrorFields = { ...where, cause: err }
  if (status !== undefined) fields.statusCode = status
  if (requestId !== undefined) fields.requestId = requestId
  const op = where.operation ? `${where.operation} ` : ''
  const target = where.bucket === undefined ? '' : where.key === undefined ? `s3://${where.bucket}` : `s3://${where.bucket}/${where.key}`
  const detail = e.message && e.message !== code && e.message !== 'UnknownError' ? `: ${e.message}` : ''
  if (isAbort(e)) return new AbortError(`${op}${target} was aborted`, fields)
  // Not an S3 response (a source stream's error, a socket error): keep its own code and message.
  if (status === undefined) {
    return new BucketflowError(`${op}${target} failed: ${e.message ?? String(err)}`, fields, code === 'UnknownError' ? 'Error' : code)
  }
  if (code === 'NoSuchBucket') return new NoSuchBucketError(`Bucket ${where.bucket ?? ''} does not exist`, fields)
  if (code === 'NoSuchKey' || code === 'NotFound' || (status === 404 && where.key !== undefined && code !== 'NoSuchUpload')) {
    return new NoSuchKeyError(`No such key: ${target}`, fields)
  }
  if (status === 404 && where.key === undefined && code !== 'NoSuchUpload') {
    return new NoSuchBucketError(`Bucket ${where.bucket ?? ''} does not exist`, fields)
  }
  if (code === 'AccessDenied' || code === 'Forbidden' || status === 403) {
    return new AccessDeniedError(`Access denied: ${op}${target}${detail}`, fields)
  }
  if (code === 'InvalidRange' || status === 416) return new InvalidRangeError(`Invalid range for ${target}${detail}`, fields)
  if (code === 'NotImplemented' || status === 501) {
    return new NotImplementedError(`${op || 'operation '}is not implemented by this server (${target})${detail}`, fields)
  }
  return new S3Error(`${op}${target} failed: ${code}${status ? ` (HTTP ${status})` : ''}${detail}`, fields, code)
}
