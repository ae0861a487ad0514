/** The typed error classes (see src/errors.ts for the mapping of S3 and network errors onto them). */

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
  /** For {@link IntegrityError}: what the server said the data is (a checksum or a size). */
  expected?: string
  /** For {@link IntegrityError}: what arrived. */
  actual?: string
  /** For {@link IntegrityError}: how the two were compared (`md5`, `crc32`, `size`, ...). */
  algorithm?: string
  cause?: unknown
}

/**
 * Base class of every error bucketflow raises: `code` is stable, and `bucket`, `key`, `statusCode`,
 * `requestId` (and `cause`, the underlying error) say where it happened.
 *
 * @example
 * ```ts
 * try {
 *   await bucket.cp('a.csv', 'backup/a.csv')
 * } catch (err) {
 *   if (err instanceof BucketflowError) console.error(err.code, err.bucket, err.key, err.statusCode, err.requestId)
 *   else throw err
 * }
 * ```
 */
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

/**
 * The object does not exist (S3 `NoSuchKey`, or 404 on HEAD).
 *
 * @example
 * ```ts
 * const config = await bucket.read('config.json').catch((err: unknown) => {
 *   if (err instanceof NoSuchKeyError) return '{}'
 *   throw err
 * })
 * ```
 */
export class NoSuchKeyError extends BucketflowError {
  constructor(message: string, fields: ErrorFields = {}) {
    super(message, fields, 'NoSuchKey')
  }
}

/**
 * The bucket does not exist (S3 `NoSuchBucket`).
 *
 * @example
 * ```ts
 * const cats = new Bucket('cats')
 * try {
 *   await cats.head('README.md')
 * } catch (err) {
 *   if (!(err instanceof NoSuchBucketError)) throw err
 *   await Bucket.create('cats')
 * }
 * ```
 */
export class NoSuchBucketError extends BucketflowError {
  constructor(message: string, fields: ErrorFields = {}) {
    super(message, fields, 'NoSuchBucket')
  }
}

/**
 * The credentials are not allowed to do this: S3 error code `AccessDenied` (or a 403 to a HEAD,
 * which carries no code). Other 403 answers keep their own code (see {@link InvalidObjectStateError}).
 *
 * @example
 * ```ts
 * try {
 *   await bucket.rm('audit/2024.log')
 * } catch (err) {
 *   if (err instanceof AccessDeniedError) console.error(`not allowed to delete s3://${err.bucket}/${err.key}`)
 *   else throw err
 * }
 * ```
 */
export class AccessDeniedError extends BucketflowError {
  constructor(message: string, fields: ErrorFields = {}) {
    super(message, fields, 'AccessDenied')
  }
}

/**
 * The object is archived (S3 `InvalidObjectState`: a GET of a GLACIER or DEEP_ARCHIVE object that
 * has not been restored). Restore it first (`bucket.restore(key)`), then read it once the restore
 * has finished. A restore of an object that is not archived fails with the same S3 code;
 * `archived` tells the two apart.
 *
 * @example
 * ```ts
 * try {
 *   await bucket.get('raw/2019.tar')
 * } catch (err) {
 *   if (err instanceof InvalidObjectStateError) await bucket.restore('raw/2019.tar', { days: 2 })
 *   else throw err
 * }
 * ```
 */
export class InvalidObjectStateError extends BucketflowError {
  /** True when the object is archived (a read); false when a restore found it is not. */
  readonly archived: boolean
  constructor(message: string, fields: ErrorFields = {}, archived = true) {
    super(message, fields, 'InvalidObjectState')
    this.archived = archived
  }
}

/**
 * Bad input, caught before any request was sent. `argument` names what was wrong.
 *
 * @example
 * ```ts
 * try {
 *   new Bucket('data', { concurrency: 0 })
 * } catch (err) {
 *   if (err instanceof InvalidArgumentError) console.error(err.argument, err.message) // 'concurrency', 'Expected concurrency ...'
 * }
 * ```
 */
export class InvalidArgumentError extends BucketflowError {
  readonly argument?: string
  constructor(message: string, fields: ErrorFields = {}, code = 'InvalidArgument') {
    super(message, fields, code)
    if (fields.argument !== undefined) this.argument = fields.argument
  }
}

/**
 * A requested byte range lies outside the object (checked after a HEAD, before the GET).
 *
 * @example
 * ```ts
 * const head = await bucket.get('small.bin', { start: 1_000_000, end: 1_000_099 }).catch((err: unknown) => {
 *   if (err instanceof InvalidRangeError) return Buffer.alloc(0) // the object is shorter
 *   throw err
 * })
 * ```
 */
export class InvalidRangeError extends InvalidArgumentError {
  constructor(message: string, fields: ErrorFields = {}) {
    super(message, fields, 'InvalidRange')
  }
}

