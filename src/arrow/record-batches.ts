/**
 * Listing pages -> Arrow record batches with the columns of hostess's `df()`: Key (utf8),
 * LastModified (timestamp ms, UTC), ETag (utf8), Size (int64), StorageClass (utf8,
 * dictionary-encoded), and on request Owner and ChecksumAlgorithm (utf8, nullable).
 *
 * Every batch has the same schema (for a given column list, in every call: one `Schema` and one
 * dictionary type per column list), so batches can go straight into one Table or one Parquet
 * file, even from several calls. Columns are built from hand-made buffers (one UTF-8 buffer and Int32 offsets per string
 * column, 64-bit integers written as two 32-bit words), about 6x faster than arrow's builders.
 * Memory: one output batch (a page, or `batchRows` rows) plus a reused scratch buffer.
 *
 * @example
 * ```ts
 * import { listPartitioned, toRecordBatches } from 'bucketflow'
 * for await (const batch of toRecordBatches(listPartitioned(bucket, { concurrency: 16 }))) {
 *   console.log(batch.numRows, batch.getChild('Key')?.get(0))
 * }
 * ```
 * @packageDocumentation
 */
import { endianness } from 'node:os'
import {
  type Data,
  Dictionary,
  Field,
  Int32,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  TimestampMillisecond,
  Utf8,
  Vector,
  type DataType,
} from 'apache-arrow'
import type { ObjectEntry } from '../stages/list.js'
import { validateInteger } from '../validate.js'
import { DEFAULT_LISTING_COLUMNS, validateColumns, type ListingColumn } from './columns.js'

export { DEFAULT_LISTING_COLUMNS, LISTING_COLUMNS, validateColumns, type ListingColumn } from './columns.js'

/** Options for {@link toRecordBatches}. */
export interface RecordBatchOptions {
  /** Columns, in this order. Default Key, LastModified, ETag, Size, StorageClass. */
  columns?: readonly ListingColumn[]
  /**
   * Rows per batch: pages are coalesced (and split) into batches of exactly this many rows, the
   * last one smaller. Default: one batch per (non-empty) page.
   */
  batchRows?: number
}

/** Anything with the objects of a listing page. */
export interface PageLike {
  objects: readonly ObjectEntry[]
}

const storageClassType = new Dictionary(new Utf8(), new Int32())

function fieldFor(column: ListingColumn): Field {
  switch (column) {
    case 'Key':
      return new Field('Key', new Utf8(), false)
    case 'LastModified':
      return new Field('LastModified', new TimestampMillisecond('UTC'), true)
    case 'ETag':
      return new Field('ETag', new Utf8(), false)
    case 'Size':
      return new Field('Size', new Int64(), false)
    case 'StorageClass':
      return new Field('StorageClass', storageClassType, false)
    case 'Owner':
      return new Field('Owner', new Utf8(), true)
    case 'ChecksumAlgorithm':
      return new Field('ChecksumAlgorithm', new Utf8(), true)
  }
}

const schemas = new Map<string, Schema>()

/**
 * The Arrow schema of a listing table with these columns. The same `Schema` object (with the
 * same dictionary type) is returned for the same column list, so batches of different calls can
 * share a Table or a Parquet file.
 */
export function listingSchema(columns: readonly ListingColumn[] = DEFAULT_LISTING_COLUMNS): Schema {
  validateColumns(columns)
  const id = columns.join(',')
  let schema = schemas.get(id)
  if (schema === undefined) {
    schema = new Schema(columns.map(fieldFor))
    schemas.set(id, schema)
  }
  return schema
}

const LITTLE_ENDIAN = endianness() === 'LE'
const TWO_32 = 4294967296

/** Encodes string columns into exact-size UTF-8 buffers through one reused scratch buffer. */
class StringEncoder {
  #scratch = Buffer.allocUnsafe(1 << 16)

  encode(rows: readonly ObjectEntry[], get: (e: ObjectEntry) => string | undefined): Data<Utf8> {
    const n = rows.length
    let cap = 0
    for (let i = 0; i < n; i++) cap += (get(rows[i]!)?.length ?? 0) * 3
    if (this.#scratch.length < cap) this.#scratch = Buffer.allocUnsafe(Math.max(cap, this.#scratch.length * 2))
    const buf = this.#scratch
    const offsets = new Int32Array(n + 1)
    let nulls: Uint8Array | undefined
    let nullCount = 0
    let pos = 0
    for (let i = 0; i < n; i++) {
      const s = get(rows[i]!)
      if (s === undefined) {
        nulls ??= validAll(n)
        nulls[i >> 3]! &= ~(1 << (i & 7))
        nullCount++
      } else {
        // ASCII in a plain loop (most keys); the rest of a string with a non-ASCII character
        // through Buffer.write.
        const len = s.length
        let j = 0
        for (; j < len; j++) {
          const c = s.charCodeAt(j)
          if (c >= 0x80) break
          buf[pos++] = c
        }
        if (j < len) pos += buf.write(j === 0 ? s : s.slice(j), pos, 'utf8')
      }
      offsets[i + 1] = pos
    }
    // Copy out exactly the bytes used: the scratch buffer is reused for the next column.
    const bytes = new Uint8Array(pos)
    bytes.set(buf.subarray(0, pos))
    return makeData({ type: new Utf8(), length: n, nullCount, ...(nulls ? { nullBitmap: nulls } : {}), valueOffsets: offsets, data: bytes })
  }
}

function validAll(n: number): Uint8Array {
  return new Uint8Array((n + 7) >> 3).fill(0xff)
}

/** Int64-backed columns (sizes, millisecond timestamps) written as lo/hi 32-bit words: no BigInt per value. */
function int64Words<T extends Int64 | TimestampMillisecond>(type: T, rows: readonly ObjectEntry[], get: (e: ObjectEntry) => number | undefined): Data<T> {
  const n = rows.length
  const values = new BigInt64Array(n)
  const words = new Uint32Array(values.buffer)
  let nulls: Uint8Array | undefined
  let nullCount = 0
  for (let i = 0; i < n; i++) {
    const v = get(rows[i]!)
    if (v === undefined || !Number.isFinite(v)) {
      nulls ??= validAll(n)
      nulls[i >> 3]! &= ~(1 << (i & 7))
      nullCount++
      continue
    }
    if (LITTLE_ENDIAN) {
      const hi = Math.floor(v / TWO_32)
      words[2 * i] = v - hi * TWO_32
      words[2 * i + 1] = hi
    } else {
      values[i] = BigInt(Math.trunc(v))
    }
  }
  const props = { type: type as Int64, length: n, nullCount, ...(nulls ? { nullBitmap: nulls } : {}), data: values }
  return makeData(props) as unknown as Data<T>
}

/** A growing dictionary: each new set of values is appended as one more chunk (an IPC delta). */
class StorageClassDictionary {
  #index = new Map<string, number>()
  #chunks: Data<Utf8>[] = []
  #vector: Vector<Utf8> | undefined
  #encoder = new StringEncoder()

