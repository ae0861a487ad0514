/**
 * The options of a rotating log stream: their types, and their resolution and validation at
 * call time (every bad option is an InvalidArgumentError before any request).
 *
 * @packageDocumentation
 */
import type { Schema } from 'apache-arrow'
import type { BucketRef } from '../bucket-ref.js'
import type { ParquetCompression } from '../arrow/parquet.js'
import { InvalidArgumentError } from '../errors.js'
import { describeValue, validateInteger, validateKey } from '../validate.js'
import { COMPRESSION_SUFFIX, validateCompression, type LogCompression } from '../compression.js'
import { DEFAULT_KEY_TEMPLATE, parseKeyTemplate, renderKeyTemplate, type KeyTemplate, type LogObjectName } from './log-keys.js'
import type { ObjectBuild } from './log-objects.js'
import { DEFAULT_PART_SIZE, DEFAULT_QUEUE_SIZE, validateWriteStreamOptions, type WriteStreamOptions } from '../upload/multipart.js'
import { PART_BUFFERS, PartBuffers } from '../upload/multipart/parts.js'
import { checkLogSchemaShape } from '../arrow/schema-shape.js'
import type { FsyncPolicy } from './spool.js'
import { errorKeyOf, withSuffix } from './rotating-keys.js'

export const MiB = 1024 * 1024

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

/** The options of a log stream, validated and with their defaults. */
export interface Resolved {
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

/** Validate `opts` (and the multipart sink options among them) and fill in the defaults. */
export function resolveOptions(ref: BucketRef, prefix: string, opts: LogStreamOptions): Resolved {
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
  if (opts.lineSafe !== undefined && typeof opts.lineSafe !== 'boolean')
    throw bad('lineSafe', `Expected lineSafe to be a boolean, got ${describeValue(opts.lineSafe)}`)
  if (opts.clock !== undefined && typeof opts.clock !== 'function') throw bad('clock', `Expected clock to be a function, got ${describeValue(opts.clock)}`)
  const lineSafe = opts.lineSafe ?? true

  // Format and compression.
  const format = opts.format ?? 'lines'
  let parquet: ParquetLogFormat | undefined
  if (format !== 'lines') {
    if (
      format === null ||
      typeof format !== 'object' ||
      typeof (format as { parquet?: unknown }).parquet !== 'object' ||
      (format as { parquet: unknown }).parquet === null
    ) {
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
  if (fsync !== 'always' && fsync !== 'interval' && fsync !== 'never')
    throw bad('fsync', `Expected fsync to be 'always', 'interval' or 'never', got ${describeValue(fsync)}`)
  const fsyncIntervalMs = opts.fsyncIntervalMs ?? 1000
  validateInteger(fsyncIntervalMs, 'fsyncIntervalMs', 1, 2 ** 31 - 1)
  const maxSpoolBytes = opts.maxSpoolBytes ?? 1024 * MiB
  validateInteger(maxSpoolBytes, 'maxSpoolBytes', 1)
  const whenFull = opts.whenFull ?? 'block'
  if (whenFull !== 'block' && whenFull !== 'drop-newest')
    throw bad('whenFull', `Expected whenFull to be 'block' or 'drop-newest', got ${describeValue(whenFull)}`)

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
  // The stream's objects share their part buffers, one object after another (at most one
  // sink's worth kept free: the stated bound counts every sink that can be open at once).
  Object.assign(sinkOptions, { [PART_BUFFERS]: new PartBuffers(sinkOptions.partSize ?? DEFAULT_PART_SIZE, (sinkOptions.queueSize ?? DEFAULT_QUEUE_SIZE) + 1) })
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
