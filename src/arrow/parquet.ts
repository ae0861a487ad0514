/**
 * Arrow record batches -> Parquet, streaming: to a local file, a Node Writable, or an S3 object
 * (through the bounded-memory multipart sink), with parquet-wasm's `transformParquetStream`.
 *
 * Memory is flat in the number of rows: batches are pulled one at a time, the writer holds one
 * row group (`rowGroupRows`, default 100,000 rows: ~30 MiB of wasm memory for listing rows), and
 * bytes flow to the destination with backpressure (`pipeline(Readable.fromWeb(...), sink)`).
 *
 * Failure is never a valid-looking file. parquet-wasm on its own ends a truncated but valid file
 * when its input errors, silently drops a batch whose column types differ, and waits forever for
 * a batch with fewer columns. So here:
 * - every batch is checked against the first one's schema (names, types, nullability) before it
 *   reaches the writer; a mismatch fails the write with {@link InvalidArgumentError};
 * - an error of the batch source fails the write with that same error;
 * - the Parquet footer that passes through is checked: its row count must equal the rows given
 *   (else {@link IntegrityError});
 * - on failure the destination is not completed: a local file is written under a temporary name
 *   and renamed only on success (the partial file is removed), a Writable is destroyed with the
 *   error, an S3 multipart upload is aborted (nothing is left on the server).
 *
 * @example
 * ```ts
 * import { listPartitioned, toRecordBatches, writeParquet } from 'bucketflow'
 * const batches = toRecordBatches(listPartitioned(bucket, { concurrency: 16 }), { batchRows: 65536 })
 * await writeParquet(batches, { bucket, key: 'index/contents.parquet' })
 * ```
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto'
import { createWriteStream as createFileStream } from 'node:fs'
import { mkdir, readFile, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { Readable, Transform, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web'
import { RecordBatch, type Schema, Table, tableFromIPC, tableToIPC } from 'apache-arrow'
import type * as ParquetWasm from 'parquet-wasm'
import type { BucketRef } from '../bucket-ref.js'
import { AbortError, IntegrityError, InvalidArgumentError } from '../errors.js'
import { createWriteStream, type WriteStreamOptions, type WriteStreamResult } from '../upload/multipart.js'
import { describeValue, validateInteger, validateKey } from '../validate.js'
import { writePartitioned, type PartitionBy, type PartitionFile } from './partitioned.js'
import { footerCounts } from './parquet-footer.js'

export { footerCounts }

/** Parquet compression codecs. */
export type ParquetCompression = 'uncompressed' | 'snappy' | 'gzip' | 'brotli' | 'lz4' | 'zstd'

/** Codec names, and their parquet-wasm values (the enum's numbers, so the module loads lazily). */
const CODECS: Record<ParquetCompression, keyof typeof ParquetWasm.Compression> = {
  uncompressed: 'UNCOMPRESSED',
  snappy: 'SNAPPY',
  gzip: 'GZIP',
  brotli: 'BROTLI',
  lz4: 'LZ4_RAW',
  zstd: 'ZSTD',
}

/**
 * parquet-wasm, loaded on first use: instantiating its WebAssembly costs ~0.1 s and ~30 MiB,
 * which every `import 'bucketflow'` would pay otherwise.
 */
function loadParquetWasm(): Promise<typeof ParquetWasm> {
  return import('parquet-wasm')
}

/** Where {@link writeParquet} writes: a local path, a Node Writable, or an S3 object. */
export type ParquetDestination = string | Writable | { bucket: BucketRef; key: string }

/** Options for {@link writeParquet}. */
export interface WriteParquetOptions {
  /** Default 'zstd' (about 33 MB per million listing rows). */
  compression?: ParquetCompression
  /** Rows per row group: bounds the writer's memory. Default 100,000. */
  rowGroupRows?: number
  /** Abort: the destination is not completed (see above) and the write rejects with AbortError. */
  signal?: AbortSignal
  /** For an S3 destination: options of the multipart sink (partSize, queueSize, storageClass, ...). */
  upload?: Omit<WriteStreamOptions, 'signal'>
  /**
   * Write Hive partitions instead of one file: `destination` is then a folder (or `{ bucket, key:
   * prefix }`) and gets `prefix=<encoded>/part-NNNNN.parquet` files (see arrow/partitioned.ts).
   */
  partitionBy?: PartitionBy
}

