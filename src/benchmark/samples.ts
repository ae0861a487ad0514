/**
 * Samples as data: the Parquet schema of the load generator's results, a writer that streams
 * samples to Parquet in batches (bounded memory), and a reader that streams them back.
 *
 * One row per timed request:
 *
 * | column | type | meaning |
 * |---|---|---|
 * | `run` | utf8 | run id (shared by the clients of one run) |
 * | `client` | utf8 | client id |
 * | `workload` | utf8 | put, get, mixed, list, stat, delete, multipart, copy |
 * | `concurrency` | int32 | requests in flight (a sweep has several levels) |
 * | `worker` | int32 | 0 to concurrency - 1 |
 * | `op` | utf8 | put, get, stat, delete, list, copy, multipart |
 * | `start` | timestamp[us, UTC] | when the request started |
 * | `ttfb_ms` | float64, null | time to the first byte of the body (get only) |
 * | `duration_ms` | float64 | start to last byte |
 * | `size` | int64 | payload bytes |
 * | `objects` | int32 | objects covered (list: keys on the page; delete: keys in the batch) |
 * | `outcome` | utf8 | `ok` or the typed error's code |
 *
 * @example
 * ```sql
 * -- DuckDB: p99 per operation, as the summary computes it
 * SELECT op, quantile_cont(duration_ms, 0.99) FROM 'results.parquet' WHERE outcome = 'ok' GROUP BY op;
 * ```
 * @packageDocumentation
 */
import { openAsBlob } from 'node:fs'
import { type Data, Field, Float64, Int32, Int64, makeData, RecordBatch, Schema, Struct, tableFromIPC, TimestampMicrosecond, Utf8 } from 'apache-arrow'
import { writeParquet, type ParquetDestination, type WriteParquetResult } from '../index.js'
import type { BenchOperation, BenchSample } from './types.js'

const FIELDS = [
  new Field('run', new Utf8(), false),
  new Field('client', new Utf8(), false),
  new Field('workload', new Utf8(), false),
  new Field('concurrency', new Int32(), false),
  new Field('worker', new Int32(), false),
  new Field('op', new Utf8(), false),
  new Field('start', new TimestampMicrosecond('UTC'), false),
  new Field('ttfb_ms', new Float64(), true),
  new Field('duration_ms', new Float64(), false),
  new Field('size', new Int64(), false),
  new Field('objects', new Int32(), false),
  new Field('outcome', new Utf8(), false),
]

/**
 * The Arrow schema of a results file (see the module docs for its columns).
 *
 * @example
 * ```ts
 * console.log(SAMPLE_SCHEMA.fields.map((f) => `${f.name}: ${f.type}`))
 * ```
 */
export const SAMPLE_SCHEMA = new Schema(FIELDS)

const encoder = new TextEncoder()

/** A utf8 column from strings that repeat (each distinct string encoded once). */
function utf8(values: readonly string[]): Data<Utf8> {
  const cache = new Map<string, Uint8Array>()
  const offsets = new Int32Array(values.length + 1)
  let total = 0
  const parts: Uint8Array[] = new Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    let b = cache.get(v)
    if (!b) {
      b = encoder.encode(v)
      cache.set(v, b)
    }
    parts[i] = b
    total += b.length
    offsets[i + 1] = total
  }
  const bytes = new Uint8Array(total)
  for (let i = 0; i < parts.length; i++) bytes.set(parts[i]!, offsets[i]!)
  return makeData({ type: new Utf8(), length: values.length, nullCount: 0, valueOffsets: offsets, data: bytes })
}

