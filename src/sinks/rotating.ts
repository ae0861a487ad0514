/**
 * Rotating log objects: a Writable that writes what it is given into a series of S3 objects
 * under one prefix, closing the current object and starting the next every `rotateMs` or
 * `rotateBytes`, so data written now and then becomes visible in S3 within `rotateMs`.
 *
 * Keys: `key`, a template rendered in UTC when an object is opened (default `{ts}-{seq}.log`:
 * `<prefix>20240131T235959.123Z-000001.log`; see {@link parseKeyTemplate} for the
 * placeholders and rules, e.g. `dt={yyyy}-{MM}-{dd}/{HH}/{ts}-{seq}.log`). Keys increase from
 * one object to the next, so listing the prefix gives the objects in the order they were
 * written, across partitions too (`tail(prefix, { follow: 'rotation' })` relies on it).
 *
 * Compression (`compression: 'gzip' | 'zstd'`): each object is compressed on its own, its key
 * gets `.gz` / `.zst` and its `Content-Encoding` says so; `tail` and `lines()` read it back
 * transparently. Parquet (`format: { parquet: { schema } }`): each object's NDJSON lines become
 * one Parquet object; lines that are not records of the schema go to an error object under
 * `errorPrefix`, with the reason.
 *
 * Line-safe by default: an object only ever ends at a newline, so no line is split across two
 * objects. A partial line waits until its newline arrives; a line longer than `maxLineBytes` is
 * streamed into the current object as it comes and the rotation waits for its end. `end()`
 * flushes the last object (with a final line that has no newline, if any).
 *
 * Durable spool (`spool: dir`): every accepted chunk is appended to a local file before its
 * write callback returns (`fsync` policy: see spool.ts), and a file is removed only once its
 * object is stored, objects in key order. While nothing waits in the upload queue, an object of
 * lines is built from the bytes as they are spooled (compressed and uploaded in parts as it
 * fills, the spool file written but never read back: measured, reading back cost about as much
 * CPU as the writing); when that fails, or while earlier objects wait, objects are built from
 * their files, one at a time. A file is sealed before its streamed object is completed, so a
 * crash at any point leaves a file that a later process uploads (or finds stored, by HEAD). A process started later on the same folder first finishes what an earlier one left
 * (same keys, a HEAD first so nothing is stored twice), then goes on. A failed upload is tried
 * again with backoff (the data is safe on disk) unless the error cannot go away by itself
 * (access denied, no such bucket, bad input): then the stream fails and the spool keeps
 * everything for the next run. `maxSpoolBytes` bounds the folder: `whenFull: 'block'` makes
 * writes wait, `'drop-newest'` drops whole lines and counts them ({@link LogSink.dropped},
 * 'drop' events).
 *
 * Memory, without a spool: the multipart sink's `partSize * (queueSize + 1)` for the open
 * object, and as much again for the previous object while it is being stored, plus a partial
 * line of at most `maxLineBytes`, plus the compressor's window per object (gzip ~256 KiB; zstd
 * a few MiB) or, for Parquet, one batch of `batchRows` rows and the writer's row group
 * (`rowGroupRows`). With a spool: the Writable's buffer (1 MiB high-water mark), one partial
 * line and at most two streamed objects (each a multipart sink bound and a compressor) on the
 * writing side; one object at a time on the upload side: one 1 MiB read buffer, the
 * compressor (or Parquet writer) and one multipart sink bound.
 *
 * @example
 * ```ts
 * import { createLogStream } from 'bucketflow'
 * const log = createLogStream(bucket, 'logs/app/', {
 *   rotateMs: 60_000,
 *   key: 'dt={yyyy}-{MM}-{dd}/{ts}-{seq}.log',
 *   compression: 'gzip',
 *   spool: '/var/spool/app-logs',
 * })
 * log.on('object', (o) => console.log('stored', o.key, o.size))
 * log.write(`${new Date().toISOString()} started\n`)
 * log.end()
 * await log.done
 * ```
 * @packageDocumentation
 */
import { Writable } from 'node:stream'
import type { Schema } from 'apache-arrow'
import type { BucketRef } from '../bucket-ref.js'
import { AbortError, AccessDeniedError, BucketflowError, IntegrityError, InvalidArgumentError, NoSuchBucketError, NoSuchKeyError, toBucketflowError } from '../errors.js'
import { compareKeys } from '../keys.js'
import { headObject } from '../stages/head.js'
import { describeValue, validateInteger, validateKey } from '../validate.js'
import type { ParquetCompression } from '../arrow/parquet.js'
import { COMPRESSION_SUFFIX, validateCompression, type LogCompression } from '../compression.js'
import { DEFAULT_KEY_TEMPLATE, parseKeyTemplate, renderKeyTemplate, type KeyTemplate, type LogObjectName } from './log-keys.js'
import { LinesObjectWriter, type ObjectBuild, type ObjectWriter, type SchemaHolder, type StoredLogObject } from './log-objects.js'
import { validateWriteStreamOptions, type WriteStreamOptions } from './multipart.js'
import { checkLogSchemaShape } from '../arrow/schema-shape.js'
import { segmentContent, Spool, type FsyncPolicy, type SegmentHeader, type SpoolSegment } from './spool.js'
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3'
import { readFile } from 'node:fs/promises'

export { defaultLogName, type LogObjectName } from './log-keys.js'
export type { StoredLogObject } from './log-objects.js'
export type { FsyncPolicy } from './spool.js'
export type { LogCompression } from '../compression.js'

const MiB = 1024 * 1024
const NEWLINE = 0x0a
const META_SPOOL = 'bucketflow-spool'

/** Parquet objects from NDJSON lines: see {@link LogStreamOptions.format}. */
export interface ParquetLogFormat {
  /** The records' schema. Default: inferred from the first `inferRecords` records, then fixed. */
  schema?: Schema
  /** Records to infer the schema from. Default 1000. */
  inferRecords?: number
  /** Rows per record batch handed to the writer. Default 10,000. */
  batchRows?: number
  /** Rows per Parquet row group (bounds the writer's memory). Default 100,000. */
  rowGroupRows?: number
  /** The Parquet codec. Default 'zstd'. */
  compression?: ParquetCompression
}

