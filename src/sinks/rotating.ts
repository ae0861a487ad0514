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
import type { BucketRef } from '../bucket-ref.js'
import type { LogStreamOptions } from './rotating-options.js'
import { LogSink } from './rotating-stream.js'

export { defaultLogName, type LogObjectName } from './log-keys.js'
export type { StoredLogObject } from './log-objects.js'
export type { FsyncPolicy } from './spool.js'
export type { LogCompression } from '../compression.js'
export type { LogStreamOptions, ParquetLogFormat } from './rotating-options.js'
export type { DroppedCounts, LogStreamResult } from './rotating-stats.js'
export { LogSink } from './rotating-stream.js'

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
 * declare const events: AsyncIterable<object>
 * const log = createLogStream(bucket, 'logs/worker-1/', { rotateMs: 10_000, compression: 'gzip', spool: './spool' })
 * for await (const event of events) log.write(JSON.stringify(event) + '\n')
 * log.end()
 * const { objects, lines: written } = await log.done
 * console.log(`${written} lines in ${objects} objects`)
 * ```
 */
export function createLogStream(ref: BucketRef, prefix: string, opts: LogStreamOptions = {}): LogSink {
  return new LogSink(ref, prefix, opts)
}