/** Build one record batch from samples of one run and workload. */
export function samplesToBatch(samples: readonly BenchSample[], run: string, workload: string): RecordBatch {
  const n = samples.length
  const concurrency = new Int32Array(n)
  const worker = new Int32Array(n)
  const start = new BigInt64Array(n)
  const ttfb = new Float64Array(n)
  const valid = new Uint8Array((n + 7) >> 3)
  let nulls = 0
  const duration = new Float64Array(n)
  const size = new BigInt64Array(n)
  const objects = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    const s = samples[i]!
    concurrency[i] = s.concurrency
    worker[i] = s.worker
    start[i] = BigInt(Math.round(s.start * 1000))
    if (s.ttfb === null) nulls++
    else {
      ttfb[i] = s.ttfb
      valid[i >> 3]! |= 1 << (i & 7)
    }
    duration[i] = s.duration
    size[i] = BigInt(s.size)
    objects[i] = s.objects
  }
  const same = (v: string) => new Array<string>(n).fill(v)
  const children: Data[] = [
    utf8(same(run)),
    utf8(samples.map((s) => s.client)),
    utf8(same(workload)),
    makeData({ type: new Int32(), length: n, nullCount: 0, data: concurrency }),
    makeData({ type: new Int32(), length: n, nullCount: 0, data: worker }),
    utf8(samples.map((s) => s.op)),
    makeData({ type: new TimestampMicrosecond('UTC'), length: n, nullCount: 0, data: start }),
    makeData({ type: new Float64(), length: n, nullCount: nulls, data: ttfb, ...(nulls > 0 ? { nullBitmap: valid } : {}) }),
    makeData({ type: new Float64(), length: n, nullCount: 0, data: duration }),
    makeData({ type: new Int64(), length: n, nullCount: 0, data: size }),
    makeData({ type: new Int32(), length: n, nullCount: 0, data: objects }),
    utf8(samples.map((s) => s.outcome)),
  ]
  return new RecordBatch(SAMPLE_SCHEMA, makeData({ type: new Struct(FIELDS), length: n, nullCount: 0, children }))
}

/** Options of {@link SampleWriter}. */
export interface SampleWriterOptions {
  /** Samples per record batch. @default 8192 */
  batchRows?: number
  /** Batches waiting for the Parquet writer before producers wait. @default 4 */
  maxQueued?: number
}

/**
 * Streams samples to a Parquet file in batches. Memory: one batch being filled plus up to
 * `maxQueued` batches waiting (8192 rows each, ~70 bytes a row) plus the Parquet writer's row
 * group (65,536 rows): under 10 MB however long the run. The file is started with the first
 * batch, so a run without samples writes none (and an abort before it leaves nothing).
 *
 * @example
 * ```ts
 * import { SampleWriter, type BenchSample } from 'bucketflow/bench'
 * declare const samples: Iterable<BenchSample>
 * const writer = new SampleWriter('samples.parquet', 'run-1', 'get')
 * for (const s of samples) {
 *   if (writer.full) await writer.ready()
 *   writer.push(s)
 * }
 * await writer.end()
 * ```
 */
export class SampleWriter {
  readonly batchRows: number
  readonly maxQueued: number
  #pending: BenchSample[] = []
  #queue: RecordBatch[] = []
  #wake: (() => void) | undefined
  #room: (() => void)[] = []
  #ended = false
  #rows = 0
  #failure: unknown
  readonly #abort = new AbortController()
  #done: Promise<WriteParquetResult> | undefined

  constructor(
    readonly destination: ParquetDestination,
    readonly run: string,
    readonly workload: string,
    options: SampleWriterOptions = {},
  ) {
    this.batchRows = options.batchRows ?? 8192
    this.maxQueued = options.maxQueued ?? 4
  }

  /** The writer's failure, if it failed (the destination could not be written). */
  get failure(): unknown {
    return this.#failure
  }

  /** Samples taken so far. */
  get rows(): number {
    return this.#rows
  }

  /** True when producers should wait ({@link ready}) before adding more. */
  get full(): boolean {
    return this.#queue.length >= this.maxQueued && this.#failure === undefined
  }