/** What {@link writeParquet} wrote. */
export interface WriteParquetResult {
  /** Rows written (checked against the file's footer). */
  rows: number
  /** Record batches taken from the source. */
  batches: number
  /** Row groups in the file. */
  rowGroups: number
  /** Bytes of Parquet written. */
  bytes: number
  /** For an S3 destination: the stored object. */
  upload?: WriteStreamResult
  /** With `partitionBy`: every file written, by path. */
  files?: PartitionFile[]
}

/** The footer is read from the last bytes that passed by; longer footers are not checked. */
const FOOTER_LIMIT = 8 * 1024 * 1024

function describeSchema(schema: Schema): string[] {
  return schema.fields.map((f) => `${JSON.stringify(f.name)}: ${String(f.type)}${f.nullable ? '' : ' not null'}`)
}

function isS3Destination(d: unknown): d is { bucket: BucketRef; key: string } {
  return d !== null && typeof d === 'object' && !(d instanceof Writable) && 'bucket' in d && 'key' in d
}

function toAsyncIterator<T>(source: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> {
  const s = source as Partial<AsyncIterable<T> & Iterable<T>>
  if (typeof s[Symbol.asyncIterator] === 'function') return s[Symbol.asyncIterator]!()
  if (typeof s[Symbol.iterator] === 'function') {
    const it = s[Symbol.iterator]!()
    return {
      next: async () => it.next(),
      return: async (value?: unknown) => it.return?.(value) ?? { done: true, value: undefined },
    }
  }
  throw new InvalidArgumentError(`Expected batches to be an (async) iterable of arrow RecordBatch, got ${describeValue(source)}`, { argument: 'batches' })
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}

/**
 * Write record batches as one Parquet file, streaming. `destination` is a local path (written
 * under a temporary name and renamed when complete), a Node Writable (ended when complete,
 * destroyed on failure), or `{ bucket, key }` (a multipart upload, aborted on failure). Every
 * batch must have the first batch's schema. Resolves once the destination is complete.
 *
 * @example
 * ```ts
 * const batches = toRecordBatches(listPages(bucket), { batchRows: 65536 })
 * const { rows, bytes } = await writeParquet(batches, 'index.parquet', { compression: 'zstd' })
 * ```
 */
export async function writeParquet(
  batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>,
  destination: ParquetDestination,
  options: WriteParquetOptions = {},
): Promise<WriteParquetResult> {
  if (options.partitionBy !== undefined) return writePartitioned(batches, destination, { ...options, partitionBy: options.partitionBy }, writeParquet)
  const compression = options.compression ?? 'zstd'
  if (!Object.hasOwn(CODECS, compression)) {
    throw new InvalidArgumentError(`Expected compression to be one of ${Object.keys(CODECS).join(', ')}, got ${describeValue(compression)}`, {
      argument: 'compression',
    })
  }
  const rowGroupRows = options.rowGroupRows ?? 100_000
  validateInteger(rowGroupRows, 'rowGroupRows', 1)
  if (isS3Destination(destination)) validateKey(destination.key, destination.bucket.name)
  else if (typeof destination === 'string') {
    if (destination === '') throw new InvalidArgumentError('Expected destination to be a file path, got ""', { argument: 'destination' })
  } else if (!(destination instanceof Writable)) {
    throw new InvalidArgumentError(`Expected destination to be a file path, a Writable or { bucket, key }, got ${describeValue(destination)}`, {
      argument: 'destination',
    })
  }
  const pw = await loadParquetWasm()
  const iterator = toAsyncIterator(batches)
  const signal = options.signal
  if (signal?.aborted) {
    await iterator.return?.()
    throw new AbortError('The Parquet write was aborted', { cause: signal.reason })
  }

  let sourceError: unknown
  let sourceFinished = false
  let schema: Schema | undefined
  let rows = 0
  let count = 0
  let bytes = 0
  let footer: { rows: number; rowGroups: number } | undefined
  const tail: Buffer[] = []
  let tailBytes = 0

  const guard = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length
      tail.push(chunk)
      tailBytes += chunk.length
      while (tail.length > 1 && tailBytes - tail[0]!.length >= FOOTER_LIMIT) tailBytes -= tail.shift()!.length
      callback(null, chunk)
    },
    flush(callback) {
      // parquet-wasm ends its output normally even when its input failed: fail here instead.
      if (sourceError !== undefined) return callback(asError(sourceError))
      try {
        footer = footerCounts(Buffer.concat(tail))
        if (footer !== undefined && footer.rows !== rows) {
          throw new IntegrityError(`The Parquet writer produced ${footer.rows} rows but was given ${rows}`)
        }
        callback()
      } catch (err) {
        callback(asError(err))
      }
    },
  })
  const fail = (err: unknown): void => {
    if (sourceError === undefined) sourceError = err
    guard.destroy(asError(err))
  }
  const onAbort = (): void => fail(new AbortError('The Parquet write was aborted', { cause: signal?.reason }))
  signal?.addEventListener('abort', onAbort, { once: true })

  const accept = (value: unknown): RecordBatch => {
    if (!(value instanceof RecordBatch)) {
      throw new InvalidArgumentError(`Expected batch ${count} to be an arrow RecordBatch, got ${describeValue(value)}`, { argument: 'batches' })
    }
    if (schema === undefined) schema = value.schema
    else if (value.schema !== schema) checkSameSchema(schema, value.schema, count)
    count++
    return value
  }
  const next = async (): Promise<IteratorResult<RecordBatch>> => {
    try {
      return await iterator.next()
    } catch (err) {
      sourceFinished = true
      throw err
    }
  }

  // Read ahead to the first batch with rows before anything is created at the destination: a
  // source that fails at once (the listing of a missing bucket) rejects here and leaves
  // nothing behind, and a source of only empty batches still gives the file its schema.
  let primed: RecordBatch | undefined
  {
    let aborted: (() => void) | undefined
    const abortedPromise = new Promise<never>((_, reject) => {
      aborted = () => reject(new AbortError('The Parquet write was aborted', { cause: signal?.reason }))
      signal?.addEventListener('abort', aborted, { once: true })
    })
    abortedPromise.catch(() => undefined)
    try {
      for (;;) {
        const n = await Promise.race([next(), abortedPromise])
        if (n.done) {
          sourceFinished = true
          break
        }
        const batch = accept(n.value)
        primed ??= batch
        if (batch.numRows > 0) {
          primed = batch
          break
        }
      }
    } catch (err) {
      if (!sourceFinished) await iterator.return?.().catch(() => undefined)
      throw err
    } finally {
      if (aborted) signal?.removeEventListener('abort', aborted)
    }
  }
  if (primed === undefined) {
    throw new InvalidArgumentError(
      'Expected batches to hold at least one record batch (a Parquet file needs a schema); toRecordBatches gives an empty listing one batch of 0 rows',
      { argument: 'batches' },
    )
  }

  const input = new ReadableStream<ParquetWasm.RecordBatch>(
    {
      async pull(controller) {
        try {
          for (;;) {
            let batch: RecordBatch
            if (primed !== undefined) {
              // The batch read ahead; of 0 rows only when the source had no rows at all.
              batch = primed
              primed = undefined
            } else {
              if (sourceFinished) {
                controller.close()
                return
              }
              const n = await next()
              if (n.done) {
                sourceFinished = true
                controller.close()
                return
              }
              batch = accept(n.value)
              if (batch.numRows === 0) continue
            }
            rows += batch.numRows
            const table = pw.Table.fromIPCStream(tableToIPC(new Table([batch]), 'stream'))
            try {
              for (const b of table.recordBatches()) controller.enqueue(b)
            } finally {
              table.free()
            }
            return
          }
        } catch (err) {
          fail(err)
          controller.error(err)
        }
      },
    },
    { highWaterMark: 0 },
  )

  let sink: Writable
  let temporary: string | undefined
  let upload: ReturnType<typeof createWriteStream> | undefined
  if (isS3Destination(destination)) {
    upload = createWriteStream(destination.bucket, destination.key, {
      contentType: 'application/vnd.apache.parquet',
      ...options.upload,
      ...(signal ? { signal } : {}),
    })
    sink = upload
  } else if (typeof destination === 'string') {
    await mkdir(dirname(destination), { recursive: true })
    temporary = `${destination}.${randomBytes(6).toString('hex')}.partial`
    sink = createFileStream(temporary, { flags: 'wx' })
  } else {
    sink = destination
  }
  // Errors reach the caller through the pipeline (or the catch below), never as an unhandled
  // 'error' event of a sink the pipeline was not attached to yet.
  const ignore = (): void => undefined
  sink.on('error', ignore)

  try {
    const properties = new pw.WriterPropertiesBuilder().setCompression(pw.Compression[CODECS[compression]]).setMaxRowGroupSize(rowGroupRows).build()
    const parquet = await pw.transformParquetStream(input, properties)
    await pipeline(Readable.fromWeb(parquet as NodeWebReadableStream<Uint8Array>), guard, sink)
    const result: WriteParquetResult = { rows, batches: count, rowGroups: footer?.rowGroups ?? 0, bytes }
    if (upload !== undefined) result.upload = await upload.done
    if (temporary !== undefined) await rename(temporary, destination as string)
    temporary = undefined
    return result
  } catch (err) {
    if (!sink.destroyed) sink.destroy(asError(sourceError ?? err))
    // A file stream may still be opening its file: wait until it is closed, or the file could be
    // created after it was removed below.
    if (temporary !== undefined && !sink.closed) await new Promise((resolve) => sink.once('close', resolve))
    // The multipart sink settles `done` after it aborted the upload.
    if (upload !== undefined) await upload.done.catch(() => undefined)
    throw sourceError ?? err
  } finally {
    signal?.removeEventListener('abort', onAbort)
    if (temporary !== undefined) await rm(temporary, { force: true })
    // Let the source clean up (a listing aborts its requests) when the write stopped early.
    if (!sourceFinished) await iterator.return?.().catch(() => undefined)
  }
}

function checkSameSchema(expected: Schema, actual: Schema, index: number): void {
  const a = describeSchema(expected)
  const b = describeSchema(actual)
  if (a.length === b.length && a.every((f, i) => f === b[i])) return
  let detail: string
  if (a.length !== b.length) detail = `${b.length} columns instead of ${a.length}`
  else {
    const i = a.findIndex((f, j) => f !== b[j])
    detail = `column ${i} is ${b[i]} instead of ${a[i]}`
  }
  throw new InvalidArgumentError(
    `Batch ${index} has a different schema than the first batch: ${detail}. Every batch of one Parquet file must have the same schema.`,
    { argument: 'batches' },
  )
}

/**
 * Read a whole Parquet file (a local path or its bytes) into an Arrow Table, with the Arrow
 * types it was written with (dictionary columns, timestamp time zones). Memory: the file and
 * the table.
 *
 * @example
 * ```ts
 * const table = await readParquet('index.parquet')
 * console.log(table.numRows)
 * ```
 */
export async function readParquet(source: string | Uint8Array): Promise<Table> {
  const bytes = typeof source === 'string' ? await readFile(source) : source
  const pw = await loadParquetWasm()
  const table = pw.readParquet(bytes)
  return tableFromIPC(table.intoIPCStream())
}
