/**
 * The Parquet builder of one rotating-log object: NDJSON lines -> Arrow batches -> one Parquet
 * object (through `writeParquet` and the multipart sink), and the lines that are not records of
 * the schema -> an NDJSON error object. It loads apache-arrow, so the rotating sink imports this
 * module only when a stream's format is Parquet. Memory: see log-objects.ts.
 *
 * @packageDocumentation
 */
import type { RecordBatch } from 'apache-arrow'
import type { BucketRef } from '../bucket-ref.js'
import { AbortError } from '../errors.js'
import { writeParquet, type WriteParquetResult } from '../arrow/parquet.js'
import { LinesObjectWriter, NEWLINE, type ObjectBuild, type ObjectWriter, type SchemaHolder, type StoredLogObject } from './log-objects.js'
import type { WriteStreamOptions } from '../upload/multipart.js'
import { BatchBuilder, errorRecordLine, inferSchema, parseRecord } from './ndjson.js'

export { schemaFromJson, schemaToJson, validateLogSchema } from './ndjson.js'

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
      this.#writing = writeParquet(
        this.#channel,
        { bucket: this.#ref, key: this.key },
        {
          compression: this.#build.parquetCompression ?? 'zstd',
          rowGroupRows: this.#build.rowGroupRows ?? 100_000,
          signal: this.#controller.signal,
          upload,
        },
      )
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
