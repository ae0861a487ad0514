/**
 * Builders of one rotating-log object: the bytes of its lines go in, one or two stored S3
 * objects come out.
 *
 * - {@link LinesObjectWriter}: the lines as they are, or gzip / zstd compressed, through the
 *   multipart sink. Memory: the sink's `partSize * (queueSize + 1)`; compressed, also two 1 MiB
 *   input batches and the compressor's window (see compression.ts).
 * - {@link ParquetObjectWriter}: NDJSON lines -> Arrow batches -> one Parquet object (through
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
import type { RecordBatch, Schema } from 'apache-arrow'
import type { BucketRef } from '../bucket-ref.js'
import { AbortError } from '../errors.js'
import { writeParquet, type ParquetCompression, type WriteParquetResult } from '../arrow/parquet.js'
import { CONTENT_ENCODING, createCompressor, type LogCompression } from './compression.js'
import { MultipartSink, type WriteStreamOptions, type WriteStreamResult } from './multipart.js'
import { BatchBuilder, errorRecordLine, inferSchema, parseRecord } from './ndjson.js'

const NEWLINE = 0x0a
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

/** A one-slot hand-over of record batches to the Parquet writer, with backpressure both ways. */
class BatchChannel implements AsyncIterable<RecordBatch> {
  #items: RecordBatch[] = []
  #closed = false
  #stopped = false
  #wakeConsumer: (() => void) | undefined
  #wakeProducer: (() => void) | undefined

  get stopped(): boolean {
    return this.#stopped
  }

