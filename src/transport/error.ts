/**
 * The one error type of the request layer, shaped like the AWS SDK's service errors so that
 * `toBucketflowError` (src/errors.ts) and the SDK's retry classification read it unchanged:
 * `name` and `Code` carry the S3 error code, `$metadata.httpStatusCode` the HTTP status,
 * `$metadata.requestId` the request id. Network failures carry Node's `code` (`ECONNRESET`,
 * `ETIMEDOUT`) and no status; timeouts are named `TimeoutError`.
 *
 * @packageDocumentation
 */

import { InvalidArgumentError } from '../errors.js'

/**
 * Refuse a bucket name that would reshape the request path and an empty key (which would turn
 * an object request into a bucket request: GET on a bucket is a listing). Checked by both
 * transports before any request; the stages validate names properly before that.
 */
export function checkTarget(bucket: unknown, key?: unknown): void {
  if (typeof bucket !== 'string' || bucket === '' || /[/?#\s%\\]/.test(bucket)) {
    throw new InvalidArgumentError(`Invalid bucket name ${JSON.stringify(bucket)} for a request`, { argument: 'Bucket' })
  }
  if (key !== undefined) checkKey(key)
}

/** Refuse an empty (or non-string) key. */
export function checkKey(key: unknown): void {
  if (typeof key !== 'string' || key === '') {
    throw new InvalidArgumentError(`Expected Key to be a non-empty string, got ${JSON.stringify(key)}`, { argument: 'Key' })
  }
}

/** Metadata of a failed request, as the SDK names it. */
export interface TransportErrorMetadata {
  httpStatusCode?: number
  requestId?: string
  extendedRequestId?: string
  attempts?: number
  totalRetryDelay?: number
  /** The signing clock was corrected after this error (the retry will be signed anew). */
  clockSkewCorrected?: boolean
}

/** Fields of a {@link TransportError}. */
export interface TransportErrorFields {
  /** HTTP status of the answer; absent when no answer came. */
  status?: number
  requestId?: string
  extendedRequestId?: string
  /** Node's error code of a network failure (`ECONNRESET`, `ETIMEDOUT`, ...). */
  code?: string
  /** The S3 error document's `<Key>`, `<BucketName>`, `<Resource>` when it had them. */
  key?: string
  bucket?: string
  /** An `<Error>` document inside a 200 answer (CopyObject, UploadPartCopy, Complete). */
  inBody?: boolean
  cause?: unknown
}

/** An S3 error answer, a timeout or a network failure. */
export class TransportError extends Error {
  /** The S3 error code (`NoSuchKey`, `SlowDown`, ...), or the kind of failure. */
  readonly Code: string
  readonly $metadata: TransportErrorMetadata
  /** `client` for 4xx, `server` for 5xx and failures without an answer. */
  readonly $fault: 'client' | 'server'
  /** Node's error code for network failures. */
  declare readonly code?: string
  /** True for an `<Error>` document that came inside a 200 answer. */
  readonly inBody: boolean
  declare readonly Key?: string
  declare readonly BucketName?: string

  constructor(code: string, message: string, fields: TransportErrorFields = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause })
    this.name = code
    this.Code = code
    const metadata: TransportErrorMetadata = {}
    if (fields.status !== undefined) metadata.httpStatusCode = fields.status
    if (fields.requestId !== undefined) metadata.requestId = fields.requestId
    if (fields.extendedRequestId !== undefined) metadata.extendedRequestId = fields.extendedRequestId
    this.$metadata = metadata
    this.$fault = fields.status !== undefined && fields.status < 500 && !fields.inBody ? 'client' : 'server'
    if (fields.code !== undefined) this.code = fields.code
    if (fields.key !== undefined) this.Key = fields.key
    if (fields.bucket !== undefined) this.BucketName = fields.bucket
    this.inBody = fields.inBody ?? false
  }
}

/**
 * The message of an answer that is not S3's (code `UnexpectedResponse`): a 4xx or 501 with an
 * HTML page or other text where S3 sends an `<Error>` document (or, through the SDK, a 2xx whose
 * body is not XML), from a web server or a proxy at the endpoint. Its status then says nothing of
 * the bucket or the key.
 */
export function notS3Message(status: number, what: string): string {
  return `The server answered HTTP ${status} with ${what}, not an S3 answer: is the endpoint an S3 server (and not a web server or a proxy)?`
}

/** An answer's media type (`text/html` of `text/html; charset=utf-8`), lower-cased; '' when none. */
function mediaType(contentType: string | undefined): string {
  return contentType === undefined ? '' : contentType.split(';')[0]!.trim().toLowerCase()
}

/** Whether an answer's content type says it is an HTML page. */
export function isHtml(contentType: string | undefined): boolean {
  return mediaType(contentType) === 'text/html'
}

/** What an answer's content type says it is, for {@link notS3Message}: `an HTML page`, `a body of type text/plain`, `a body`. */
export function describeContent(contentType: string | undefined): string {
  const type = mediaType(contentType)
  return type === 'text/html' ? 'an HTML page' : type ? `a body of type ${type}` : 'a body'
}

/**
 * The S3 error code to use for an error answer without a body (HEAD, 304): the SDK's own
 * `NotFound` for 404, a name for the other statuses S3 answers without one.
 */
export function codeForStatus(status: number): string {
  switch (status) {
    case 304:
      return 'NotModified'
    case 400:
      return 'BadRequest'
    case 403:
      return 'Forbidden'
    case 404:
      return 'NotFound'
    case 405:
      return 'MethodNotAllowed'
    case 409:
      return 'Conflict'
    case 411:
      return 'MissingContentLength'
    case 412:
      return 'PreconditionFailed'
    case 416:
      return 'InvalidRange'
    case 429:
      return 'TooManyRequests'
    case 500:
      return 'InternalError'
    case 501:
      return 'NotImplemented'
    case 503:
      return 'ServiceUnavailable'
    default:
      return status >= 500 ? 'ServerError' : 'Unknown'
  }
}

/** An error named `AbortError` for an aborted signal, its reason as `cause` (as the SDK does). */
export function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason
  const err = new Error(
    reason instanceof Error ? 'Request aborted' : reason === undefined ? 'Request aborted' : String(reason),
    reason instanceof Error ? { cause: reason } : undefined,
  )
  err.name = 'AbortError'
  return err
}