/** Options for {@link createLogStream}. */
export interface LogStreamOptions extends Omit<WriteStreamOptions, 'onProgress' | 'contentEncoding'> {
  /** Start a new object once the current one has this many bytes of lines (before compression). Default 64 MiB. */
  rotateBytes?: number
  /** Close the current object this many ms after it was opened. Default 60 000. */
  rotateMs?: number
  /**
   * The key of each object after the prefix, as a template rendered in UTC (placeholders and
   * rules: {@link parseKeyTemplate}). `.gz` / `.zst` is appended for compressed objects unless
   * the template ends with it. Default `{ts}-{seq}.log` (`{ts}-{seq}.parquet` for Parquet).
   */
  key?: string
  /**
   * Instead of `key`: a function naming each object after the prefix. Keys must increase
   * (UTF-8 byte order) from one object to the next, or the stream fails with
   * InvalidArgumentError.
   */
  naming?: (info: LogObjectName) => string
  /** Never split a line across objects. Default true; false rotates at any byte. */
  lineSafe?: boolean
  /** The longest partial line held in memory while waiting for its newline. Default 1 MiB. */
  maxLineBytes?: number
  /** Compress each object. Default 'none'. */
  compression?: LogCompression
  /** gzip 1-9 (default 1), zstd 1-19 (default 3). */
  compressionLevel?: number
  /**
   * `'lines'` (default): objects hold the lines. `{ parquet: {...} }`: each object's lines are
   * NDJSON records, stored as one Parquet object per rotation.
   */
  format?: 'lines' | { parquet: ParquetLogFormat }
  /**
   * Parquet: where error objects go (the lines that are not records of the schema, one JSON
   * line each: `{ line, reason, raw }`), named like the Parquet object with `.ndjson`.
   * Default `<prefix>_errors/`.
   */
  errorPrefix?: string
  /** A folder for the durable spool. Default: none (objects are built in memory). */
  spool?: string
  /** Spool: when to fdatasync. Default 'interval'. */
  fsync?: FsyncPolicy
  /** Spool with fsync 'interval': milliseconds between syncs. Default 1000. */
  fsyncIntervalMs?: number
  /** Spool: the most bytes its folder may hold. Default 1 GiB. */
  maxSpoolBytes?: number
  /** Spool: what a write does when the spool is full. Default 'block'. */
  whenFull?: 'block' | 'drop-newest'
  /** The clock for object times (ms since the epoch), e.g. to test partitions at midnight. Default `Date.now`. */
  clock?: () => number
}

/** What was dropped because the spool was full (`whenFull: 'drop-newest'`). */
export interface DroppedCounts {
  /** Writes (chunks) that lost bytes. */
  writes: number
  bytes: number
  /** Lines dropped, each whole. */
  lines: number
}

/** What a finished log stream wrote. */
export interface LogStreamResult {
  /** Objects stored (error objects included). */
  objects: number
  /** Bytes stored in all of them (after compression or conversion). */
  size: number
  firstKey: string | undefined
  lastKey: string | undefined
  /** Bytes of lines stored (before compression or conversion). */
  bytes: number
  /** Lines stored: log lines, Parquet rows and error lines. */
  lines: number
  /** Parquet: lines that went to error objects. */
  errorLines: number
  /** Dropped because the spool was full. */
  dropped: DroppedCounts
  /** Objects finished from a spool left by an earlier process (stored now, or found already stored). */
  recovered: number
}

interface Current {
  key: string
  errorKey: string | undefined
  seq: number
  time: number
  /** Object bytes so far. */
  bytes: number
  timer: NodeJS.Timeout | undefined
  /** Without a spool: the object being built. With a spool: the object built while spooling, if any. */
  writer?: ObjectWriter | undefined
  segment?: SpoolSegment
  /** Spool mode: the streamed object was dropped after a failure (HEAD before uploading from the file). */
  streamFailed?: boolean
}

interface UploadJob {
  name: string
  path: string
  header: SegmentHeader
  includePending: boolean
  expectBytes: number | undefined
  fileBytes: number
  recovered: boolean
  /** HEAD before uploading: the object may be stored already. */
  check: boolean
}

interface Resolved {
  rotateBytes: number
  rotateMs: number
  lineSafe: boolean
  maxLineBytes: number
  template: KeyTemplate | undefined
  naming: ((info: LogObjectName) => string) | undefined
  suffix: string
  build: ObjectBuild
  errorPrefix: string
  schema: Schema | undefined
  spool: string | undefined
  fsync: FsyncPolicy
  fsyncIntervalMs: number
  maxSpoolBytes: number
  whenFull: 'block' | 'drop-newest'
  clock: () => number
  sinkOptions: WriteStreamOptions
}