/**
 * Data did not arrive intact: a checksum or size mismatch, or an object that changed (or was
 * replaced) during a transfer. `algorithm`, `expected` and `actual` say what was compared, when
 * something was.
 *
 * @example
 * ```ts
 * try {
 *   await bucket.get('data.bin', './data.bin')
 * } catch (err) {
 *   if (err instanceof IntegrityError) console.error(`${err.algorithm}: expected ${err.expected}, got ${err.actual}`)
 * }
 * ```
 */
export class IntegrityError extends BucketflowError {
  /** How the data was checked: `md5`, `crc32`, `crc32c`, `crc64nvme`, `sha1`, `sha256`, `size`, `etag`. */
  readonly algorithm?: string
  /** The value the server gave (hex or base64 checksum, or a byte count). */
  readonly expected?: string
  /** The value computed from the bytes that arrived. */
  readonly actual?: string
  constructor(message: string, fields: ErrorFields = {}) {
    super(message, fields, 'IntegrityError')
    if (fields.algorithm !== undefined) this.algorithm = fields.algorithm
    if (fields.expected !== undefined) this.expected = fields.expected
    if (fields.actual !== undefined) this.actual = fields.actual
  }
}

/**
 * A request made no progress for too long: no connection within the connect timeout, or no byte
 * moving within the idle timeout (see `ClientOptions.connectTimeout` / `idleTimeout`). It is
 * transient: bucketflow retries it like a reset; this error means the retries ran out.
 *
 * @example
 * ```ts
 * const bucket = new Bucket('data', { idleTimeout: 30_000 })
 * await bucket.get('big.bin').catch((err) => { if (err instanceof TimeoutError) console.error('server stalled') })
 * ```
 */
export class TimeoutError extends BucketflowError {
  constructor(message: string, fields: ErrorFields = {}) {
    super(message, fields, 'Timeout')
  }
}

/**
 * The caller's own source failed (the Readable, iterable or web stream given to `put` or
 * `putStream` errored or threw). `cause` is the source's error, as it was.
 *
 * @example
 * ```ts
 * async function* rows() {
 *   yield '{"id":1}\n'
 *   throw new Error('database connection lost')
 * }
 * const r: unknown = await bucket.putStream(rows(), 'out.ndjson').catch((err: unknown) => err)
 * if (r instanceof SourceError) console.error('the producer failed:', r.cause)
 * ```
 */
export class SourceError extends BucketflowError {
  constructor(message: string, fields: ErrorFields = {}) {
    super(message, fields, 'SourceError')
  }
}

/**
 * The operation was aborted through its `signal`, or by the consumer stopping early.
 *
 * @example
 * ```ts
 * const controller = new AbortController()
 * setTimeout(() => controller.abort(), 5_000)
 * try {
 *   await bucket.get('huge.bin', './huge.bin', { signal: controller.signal })
 * } catch (err) {
 *   if (err instanceof AbortError) console.error('download cancelled')
 *   else throw err
 * }
 * ```
 */
export class AbortError extends BucketflowError {
  constructor(message = 'The operation was aborted', fields: ErrorFields = {}) {
    super(message, fields, 'AbortError')
  }
}

/**
 * The server does not implement this operation (e.g. RestoreObject on some S3-compatible servers).
 *
 * @example
 * ```ts
 * try {
 *   await bucket.restore('raw/2019.tar', { days: 2 })
 * } catch (err) {
 *   if (err instanceof NotImplementedError) console.error('this server has no archive tiers: nothing to restore')
 *   else throw err
 * }
 * ```
 */
export class NotImplementedError extends BucketflowError {
  constructor(message: string, fields: ErrorFields = {}) {
    super(message, fields, 'NotImplemented')
  }
}

/**
 * The operation needs an S3 Express One Zone directory bucket (e.g. {@link Bucket.append}).
 *
 * @example
 * ```ts
 * try {
 *   await bucket.append('{"ok":true}\n', 'events.ndjson', { literal: true })
 * } catch (err) {
 *   if (err instanceof NotDirectoryBucketError) console.error(`${bucket.name} is a general purpose bucket: appends need a --x-s3 bucket`)
 *   else throw err
 * }
 * ```
 */
export class NotDirectoryBucketError extends BucketflowError {
  constructor(message: string, fields: ErrorFields = {}) {
    super(message, fields, 'NotDirectoryBucket')
  }
}

/**
 * Any other S3 error response; `code` is the S3 error code (e.g. `SlowDown`).
 *
 * @example
 * ```ts
 * try {
 *   await bucket.put('hello', 'hello.txt', { literal: true })
 * } catch (err) {
 *   if (err instanceof S3Error) console.error(`S3 said ${err.code} (HTTP ${err.statusCode}, request ${err.requestId})`)
 *   else throw err
 * }
 * ```
 */
export class S3Error extends BucketflowError {}