  encode(rows: readonly ObjectEntry[]): Data<Dictionary<Utf8, Int32>> {
    const n = rows.length
    const indices = new Int32Array(n)
    let added: string[] | undefined
    for (let i = 0; i < n; i++) {
      const value = rows[i]!.storageClass
      let at = this.#index.get(value)
      if (at === undefined) {
        at = this.#index.size
        this.#index.set(value, at)
        ;(added ??= []).push(value)
      }
      indices[i] = at
    }
    if (added !== undefined || this.#vector === undefined) {
      const values = added ?? []
      this.#chunks = [
        ...this.#chunks,
        this.#encoder.encode(
          values.map((storageClass) => ({ storageClass }) as ObjectEntry),
          (e) => e.storageClass,
        ),
      ]
      this.#vector = new Vector(this.#chunks)
    }
    return makeData({ type: storageClassType, length: n, nullCount: 0, data: indices, dictionary: this.#vector })
  }
}

/** Builds record batches of one schema from listing entries. */
export class ListingBatchBuilder {
  readonly schema: Schema
  readonly columns: readonly ListingColumn[]
  #strings = new StringEncoder()
  #storageClass = new StorageClassDictionary()

  constructor(columns: readonly ListingColumn[] = DEFAULT_LISTING_COLUMNS) {
    this.schema = listingSchema(columns)
    this.columns = columns
  }

  /** One record batch holding these entries. */
  build(rows: readonly ObjectEntry[]): RecordBatch {
    const children = this.columns.map((column): Data<DataType> => {
      switch (column) {
        case 'Key':
          return this.#strings.encode(rows, (e) => e.key)
        case 'LastModified':
          return int64Words(new TimestampMillisecond('UTC'), rows, (e) => e.lastModified?.getTime())
        case 'ETag':
          return this.#strings.encode(rows, (e) => e.etag)
        case 'Size':
          return int64Words(new Int64(), rows, (e) => e.size)
        case 'StorageClass':
          return this.#storageClass.encode(rows)
        case 'Owner':
          return this.#strings.encode(rows, (e) => e.owner)
        case 'ChecksumAlgorithm':
          return this.#strings.encode(rows, (e) => e.checksumAlgorithm)
      }
    })
    const data = makeData({ type: new Struct(this.schema.fields), length: rows.length, nullCount: 0, children })
    return new RecordBatch(this.schema, data)
  }
}

/**
 * A stage: listing pages in, Arrow record batches out, one fixed schema for every batch
 * ({@link listingSchema}). Empty pages make no batch, but a listing with no rows at all yields
 * one batch of 0 rows, so the schema reaches a writer (an empty listing is a valid empty file).
 *
 * @example
 * ```ts
 * import { listPages, toRecordBatches, writeParquet } from 'bucketflow'
 * const batches = toRecordBatches(listPages(bucket, { prefix: 'logs/' }), { batchRows: 65536 })
 * await writeParquet(batches, 'logs-index.parquet')
 * ```
 */
export async function* toRecordBatches(
  pages: AsyncIterable<PageLike> | Iterable<PageLike>,
  options: RecordBatchOptions = {},
): AsyncGenerator<RecordBatch, void, undefined> {
  const columns = options.columns ?? DEFAULT_LISTING_COLUMNS
  validateColumns(columns)
  if (options.batchRows !== undefined) validateInteger(options.batchRows, 'batchRows', 1)
  const builder = new ListingBatchBuilder(columns)
  const batchRows = options.batchRows
  let rows = 0
  if (batchRows === undefined) {
    for await (const page of pages) {
      if (page.objects.length === 0) continue
      rows += page.objects.length
      yield builder.build(page.objects)
    }
    if (rows === 0) yield builder.build([])
    return
  }
  let pending: ObjectEntry[] = []
  for await (const page of pages) {
    let from = 0
    const objects = page.objects
    rows += objects.length
    while (from < objects.length) {
      const take = Math.min(batchRows - pending.length, objects.length - from)
      if (pending.length === 0 && take === batchRows) {
        yield builder.build(from === 0 && take === objects.length ? objects : objects.slice(from, from + take))
      } else {
        for (let i = from; i < from + take; i++) pending.push(objects[i]!)
        if (pending.length === batchRows) {
          yield builder.build(pending)
          pending = []
        }
      }
      from += take
    }
  }
  if (pending.length > 0 || rows === 0) yield builder.build(pending)
}