function resolveOptions(ref: BucketRef, prefix: string, opts: LogStreamOptions): Resolved {
  const where = { bucket: ref.name }
  const bad = (argument: string, message: string) => new InvalidArgumentError(message, { ...where, argument })
  const rotateBytes = opts.rotateBytes ?? 64 * MiB
  const rotateMs = opts.rotateMs ?? 60_000
  const maxLineBytes = opts.maxLineBytes ?? MiB
  validateInteger(rotateBytes, 'rotateBytes', 1)
  validateInteger(rotateMs, 'rotateMs', 1, 2 ** 31 - 1)
  validateInteger(maxLineBytes, 'maxLineBytes', 1)
  if (opts.naming !== undefined && typeof opts.naming !== 'function') throw bad('naming', `Expected naming to be a function, got ${describeValue(opts.naming)}`)
  if (opts.naming !== undefined && opts.key !== undefined) throw bad('key', 'Pass either key (a template) or naming (a function), not both')
  if (opts.lineSafe !== undefined && typeof opts.lineSafe !== 'boolean') throw bad('lineSafe', `Expected lineSafe to be a boolean, got ${describeValue(opts.lineSafe)}`)
  if (opts.clock !== undefined && typeof opts.clock !== 'function') throw bad('clock', `Expected clock to be a function, got ${describeValue(opts.clock)}`)
  const lineSafe = opts.lineSafe ?? true

  // Format and compression.
  const format = opts.format ?? 'lines'
  let parquet: ParquetLogFormat | undefined
  if (format !== 'lines') {
    if (format === null || typeof format !== 'object' || typeof (format as { parquet?: unknown }).parquet !== 'object' || (format as { parquet: unknown }).parquet === null) {
      throw bad('format', `Expected format to be 'lines' or { parquet: { schema? } }, got ${describeValue(format)}`)
    }
    parquet = (format as { parquet: ParquetLogFormat }).parquet
    if (!lineSafe) throw bad('lineSafe', 'Parquet objects are built from whole lines: lineSafe cannot be false')
    if (opts.compression !== undefined && opts.compression !== 'none') {
      throw bad('compression', "Parquet objects are compressed inside (format.parquet.compression, default 'zstd'); compression must be 'none'")
    }
    if (parquet.schema !== undefined) checkLogSchemaShape(parquet.schema)
    for (const name of ['inferRecords', 'batchRows', 'rowGroupRows'] as const) {
      if (parquet[name] !== undefined) validateInteger(parquet[name], name, 1)
    }
    const codecs = ['uncompressed', 'snappy', 'gzip', 'brotli', 'lz4', 'zstd']
    if (parquet.compression !== undefined && !codecs.includes(parquet.compression)) {
      throw bad('compression', `Expected format.parquet.compression to be one of ${codecs.join(', ')}, got ${describeValue(parquet.compression)}`)
    }
  } else if (opts.errorPrefix !== undefined) throw bad('errorPrefix', 'errorPrefix is for Parquet objects (format: { parquet })')
  const compression = opts.compression ?? 'none'
  let level: number | undefined
  try {
    level = validateCompression(compression, opts.compressionLevel)
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message, { ...where, argument: (err as InvalidArgumentError).argument ?? 'compression' })
  }
  const suffix = COMPRESSION_SUFFIX[compression]

  // Keys.
  const template = opts.naming ? undefined : parseKeyTemplate(opts.key ?? (parquet ? '{ts}-{seq}.parquet' : DEFAULT_KEY_TEMPLATE))
  const errorPrefix = opts.errorPrefix ?? `${prefix}_errors/`
  if (typeof errorPrefix !== 'string') throw bad('errorPrefix', `Expected errorPrefix to be a string, got ${describeValue(errorPrefix)}`)
  if (template) {
    // The longest a key can render to (times are fixed width; seq grows past 6 digits late).
    const sample = renderKeyTemplate(template, { time: new Date(Date.UTC(2099, 11, 31, 23, 59, 59, 999)), seq: 999_999 })
    validateKey(`${prefix}${withSuffix(sample, suffix)}`, ref.name, 'key')
    if (parquet) validateKey(errorKeyOf(errorPrefix, sample), ref.name, 'errorPrefix')
  }

  // Spool.
  const spool = opts.spool
  if (spool !== undefined && (typeof spool !== 'string' || spool === '')) throw bad('spool', `Expected spool to be a folder path, got ${describeValue(spool)}`)
  for (const name of ['fsync', 'fsyncIntervalMs', 'maxSpoolBytes', 'whenFull'] as const) {
    if (opts[name] !== undefined && spool === undefined) throw bad(name, `${name} is an option of the spool: pass spool: '<folder>' too`)
  }
  const fsync = opts.fsync ?? 'interval'
  if (fsync !== 'always' && fsync !== 'interval' && fsync !== 'never') throw bad('fsync', `Expected fsync to be 'always', 'interval' or 'never', got ${describeValue(fsync)}`)
  const fsyncIntervalMs = opts.fsyncIntervalMs ?? 1000
  validateInteger(fsyncIntervalMs, 'fsyncIntervalMs', 1, 2 ** 31 - 1)
  const maxSpoolBytes = opts.maxSpoolBytes ?? 1024 * MiB
  validateInteger(maxSpoolBytes, 'maxSpoolBytes', 1)
  const whenFull = opts.whenFull ?? 'block'
  if (whenFull !== 'block' && whenFull !== 'drop-newest') throw bad('whenFull', `Expected whenFull to be 'block' or 'drop-newest', got ${describeValue(whenFull)}`)

  const {
    rotateBytes: _rb,
    rotateMs: _rm,
    naming: _n,
    key: _k,
    lineSafe: _l,
    maxLineBytes: _m,
    compression: _c,
    compressionLevel: _cl,
    format: _f,
    errorPrefix: _e,
    spool: _s,
    fsync: _fs,
    fsyncIntervalMs: _fi,
    maxSpoolBytes: _ms,
    whenFull: _w,
    clock: _clock,
    signal: _signal,
    ...sinkOptions
  } = opts
  // Validate the sink options now (partSize, queueSize, ...) rather than at the first object.
  validateWriteStreamOptions(sinkOptions, where)
  const contentType = sinkOptions.contentType ?? (parquet ? undefined : 'text/plain; charset=utf-8')
  delete sinkOptions.contentType
  const build: ObjectBuild = parquet
    ? {
        format: 'parquet',
        compression: 'none',
        parquetCompression: parquet.compression ?? 'zstd',
        rowGroupRows: parquet.rowGroupRows ?? 100_000,
        batchRows: parquet.batchRows ?? 10_000,
        inferRecords: parquet.inferRecords ?? 1000,
        ...(contentType ? { contentType } : {}),
      }
    : { format: 'lines', compression, ...(level !== undefined ? { level } : {}), ...(contentType ? { contentType } : {}) }
  return {
    rotateBytes,
    rotateMs,
    lineSafe,
    maxLineBytes,
    template,
    naming: opts.naming,
    suffix,
    build,
    errorPrefix,
    schema: parquet?.schema,
    spool,
    fsync,
    fsyncIntervalMs,
    maxSpoolBytes,
    whenFull,
    clock: opts.clock ?? Date.now,
    sinkOptions,
  }
}

function withSuffix(name: string, suffix: string): string {
  return suffix && !name.endsWith(suffix) ? `${name}${suffix}` : name
}

function errorKeyOf(errorPrefix: string, name: string): string {
  return `${errorPrefix}${name.endsWith('.parquet') ? name.slice(0, -'.parquet'.length) : name}.ndjson`
}

function countNewlines(bytes: Buffer): number {
  let n = 0
  for (let at = bytes.indexOf(NEWLINE); at >= 0; at = bytes.indexOf(NEWLINE, at + 1)) n++
  return n
}

const TRANSIENT_CODES = new Set(['SlowDown', 'RequestTimeout', 'InternalError', 'ServiceUnavailable', 'Throttling', 'ThrottlingException', 'BadDigest', 'IncompleteBody'])
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH'])

/**
 * Whether waiting may heal an upload failure (network, 5xx, throttling). Otherwise (access
 * denied, no such bucket, bad input, a damaged spool file, a key taken by another object) the
 * stream stops and the spool keeps the data for the next run.
 */
