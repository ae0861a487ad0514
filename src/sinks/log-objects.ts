/**
 * Builders of one rotating-log object: the bytes of its lines go in, one or two stored S3
 * objects come out.
 *
 * - {@link LinesObjectWriter}: the lines as they are, or gzip / zstd compressed, through the
 *   multipart sink. Memory: the sink's `partSize * (queueSize + 1)`; compressed, also two 1 MiB
 *   input batches and the compressor's window (see compression.ts).
 * - `ParquetObjectWriter` (log-parquet.ts, loaded only for Parquet logs): NDJSON lines -> Arrow batches -> one Parquet object (through
 *   `writeParquet` and the multipart sink), and the lines that are not records of the schema ->
 *   an NDJSON error object. Memory: one partial line, one batch of `batchRows` rows (and up to
 *   `inferRecords` parsed records before the schema is known), the Parquet writer's row group
 *   (`rowGroupRows`), and the sinks' bounds.
 *
 * @packageDocumentation
 */
import { once } from 'node:events'
import type { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Schema } from 'apache-arrow'
import type { BucketRef } from '../bucket-ref.js'
import type { ParquetCompression } from '../arrow/parquet.js'
import { CONTENT_ENCODING, createCompressor, type LogCompression } from '../compression.js'
import { MultipartSink, type WriteStreamOptions, type WriteStreamResult } from '../upload/multipart.js'

/** The end of a line. */
export const NEWLINE = 0x0a
/** Input handed to the compressor at once. */
const COMPRESS_BATCH = 1024 * 1024

/** One object a log stream stored. */
export interface StoredLogObject extends WriteStreamResult {
  /** `log`: lines (maybe compressed); `parquet`: records; `errors`: lines that were not records. */
  kind: 'log' | 'parquet' | 'errors'
  /** Bytes of lines that went into it (before compression or conversion). */
  rawBytes: number
  /** Lines in it (`log`), rows (`parquet`) or error lines (`errors`). */
  lines: number
  /** Built from a spool segment left by an earlier process. */
  recovered: boolean
}

/** How an object is built; kept in a spool segment's header so a later process builds the same. */
export interface ObjectBuild {
  format: 'lines' | 'parquet'
  compression: LogCompression
  level?: number
  contentType?: string
  /** Parquet: the error object's key. */
  errorKey?: string
  parquetCompression?: ParquetCompression
  rowGroupRows?: number
  batchRows?: number
  inferRecords?: number
}

/** Where a Parquet stream keeps its schema: fixed once known (given, loaded, or inferred). */
export interface SchemaHolder {
  schema: Schema | undefined
  /** Called once when the schema was inferred. */
  onInferred?: (schema: Schema) => void
}

/** Something that builds one log object. */
export interface ObjectWriter {
  /** Bytes of lines (the last one may be incomplete until `end()`). Waits while the object cannot take more. */
  write(bytes: Buffer): Promise<void>
  /** No more input: decide what must be decided at once (a Parquet schema to infer). */
  seal(): void
  /** Finish and store; resolves to the objects stored. */
  end(): Promise<StoredLogObject[]>
  /** Stop: nothing of this object is left on the server (its uploads are aborted). */
  destroy(error?: Error): Promise<void>
}

function countNewlines(bytes: Buffer): number {
  let n = 0
  for (let at = bytes.indexOf(NEWLINE); at >= 0; at = bytes.indexOf(NEWLINE, at + 1)) n++
  return n
}

/** Lines as they are, or compressed, into one object. */
export class LinesObjectWriter implements ObjectWriter {
  readonly key: string
  readonly #sink: MultipartSink
  readonly #compressor: Transform | undefined
  readonly #piping: Promise<void> | undefined
  readonly #kind: StoredLogObject['kind']
  readonly #recovered: boolean
  #rawBytes = 0
  #lines = 0
  #lastByte = NEWLINE
  /** Compressed objects: two 1 MiB batch buffers, one filling while zlib reads the other. */
  #batches: Buffer[] = []
  #filling = 0
  #filled = 0
  #inCompressor: Promise<void> = Promise.resolve()

  constructor(
    ref: BucketRef,
    key: string,
    opts: { compression: LogCompression; level?: number; sinkOptions: WriteStreamOptions; kind?: StoredLogObject['kind']; recovered?: boolean },
  ) {
    this.key = key
    this.#kind = opts.kind ?? 'log'
    this.#recovered = opts.recovered ?? false
    const sinkOptions: WriteStreamOptions = { ...opts.sinkOptions }
    if (opts.compression !== 'none') sinkOptions.contentEncoding = CONTENT_ENCODING[opts.compression]
    this.#sink = new MultipartSink(ref, key, sinkOptions)
    this.#sink.on('error', () => undefined) // failures surface through sink.done
    if (opts.compression !== 'none') {
      this.#compressor = createCompressor(opts.compression, opts.level!)
      this.#batches = [Buffer.allocUnsafeSlow(COMPRESS_BATCH), Buffer.allocUnsafeSlow(COMPRESS_BATCH)]
      this.#piping = pipeline(this.#compressor, this.#sink)
      this.#piping.catch(() => undefined)
    }
  }

  async write(bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return
    this.#rawBytes += bytes.length
    this.#lines += countNewlines(bytes)
    this.#lastByte = bytes[bytes.length - 1]!
    if (!this.#compressor) {
      if (!this.#sink.write(bytes)) await Promise.race([once(this.#sink, 'drain'), this.#sink.done])
      return
    }
    // The compressor gets 1 MiB at a time: each write is a round trip to zlib's thread, and
    // fewer, larger ones cost far less CPU than one per small chunk.
    let at = 0
    while (at < bytes.length) {
      const n = bytes.copy(this.#batches[this.#filling]!, this.#filled, at)
      this.#filled += n
      at += n
      if (this.#filled === COMPRESS_BATCH) await this.#compressBatch()
    }
  }

  /** Hand the filled batch buffer to the compressor and switch to the other one (once zlib is done with it). */
  async #compressBatch(): Promise<void> {
    const compressor = this.#compressor!
    const buffer = this.#batches[this.#filling]!
    const length = this.#filled
    const previous = this.#inCompressor
    this.#inCompressor = new Promise<void>((resolve) => compressor.write(buffer.subarray(0, length), () => resolve()))
    this.#filling = 1 - this.#filling
    this.#filled = 0
    await Promise.race([previous, this.#piping])
    if (compressor.writableNeedDrain) await Promise.race([once(compressor, 'drain'), this.#piping])
  }

  seal(): void {}

  async end(): Promise<StoredLogObject[]> {
    if (this.#compressor) {
      if (this.#filled > 0) {
        // The last batch: a copy, since the buffers are dropped below.
        this.#compressor.write(Buffer.from(this.#batches[this.#filling]!.subarray(0, this.#filled)))
        this.#filled = 0
      }
      this.#compressor.end()
      await this.#piping
      this.#batches = []
    } else this.#sink.end()
    const result = await this.#sink.done
    const lines = this.#lines + (this.#rawBytes > 0 && this.#lastByte !== NEWLINE ? 1 : 0)
    return [{ ...result, kind: this.#kind, rawBytes: this.#rawBytes, lines, recovered: this.#recovered }]
  }

  async destroy(error?: Error): Promise<void> {
    this.#compressor?.destroy(error)
    this.#sink.destroy(error)
    await this.#sink.done.catch(() => undefined)
  }
}