  /** Resolves when there is room for more samples. */
  ready(): Promise<void> {
    if (!this.full) return Promise.resolve()
    return new Promise((resolve) => this.#room.push(resolve))
  }

  push(sample: BenchSample): void {
    if (this.#ended) throw new Error('SampleWriter: push after end')
    this.#pending.push(sample)
    this.#rows++
    if (this.#pending.length >= this.batchRows) this.#flush()
  }

  /**
   * Write what is left and finish the file; resolves once it is complete. With no samples at all
   * no file is written (Parquet needs a row group) and it resolves to undefined.
   */
  async end(): Promise<WriteParquetResult | undefined> {
    if (!this.#ended) {
      if (this.#pending.length > 0) this.#flush()
      this.#ended = true
      this.#wake?.()
    }
    return this.#done
  }

  /** Give up: the destination is not completed (a partial file is removed, an upload aborted). */
  async abort(reason?: unknown): Promise<void> {
    this.#ended = true
    this.#abort.abort(reason)
    this.#wake?.()
    await this.#done?.catch(() => undefined)
  }

  #flush(): void {
    this.#queue.push(samplesToBatch(this.#pending, this.run, this.workload))
    this.#pending = []
    if (!this.#done) {
      this.#done = writeParquet(this.#batches(), this.destination, { rowGroupRows: 65_536, signal: this.#abort.signal })
      this.#done.catch((err: unknown) => {
        this.#failure ??= err
        this.#release()
      })
    }
    this.#wake?.()
  }

  #release(): void {
    for (const r of this.#room.splice(0)) r()
  }

  async *#batches(): AsyncGenerator<RecordBatch> {
    for (;;) {
      const next = this.#queue.shift()
      if (next) {
        if (!this.full) this.#release()
        yield next
        continue
      }
      if (this.#ended) return
      await new Promise<void>((resolve) => (this.#wake = resolve))
      this.#wake = undefined
    }
  }
}

/** One sample read back, with the run and workload of its row. */
export interface StoredSample extends BenchSample {
  run: string
  workload: string
}

/**
 * Stream the samples of a results file, a batch of rows at a time (memory: one batch).
 *
 * @example
 * ```ts
 * for await (const rows of readSamples('bench-results/run.parquet')) console.log(rows.length)
 * ```
 */
export async function* readSamples(path: string, options: { batchRows?: number } = {}): AsyncGenerator<StoredSample[]> {
  const pw = await import('parquet-wasm')
  const file = await pw.ParquetFile.fromFile(await openAsBlob(path))
  try {
    const stream = await file.stream({ batchSize: options.batchRows ?? 65_536 })
    for await (const wasmBatch of stream as unknown as AsyncIterable<{ intoIPCStream(): Uint8Array }>) {
      const table = tableFromIPC(wasmBatch.intoIPCStream())
      const col = (name: string) => {
        const c = table.getChild(name)
        if (!c) throw new Error(`${path} is not a bucketflow benchmark results file: it has no column ${name}`)
        return c
      }
      const run = col('run')
      const client = col('client')
      const workload = col('workload')
      const concurrency = col('concurrency')
      const worker = col('worker')
      const op = col('op')
      const start = col('start')
      const ttfb = col('ttfb_ms')
      const duration = col('duration_ms')
      const size = col('size')
      const objects = col('objects')
      const outcome = col('outcome')
      const out: StoredSample[] = new Array(table.numRows)
      for (let i = 0; i < table.numRows; i++) {
        const t = ttfb.get(i) as number | null
        out[i] = {
          run: run.get(i) as string,
          client: client.get(i) as string,
          workload: workload.get(i) as string,
          concurrency: concurrency.get(i) as number,
          worker: worker.get(i) as number,
          op: op.get(i) as BenchOperation,
          start: Number(startMicros(start, i)) / 1000,
          ttfb: t === null ? null : t,
          duration: duration.get(i) as number,
          size: Number(size.get(i) as bigint),
          objects: objects.get(i) as number,
          outcome: outcome.get(i) as string,
        }
      }
      yield out
    }
  } finally {
    file.free()
  }
}

/** The raw microseconds of a timestamp[us] cell (arrow's get() answers milliseconds as a float). */
function startMicros(column: { data: readonly Data[] }, row: number): bigint {
  let at = row
  for (const d of column.data) {
    if (at < d.length) return (d.values as unknown as BigInt64Array)[d.offset + at]!
    at -= d.length
  }
  throw new RangeError(`row ${row} out of range`)
}