function isTransient(err: unknown): boolean {
  if (err instanceof AbortError || err instanceof InvalidArgumentError || err instanceof IntegrityError) return false
  if (err instanceof AccessDeniedError || err instanceof NoSuchBucketError) return false
  if (err instanceof BucketflowError) {
    if (err.code === 'KeyConflict' || err.code === 'SpoolClosed') return false
    const status = err.statusCode
    if (status === undefined) return true
    return status >= 500 || status === 429 || status === 408 || TRANSIENT_CODES.has(err.code)
  }
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && NETWORK_CODES.has(code)
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const onAbort = () => {
      clearTimeout(timer)
      resolve()
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * The rotating log Writable. Create it with {@link createLogStream} (or
 * `bucket.createLogStream`). Emits 'object' ({@link StoredLogObject}: `{ key, size, etag,
 * parts, kind, rawBytes, lines, recovered }`) after each object is stored, 'drop'
 * (`{ bytes, lines }`) when the spool is full and lines are dropped, and 'retry'
 * (`{ key, attempt, error, delayMs }`) before an upload from the spool is tried again. `done`
 * resolves after `end()` once the last object is stored.
 *
 * @example
 * ```ts
 * const log = bucket.createLogStream('logs/', { rotateMs: 5_000, compression: 'zstd' })
 * setInterval(() => log.write(`${Date.now()} tick\n`), 1_000)
 * ```
 */
export class LogSink extends Writable {
  /** The bucket's name. */
  readonly bucket: string
  /** The prefix every object's key starts with. */
  readonly prefix: string
  readonly rotateBytes: number
  readonly rotateMs: number
  /**
   * Settles after the stream ended: resolves to {@link LogStreamResult} once the last object is
   * stored, or rejects with the error that stopped it (the open object's upload is aborted
   * first; objects already stored stay; with a spool, what was not stored stays in it). Never
   * an unhandled rejection on its own.
   */
  readonly done: Promise<LogStreamResult>

  readonly #ref: BucketRef
  readonly #o: Resolved
  readonly #signal: AbortSignal | undefined
  readonly #onAbort: () => void
  readonly #schema: SchemaHolder
  /** The Parquet builder's module, loaded by `_construct` for a Parquet log. */
  #parquet: typeof import('./log-parquet.js') | undefined
  #resolve!: (r: LogStreamResult) => void
  #reject!: (err: unknown) => void

  /** Serializes writes, timer rotations and the final flush. */
  #busy: Promise<void> = Promise.resolve()
  /** Memory mode: the object being stored after rotation, if any (settles when stored). */
  #closing: Promise<void> = Promise.resolve()
  #closingWriter: ObjectWriter | undefined
  #current: Current | undefined
  #carry: Buffer[] = []
  #carryBytes = 0
  /** The open object ends inside an overlong line: no rotation until its newline. */
  #midLine = false
  #rotateDue = false
  #seq = 0
  #lastTime = 0
  #lastKey: string | undefined
  #lastStoredKey: string | undefined
  #firstKey: string | undefined
  #objects = 0
  #size = 0
  #bytes = 0
  #lines = 0
  #errorLines = 0
  #recovered = 0
  readonly #dropped: DroppedCounts = { writes: 0, bytes: 0, lines: 0 }
  /** Drop-newest: the rest of a dropped line is still to come. */
  #dropUntilNewline = false

  // Spool mode.
  #spool: Spool | undefined
  #queue: UploadJob[] = []
  #worker: Promise<void> | undefined
  readonly #uploadController = new AbortController()
  #uploadWriter: ObjectWriter | undefined
  /** Streamed objects (built while spooled) not yet stored or dropped: at most two. */
  readonly #streamed = new Set<ObjectWriter>()

  /** Use {@link createLogStream}. */
  constructor(ref: BucketRef, prefix: string, opts: LogStreamOptions = {}) {
    if (typeof prefix !== 'string') {
      throw new InvalidArgumentError(`Expected prefix to be a string, got ${describeValue(prefix)}`, { bucket: ref.name, argument: 'prefix' })
    }
    const o = resolveOptions(ref, prefix, opts)
    super({ objectMode: false, decodeStrings: true, ...(o.spool !== undefined ? { highWaterMark: MiB } : {}) })
    this.#ref = ref
    this.#o = o
    this.bucket = ref.name
    this.prefix = prefix
    this.rotateBytes = o.rotateBytes
    this.rotateMs = o.rotateMs
    this.#schema = { schema: o.schema }
    this.done = new Promise<LogStreamResult>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    this.done.catch(() => undefined)
    const signal = opts.signal
    this.#signal = signal
    this.#onAbort = () => this.destroy(new AbortError(`The log stream to s3://${this.bucket}/${this.prefix} was aborted`, { bucket: this.bucket, cause: signal?.reason }))
    if (signal?.aborted) process.nextTick(this.#onAbort)
    else signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  /** Objects stored so far. */
  get objects(): number {
    return this.#objects
  }
  /** The key of the object being written, if one is open. */
  get currentKey(): string | undefined {
    return this.#current?.key
  }
  /** What was dropped so far because the spool was full. */
  get dropped(): Readonly<DroppedCounts> {
    return { ...this.#dropped }
  }
  /** Bytes in the spool folder (0 without a spool). */
  get spoolBytes(): number {
    return this.#spool?.bytes ?? 0
  }
  /** The result so far. */
  get stats(): LogStreamResult {
    return {
      objects: this.#objects,
      size: this.#size,
      firstKey: this.#firstKey,
      lastKey: this.#lastStoredKey,
      bytes: this.#bytes,
      lines: this.#lines,
      errorLines: this.#errorLines,
      dropped: { ...this.#dropped },
      recovered: this.#recovered,
    }
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.#start().then(() => callback(), callback)
  }

  /** Loads the Parquet builder (and Arrow) for a Parquet log, then opens the spool. */
  async #start(): Promise<void> {
    if (this.#o.build.format === 'parquet') {
      const parquet: typeof import('./log-parquet.js') = await import('./log-parquet.js')
      if (this.#schema.schema !== undefined) parquet.validateLogSchema(this.#schema.schema)
      this.#parquet = parquet
    }
    if (this.#o.spool !== undefined) await this.#openSpool()
  }

  async #openSpool(): Promise<void> {
    const o = this.#o
    const spool = await Spool.open(o.spool!, { bucket: this.bucket, prefix: this.prefix, fsync: o.fsync, fsyncIntervalMs: o.fsyncIntervalMs })
    this.#spool = spool
    if (o.build.format === 'parquet' && !this.#schema.schema) {
      try {
        this.#schema.schema = this.#parquet!.schemaFromJson(JSON.parse(await readFile(spool.schemaPath, 'utf8')))
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      }
      this.#schema.onInferred = (schema) => {
        // Kept so a later process uses the same schema for what it recovers.
        spool.writeAtomic(spool.schemaPath, `${JSON.stringify(this.#parquet!.schemaToJson(schema))}\n`).catch((err: unknown) => this.destroy(err as Error))
      }
    }
    for (const r of spool.recovered) {
      this.#checkRecovered(r.header, r.path)
      this.#enqueue({ name: r.name, path: r.path, header: r.header, includePending: r.includePending, expectBytes: undefined, fileBytes: r.fileBytes, recovered: true, check: true })
    }
  }

  /**
   * A segment left in the spool is only trusted to name a key under this stream's prefix (its
   * error key under the prefix or `errorPrefix`) and a build this version knows: nothing is
   * written outside the destination, whatever the files say.
   */
  #checkRecovered(header: SegmentHeader, path: string): void {
    const build = header.build as unknown as Partial<ObjectBuild>
    const fail = (why: string) => {
      throw new IntegrityError(`Spool segment ${path} ${why}; it was not written by this stream (move it away to go on)`, { bucket: this.bucket, key: header.key })
    }
    if (typeof header.key !== 'string' || !header.key.startsWith(this.prefix) || header.key.length === this.prefix.length) fail(`names the key ${JSON.stringify(header.key)}, outside s3://${this.bucket}/${this.prefix}`)
    validateKey(header.key, this.bucket)
    if (build.format !== 'lines' && build.format !== 'parquet') fail(`has an unknown format ${JSON.stringify(build.format)}`)
    try {
      validateCompression(build.compression, build.level)
    } catch {
      fail(`has an unknown compression ${JSON.stringify(build.compression)} (level ${JSON.stringify(build.level)})`)
    }
    if (build.format === 'parquet') {
      const errorKey = build.errorKey
      if (typeof errorKey !== 'string' || !(errorKey.startsWith(this.prefix) || errorKey.startsWith(this.#o.errorPrefix))) fail(`names the error key ${JSON.stringify(errorKey)}, outside the prefix and errorPrefix`)
      validateKey(errorKey, this.bucket)
      if (build.compression !== 'none') fail('has a compressed Parquet build')
    }
  }

  #run(task: () => Promise<void>): Promise<void> {
    const next = this.#busy.then(() => (this.destroyed ? undefined : task()))
    this.#busy = next.catch(() => undefined)
    return next
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#run(async () => {
      await this.#accept(chunk)
      await this.#current?.segment?.flush()
    }).then(() => callback(), callback)
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.#run(async () => {
      for (const { chunk } of chunks) await this.#accept(chunk)
      await this.#current?.segment?.flush()
    }).then(() => callback(), callback)
  }

  async #accept(input: Buffer): Promise<void> {
    let chunk = input
    if (this.#spool) {
      if (this.#o.whenFull === 'drop-newest') chunk = await this.#admit(chunk)
      else await this.#waitForSpace(chunk.length)
      if (this.destroyed) return
    }
    if (chunk.length === 0) return
    if (this.#o.lineSafe) await this.#acceptLines(chunk)
    else await this.#acceptBytes(chunk)
  }

  #spoolFull(n: number): boolean {
    const spool = this.#spool!
    const used = spool.bytes + (this.#current?.segment?.queuedBytes ?? 0)
    // A chunk costs its bytes and the framing of a data and a pending record.
    return used > 0 && used + n + 18 > this.#o.maxSpoolBytes
  }

  /** whenFull 'block': wait until the chunk fits (an open object is closed so it can be stored). */
  async #waitForSpace(n: number): Promise<void> {
    while (this.#spoolFull(n) && !this.destroyed) {
      if (this.#current && this.#current.bytes > 0 && !this.#midLine) {
        await this.#current.segment!.flush()
        await this.#close()
        continue
      }
      // Nothing will be freed (e.g. inside one overlong line): take the chunk over the bound.
      const closingStreamed = this.#streamed.size - (this.#current?.writer ? 1 : 0)
      if (this.#queue.length === 0 && closingStreamed === 0) return
      await this.#spool!.spaceFreed()
    }
  }

  /** whenFull 'drop-newest': the part of the chunk that is kept; whole lines are dropped and counted. */
  async #admit(chunk: Buffer): Promise<Buffer> {
    let keep = chunk
    let lost = false
    /** Drop bytes; a line is counted where its first byte is dropped (`continuing`: these start inside one). */
    const drop = (bytes: Buffer, continuing: boolean) => {
      if (bytes.length === 0) return
      const lines = this.#o.lineSafe ? countNewlines(bytes) + (bytes[bytes.length - 1] !== NEWLINE ? 1 : 0) - (continuing ? 1 : 0) : 0
      if (!lost) this.#dropped.writes++
      lost = true
      this.#dropped.bytes += bytes.length
      this.#dropped.lines += lines
      this.emit('drop', { bytes: bytes.length, lines })
    }
    if (this.#dropUntilNewline) {
      const nl = keep.indexOf(NEWLINE)
      if (nl < 0) {
        drop(keep, true)
        return keep.subarray(keep.length)
      }
      drop(keep.subarray(0, nl + 1), true)
      this.#dropUntilNewline = false
      keep = keep.subarray(nl + 1)
    }
    if (keep.length === 0 || !this.#spoolFull(keep.length)) return keep
    let accepted = keep.subarray(0, 0)
    if (this.#o.lineSafe && (this.#carryBytes > 0 || this.#midLine)) {
      // The line being written is finished first (it was accepted in part already).
      const nl = keep.indexOf(NEWLINE)
      if (nl < 0) return keep
      accepted = keep.subarray(0, nl + 1)
      keep = keep.subarray(nl + 1)
    }
    if (keep.length > 0) {
      const endsMidLine = this.#o.lineSafe && keep[keep.length - 1] !== NEWLINE
      drop(keep, false)
      if (endsMidLine) this.#dropUntilNewline = true
    }
    // Let the open object be stored, to make room.
    if (this.#current && this.#current.bytes > 0 && !this.#midLine && accepted.length === 0) {
      await this.#current.segment!.flush()
      await this.#close()
    }
    return accepted
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#run(async () => {
      if (this.#carryBytes > 0) {
        const rest = Buffer.concat(this.#carry)
        this.#carry = []
        this.#carryBytes = 0
        await this.#emit(rest)
      }
      await this.#current?.segment?.flush()
      await this.#close()
      await this.#closing
      if (this.#spool) {
        await this.#drained()
        await this.#spool.close()
      }
    }).then(() => {
      this.#resolve(this.stats)
      callback()
    }, callback)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#signal?.removeEventListener('abort', this.#onAbort)
    const current = this.#current
    this.#current = undefined
    this.#carry = []
    this.#carryBytes = 0
    if (current?.timer) clearTimeout(current.timer)
    // An object still being stored is stopped too: destroying means "stop now".
    const closingWriter = this.#closingWriter
    this.#closingWriter = undefined
    const reason = error ?? new AbortError(`The log stream to s3://${this.bucket}/${this.prefix} was destroyed before it ended`, { bucket: this.bucket })
    this.#uploadController.abort(reason)
    // `done` settles after 'error' and 'close' were emitted (Node emits them on the next tick).
    const settle = () => {
      callback(error)
      process.nextTick(() => this.#reject(reason))
    }
    const cleanup = [
      current?.writer?.destroy(error ?? undefined),
      closingWriter?.destroy(error ?? undefined),
      ...[...this.#streamed].map((w) => w.destroy(error ?? undefined)),
      this.#uploadWriter?.destroy(error ?? undefined),
      this.#worker,
      // With a spool, the open segment stays as it is: a later process recovers it.
      current?.segment?.closeFile(),
    ]
    Promise.allSettled(cleanup)
      .then(() => this.#spool?.close())
      .then(settle, settle)
  }

  /** Line-safe: only whole lines reach an object; a partial line waits in `#carry`. */
  async #acceptLines(chunk: Buffer): Promise<void> {
    let off = 0
    if (this.#midLine) {
      const nl = chunk.indexOf(NEWLINE)
      if (nl < 0) return this.#emit(chunk)
      await this.#emit(chunk.subarray(0, nl + 1))
      this.#midLine = false
      off = nl + 1
      if (this.#rotateDue || (this.#current?.bytes ?? 0) >= this.rotateBytes) await this.#close()
    }
    const last = chunk.lastIndexOf(NEWLINE)
    if (last >= off) {
      const lines = chunk.subarray(off, last + 1)
      const complete = this.#carryBytes > 0 ? Buffer.concat([...this.#carry, lines]) : lines
      this.#carry = []
      this.#carryBytes = 0
      await this.#emitLines(complete)
      off = last + 1
    }
    if (off < chunk.length) {
      const tail = chunk.subarray(off)
      if (this.#carryBytes + tail.length > this.#o.maxLineBytes) {
        // An overlong line: stream it into the current object; rotation waits for its end.
        const pending = this.#carry
        this.#carry = []
        this.#carryBytes = 0
        for (const piece of pending) await this.#emit(piece)
        await this.#emit(tail)
        this.#midLine = true
      } else {
        const copy = Buffer.from(tail) // a copy: never pin the writer's buffer
        this.#carry.push(copy)
        this.#carryBytes += tail.length
        if (this.#spool) {
          // Durable before the write is acknowledged, like every accepted byte.
          const current = this.#current ?? (await this.#open(false))
          current.segment!.pending(copy)
        }
      }
    }
  }

  /** Whole lines: rotate at line boundaries so no object exceeds rotateBytes (unless one line does). */
  async #emitLines(buf: Buffer): Promise<void> {
    let pos = 0
    while (pos < buf.length) {
      const used = this.#current?.bytes ?? 0
      const room = this.rotateBytes - used
      if (buf.length - pos <= room) {
        await this.#emit(buf.subarray(pos))
        break
      }
      const cut = room > 0 ? buf.lastIndexOf(NEWLINE, pos + room - 1) : -1
      if (cut >= pos) {
        await this.#emit(buf.subarray(pos, cut + 1))
        pos = cut + 1
      } else if (used === 0) {
        // One line longer than rotateBytes: it goes whole into an object of its own.
        const nl = buf.indexOf(NEWLINE, pos)
        await this.#emit(buf.subarray(pos, nl + 1))
        pos = nl + 1
      }
      await this.#close()
    }
    if ((this.#current?.bytes ?? 0) >= this.rotateBytes) await this.#close()
  }

  /** Not line-safe: rotate at exactly rotateBytes. */
  async #acceptBytes(chunk: Buffer): Promise<void> {
    let pos = 0
    while (pos < chunk.length) {
      const room = this.rotateBytes - (this.#current?.bytes ?? 0)
      const n = Math.min(room, chunk.length - pos)
      await this.#emit(chunk.subarray(pos, pos + n))
      pos += n
      if ((this.#current?.bytes ?? 0) >= this.rotateBytes) await this.#close()
    }
  }

  /** Write bytes into the open object (opening one if needed), honouring its backpressure. */
  async #emit(bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return
    const current = this.#current ?? (await this.#open(true))
    current.bytes += bytes.length
    if (!current.timer) this.#startTimer(current)
    if (!current.segment) return current.writer!.write(bytes)
    current.segment.data(bytes)
    if (current.writer) {
      try {
        await current.writer.write(bytes)
      } catch (err) {
        if (this.destroyed) throw err
        await this.#dropStreamed(current, err)
      }
    }
  }

  #startTimer(current: Current): void {
    current.timer = setTimeout(() => {
      this.#run(() => this.#rotateByTime(current)).catch((err: unknown) => this.destroy(err as Error))
    }, this.rotateMs)
  }

  #nextName(): { key: string; errorKey: string | undefined; seq: number; time: number } {
    const now = Math.max(this.#o.clock(), this.#lastTime)
    this.#lastTime = now
    const seq = ++this.#seq
    const info = { time: new Date(now), seq }
    const name = this.#o.naming ? this.#o.naming(info) : renderKeyTemplate(this.#o.template!, info)
    const key = `${this.prefix}${withSuffix(name, this.#o.suffix)}`
    validateKey(key, this.bucket)
    if (this.#lastKey !== undefined && compareKeys(key, this.#lastKey) <= 0) {
      throw new InvalidArgumentError(`naming must produce increasing keys: ${JSON.stringify(key)} does not sort after ${JSON.stringify(this.#lastKey)}`, {
        bucket: this.bucket,
        key,
        argument: 'naming',
      })
    }
    this.#lastKey = key
    const errorKey = this.#o.build.format === 'parquet' ? errorKeyOf(this.#o.errorPrefix, name) : undefined
    if (errorKey !== undefined) validateKey(errorKey, this.bucket, 'errorPrefix')
    return { key, errorKey, seq, time: now }
  }

  /** Open the next object: an object writer, or (with a spool) a segment file, created with the carried partial line. */
  async #open(withTimer: boolean, carry?: Buffer): Promise<Current> {
    const { key, errorKey, seq, time } = this.#nextName()
    const build: ObjectBuild = { ...this.#o.build, ...(errorKey !== undefined ? { errorKey } : {}) }
    const current: Current = { key, errorKey, seq, time, bytes: 0, timer: undefined }
    if (this.#spool) {
      const header: SegmentHeader = { v: 1, key, time, seq, carried: 0, build: build as unknown as Record<string, unknown> }
      current.segment = await this.#spool.createSegment(header, carry)
      current.writer = this.#streamedWriter(key, build, current.segment.name)
    } else {
      current.writer = this.#createWriter(key, build, { recovered: false })
    }
    this.#current = current
    if (withTimer) this.#startTimer(current)
    return current
  }

  /**
   * Spool mode: the object of a new segment is built while its bytes are spooled (no read back
   * from disk), when nothing waits in the upload queue (objects are stored in key order) and
   * the lines are stored as lines (Parquet objects are built from the file), and at most one
   * earlier streamed object is still being stored (memory: two objects' sinks, as without a
   * spool; writes never wait for an earlier object). One attempt per
   * part: a failure drops the streamed object and the segment is uploaded from its file, with
   * the spool's retries, so writes never wait on an unreachable server.
   */
  #streamedWriter(key: string, build: ObjectBuild, name: string): ObjectWriter | undefined {
    if (build.format !== 'lines' || this.#queue.length > 0 || this.#worker || this.#streamed.size > 1) return undefined
    const writer = this.#createWriter(key, build, { recovered: false, metadata: { [META_SPOOL]: `${this.#spool!.id}/${name}` }, maxPartAttempts: 1 })
    this.#streamed.add(writer)
    return writer
  }

  /** Spool mode: stop building the open object from memory; its segment is uploaded from the file when it closes. */
  async #dropStreamed(current: Current, err: unknown): Promise<void> {
    const writer = current.writer
    if (!writer) return
    current.writer = undefined
    current.streamFailed = true
    this.#streamed.delete(writer)
    await writer.destroy(err as Error)
  }

  #createWriter(key: string, build: ObjectBuild, extra: { recovered: boolean; metadata?: Record<string, string>; skipMain?: boolean; skipErrors?: boolean; maxPartAttempts?: number }): ObjectWriter {
    const base = this.#o.sinkOptions
    const metadata = extra.metadata || base.metadata ? { ...base.metadata, ...extra.metadata } : undefined
    const sinkOptions: WriteStreamOptions = {
      ...base,
      ...(metadata ? { metadata } : {}),
      ...(build.contentType ? { contentType: build.contentType } : {}),
      ...(extra.maxPartAttempts !== undefined ? { maxPartAttempts: extra.maxPartAttempts } : {}),
    }
    if (build.format === 'parquet') {
      return new this.#parquet!.ParquetObjectWriter(this.#ref, key, {
        build,
        sinkOptions,
        schema: this.#schema,
        recovered: extra.recovered,
        skipParquet: extra.skipMain ?? false,
        skipErrors: extra.skipErrors ?? false,
      })
    }
    return new LinesObjectWriter(this.#ref, key, { compression: build.compression, ...(build.level !== undefined ? { level: build.level } : {}), sinkOptions, recovered: extra.recovered })
  }

  async #rotateByTime(current: Current): Promise<void> {
    if (this.#current !== current) return
    if (this.#midLine) {
      this.#rotateDue = true
      return
    }
    await current.segment?.flush()
    await this.#close()
  }

  #record(objects: StoredLogObject[]): void {
    for (const o of objects) {
      this.#objects++
      this.#size += o.size
      this.#lines += o.lines
      if (o.kind === 'errors') this.#errorLines += o.lines
      else this.#bytes += o.rawBytes
      this.#firstKey ??= o.key
      this.#lastStoredKey = o.key
      this.emit('object', o)
    }
  }

  /**
   * Close the open object. Without a spool it is stored in the background while the next one
   * fills, but only after the object before it was stored (so objects appear in key order),
   * and writing waits while an earlier object is still being stored (at most one object
   * closing at a time). With a spool its segment is sealed and queued for upload.
   */
  async #close(): Promise<void> {
    const current = this.#current
    if (!current) return
    this.#current = undefined
    this.#rotateDue = false
    if (current.timer) clearTimeout(current.timer)
    if (current.segment) return this.#closeSegment(current)
    const writer = current.writer!
    writer.seal()
    const previous = this.#closing
    const closing = (async () => {
      await previous
      this.#record(await writer.end())
    })()
    this.#closing = closing.finally(() => {
      if (this.#closingWriter === writer) this.#closingWriter = undefined
    })
    this.#closingWriter = writer
    // A failure destroys the stream; `#closing` still rejects for whoever awaits it (_final).
    closing.catch((err: unknown) => this.destroy(err as Error))
    this.#closing.catch(() => undefined)
    await previous
  }

  async #closeSegment(current: Current): Promise<void> {
    const segment = current.segment!
    // The partial line goes to the next segment first, then this one is sealed: at every
    // moment the line is in one place a restarted process would take it from.
    if (this.#carryBytes > 0) await this.#open(false, Buffer.concat(this.#carry))
    const writer = current.writer
    if (segment.contentBytes === 0) {
      current.writer = undefined
      if (writer) this.#streamed.delete(writer)
      await writer?.destroy()
      await segment.closeFile()
      await this.#spool!.remove(segment.path, segment.fileBytes)
      return
    }
    // Sealed first: from here a restarted process uploads the segment whatever became of the
    // streamed object (a HEAD tells whether it was stored).
    await segment.seal()
    const job: UploadJob = {
      name: segment.name,
      path: segment.path,
      header: segment.header,
      includePending: false,
      expectBytes: segment.contentBytes,
      fileBytes: segment.fileBytes,
      recovered: false,
      check: current.streamFailed === true,
    }
    const previous = this.#closing
    // In key order: after the object closed before this one, and after what the upload queue
    // holds (objects that are uploaded from their files).
    const closing = (async () => {
      await previous.catch(() => undefined)
      if (!writer) return this.#enqueue(job)
      await this.#drained()
      if (this.destroyed) throw new AbortError(`The log stream to s3://${this.bucket}/${this.prefix} was destroyed`, { bucket: this.bucket })
      try {
        writer.seal()
        this.#record(await writer.end())
      } catch (err) {
        if (this.destroyed || this.#uploadController.signal.aborted) throw err
        // Not stored from memory: from the file, after a HEAD (it may have been stored).
        await writer.destroy(err as Error)
        job.check = true
        return this.#enqueue(job)
      }
      await this.#spool!.remove(job.path, job.fileBytes)
    })()
    this.#closing = closing.finally(() => {
      if (writer) this.#streamed.delete(writer)
    })
    closing.catch((err: unknown) => this.destroy(err as Error))
    this.#closing.catch(() => undefined)
  }

  #enqueue(job: UploadJob): void {
    this.#queue.push(job)
    this.#worker ??= this.#work().finally(() => {
      this.#worker = undefined
    })
  }

  async #drained(): Promise<void> {
    while (this.#worker) await this.#worker
  }

  /** Upload queued segments one at a time, in order; a failure that cannot heal destroys the stream. */
  async #work(): Promise<void> {
    const signal = this.#uploadController.signal
    while (this.#queue.length > 0 && !signal.aborted) {
      const job = this.#queue[0]!
      for (let attempt = 1; ; attempt++) {
        try {
          await this.#upload(job)
          break
        } catch (err) {
          if (signal.aborted) return
          if (!isTransient(err)) {
            this.destroy(err as Error)
            return
          }
          // The object may have been stored before the failure was seen: look first next time.
          job.check = true
          const delayMs = Math.min(30_000, 250 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2)
          this.emit('retry', { key: job.header.key, attempt, error: err, delayMs })
          await sleep(delayMs, signal)
          if (signal.aborted) return
        }
      }
      this.#queue.shift()
    }
  }

  /** True when `key` is stored already from this segment; throws when another object holds the key. */
  async #storedFrom(key: string, job: UploadJob): Promise<boolean> {
    const tag = `${this.#spool!.id}/${job.name}`
    try {
      const info = await headObject(this.#ref, key, { signal: this.#uploadController.signal })
      if (info.metadata[META_SPOOL] === tag) return true
      throw new BucketflowError(
        `s3://${this.bucket}/${key} exists and was not written from spool segment ${tag}; not overwriting it (move it away, or use another key template)`,
        { bucket: this.bucket, key },
        'KeyConflict',
      )
    } catch (err) {
      if (err instanceof NoSuchKeyError) return false
      // Credentials that may only write: upload again under the same key (the same lines).
      if (err instanceof AccessDeniedError) return false
      throw err
    }
  }

  /** Abort multipart uploads of `key` left by a process that stopped in the middle of one. */
  async #abortOrphans(key: string): Promise<void> {
    try {
      const out = await this.#ref.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: key }), { abortSignal: this.#uploadController.signal })
      for (const u of out.Uploads ?? []) {
        if (u.Key !== key || !u.UploadId) continue
        await this.#ref.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: u.UploadId }), { abortSignal: this.#uploadController.signal })
      }
    } catch (err) {
      const typed = toBucketflowError(err, { bucket: this.bucket, key, operation: 'ListMultipartUploads' })
      if (!(typed instanceof AccessDeniedError)) throw typed
    }
  }

  async #upload(job: UploadJob): Promise<void> {
    const build = job.header.build as unknown as ObjectBuild
    const key = job.header.key
    let skipMain = false
    let skipErrors = false
    if (job.check) {
      skipMain = await this.#storedFrom(key, job)
      if (build.format === 'parquet' && build.errorKey) skipErrors = await this.#storedFrom(build.errorKey, job)
      if (!skipMain) await this.#abortOrphans(key)
      if (build.errorKey && !skipErrors) await this.#abortOrphans(build.errorKey)
    }
    if (!(skipMain && (build.format === 'lines' || skipErrors))) {
      const writer = this.#createWriter(key, build, {
        recovered: job.recovered,
        metadata: { [META_SPOOL]: `${this.#spool!.id}/${job.name}` },
        skipMain,
        skipErrors,
      })
      this.#uploadWriter = writer
      try {
        for await (const piece of segmentContent(job.path, job.includePending, job.expectBytes)) {
          if (this.#uploadController.signal.aborted) throw this.#uploadController.signal.reason
          await writer.write(piece)
        }
        writer.seal()
        const objects = await writer.end()
        this.#record(objects)
      } catch (err) {
        await writer.destroy(err as Error)
        throw err
      } finally {
        this.#uploadWriter = undefined
      }
    }
    if (job.recovered) this.#recovered++
    await this.#spool!.remove(job.path, job.fileBytes)
  }
}

/**
 * A Writable that stores what is written to it as rotating log objects under `prefix`: keys
 * from the `key` template (default `<prefix><ISO basic time>-<seq>.log`), a new object every
 * `rotateMs` (default 60 s) or `rotateBytes` (default 64 MiB), never splitting a line across
 * objects; optionally gzip or zstd compressed, or converted to Parquet, and spooled to disk
 * first so a crash loses nothing. `end()` flushes the last object; `done` resolves to
 * {@link LogStreamResult}. Memory: see the module documentation (without a spool: twice the
 * multipart sink bound plus one partial line).
 *
 * @example
 * ```ts
 * const log = createLogStream(bucket, 'logs/worker-1/', { rotateMs: 10_000, compression: 'gzip', spool: './spool' })
 * for await (const event of events) log.write(JSON.stringify(event) + '\n')
 * log.end()
 * const { objects, lines } = await log.done
 * ```
 */
export function createLogStream(ref: BucketRef, prefix: string, opts: LogStreamOptions = {}): LogSink {
  return new LogSink(ref, prefix, opts)
}