  async push(batch: RecordBatch): Promise<void> {
    if (this.#stopped) throw new AbortError('The Parquet writer stopped')
    this.#items.push(batch)
    this.#wakeConsumer?.()
    while (this.#items.length > 1 && !this.#stopped) await new Promise<void>((r) => (this.#wakeProducer = r))
  }

  close(): void {
    this.#closed = true
    this.#wakeConsumer?.()
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordBatch> {
    return {
      next: async () => {
        while (this.#items.length === 0 && !this.#closed && !this.#stopped) await new Promise<void>((r) => (this.#wakeConsumer = r))
        const item = this.#items.shift()
        this.#wakeProducer?.()
        return item ? { done: false, value: item } : { done: true, value: undefined }
      },
      return: async () => {
        this.#stopped = true
        this.#items = []
        this.#wakeProducer?.()
        return { done: true, value: undefined }
      },
    }
  }
}

/** NDJSON lines -> one Parquet object, and an error object for the lines that are not records. */
export class ParquetObjectWriter implements ObjectWriter {
  readonly key: string
  readonly errorKey: string
  readonly #ref: BucketRef
  readonly #build: ObjectBuild
  readonly #sinkOptions: WriteStreamOptions
  readonly #holder: SchemaHolder
  readonly #recovered: boolean
  readonly #skipParquet: boolean
  readonly #skipErrors: boolean
  readonly #controller = new AbortController()
  #builder: BatchBuilder | undefined
  #sample: Record<string, unknown>[] = []
  #carry: Buffer[] = []
  #line = 0
  #rawBytes = 0
  #rows = 0
  #channel: BatchChannel | undefined
  #writing: Promise<WriteParquetResult> | undefined
  #errors: LinesObjectWriter | undefined
  #errorLines = 0

  constructor(
    ref: BucketRef,
    key: string,
    opts: { build: ObjectBuild; sinkOptions: WriteStreamOptions; schema: SchemaHolder; recovered?: boolean; skipParquet?: boolean; skipErrors?: boolean },
  ) {
    this.#ref = ref
    this.key = key
    this.errorKey = opts.build.errorKey!
    this.#build = opts.build
    this.#sinkOptions = opts.sinkOptions
    this.#holder = opts.schema
    this.#recovered = opts.recovered ?? false
    this.#skipParquet = opts.skipParquet ?? false
    this.#skipErrors = opts.skipErrors ?? false
  }

  async write(bytes: Buffer): Promise<void> {
    this.#rawBytes += bytes.length
    let start = 0
    for (let nl = bytes.indexOf(NEWLINE); nl >= 0; nl = bytes.indexOf(NEWLINE, start)) {
      const piece = bytes.subarray(start, nl)
      const line = this.#carry.length > 0 ? Buffer.concat([...this.#carry, piece]) : piece
      this.#carry = []
      start = nl + 1
      await this.#line_(line)
    }
    if (start < bytes.length) this.#carry.push(Buffer.from(bytes.subarray(start)))
  }

  async #line_(raw: Buffer): Promise<void> {
    const n = ++this.#line
    const record = parseRecord(raw)
    if (typeof record === 'string') return this.#error(n, record, raw)
    if (!this.#holder.schema) {
      this.#sample.push(record)
      if (this.#sample.length >= (this.#build.inferRecords ?? 1000)) {
        this.#infer()
        await this.#drainSample()
      }
      return
    }
    await this.#add(record, n, raw)
  }

  async #add(record: Record<string, unknown>, n: number, raw: Buffer | undefined): Promise<void> {
    this.#builder ??= new BatchBuilder(this.#holder.schema!)
    const reason = this.#builder.add(record)
    if (reason !== undefined) return this.#error(n, reason, raw ?? Buffer.from(JSON.stringify(record)))
    this.#rows++
    if (this.#builder.rows >= (this.#build.batchRows ?? 10_000)) await this.#emit(this.#builder.take()!)
  }

  #infer(): void {
    if (this.#holder.schema || this.#sample.length === 0) return
    this.#holder.schema = inferSchema(this.#sample)
    this.#holder.onInferred?.(this.#holder.schema)
  }

  async #drainSample(): Promise<void> {
    const sample = this.#sample
    this.#sample = []
    // Inferred from these records, they all fit (line numbers are not needed for errors then).
    for (const record of sample) await this.#add(record, 0, undefined)
  }

  async #error(line: number, reason: string, raw: Buffer): Promise<void> {
    this.#errorLines++
    if (this.#skipErrors) return
    this.#errors ??= new LinesObjectWriter(this.#ref, this.errorKey, {
      compression: 'none',
      sinkOptions: { ...this.#sinkOptions, contentType: 'application/x-ndjson' },
      kind: 'errors',
      recovered: this.#recovered,
    })
    await this.#errors.write(Buffer.from(errorRecordLine({ line, reason, raw })))
  }

  async #emit(batch: RecordBatch): Promise<void> {
    if (this.#skipParquet) return
    if (!this.#channel) {
      this.#channel = new BatchChannel()
      const { contentType: _c, ...upload } = this.#sinkOptions
      this.#writing = writeParquet(this.#channel, { bucket: this.#ref, key: this.key }, {
        compression: this.#build.parquetCompression ?? 'zstd',
        rowGroupRows: this.#build.rowGroupRows ?? 100_000,
        signal: this.#controller.signal,
        upload,
      })
      this.#writing.catch(() => undefined)
    }
    try {
      await this.#channel.push(batch)
    } catch (err) {
      // The writer stopped: its own error says why.
      await this.#writing
      throw err
    }
  }

  seal(): void {
    if (this.#holder.schema) return
    // The schema is fixed from here on: infer it now from what this object holds, so the next
    // object (which may start filling before this one is stored) uses the same.
    const last = this.#carry.length > 0 ? parseRecord(Buffer.concat(this.#carry)) : undefined
    this.#infer()
    if (!this.#holder.schema && last !== undefined && typeof last !== 'string') {
      this.#holder.schema = inferSchema([last])
      this.#holder.onInferred?.(this.#holder.schema)
    }
  }

  async end(): Promise<StoredLogObject[]> {
    if (this.#carry.length > 0) {
      const last = Buffer.concat(this.#carry)
      this.#carry = []
      this.seal()
      await this.#drainSample()
      await this.#line_(last)
    }
    this.seal()
    await this.#drainSample()
    const rest = this.#builder?.take()
    if (rest) await this.#emit(rest)
    const out: StoredLogObject[] = []
    if (this.#errors) out.push(...(await this.#errors.end()))
    if (this.#channel) {
      this.#channel.close()
      const result = await this.#writing!
      out.unshift({ ...result.upload!, kind: 'parquet', rawBytes: this.#rawBytes, lines: result.rows, recovered: this.#recovered })
    }
    return out
  }

  /** Lines that were not records of the schema (so far). */
  get errorLines(): number {
    return this.#errorLines
  }

  /** Records written (so far). */
  get rows(): number {
    return this.#rows
  }

  async destroy(error?: Error): Promise<void> {
    this.#controller.abort(error ?? new AbortError('The log object was destroyed'))
    await Promise.allSettled([this.#writing, this.#errors?.destroy(error)])
  }
}
