/**
 * `readInventory`: an S3 Inventory report as Arrow record batches, a listing source that costs
 * no LIST request: the listing's columns (Key, LastModified, ETag, Size, StorageClass, as far as the
 * report has them) then the report's other fields (Bucket, VersionId, IsLatest, ...).
 *
 * - CSV reports: gzip (one or more members), no header row, every value quoted, keys URL-encoded
 *   (`+` is a space, then percent-decoding; see {@link decodeInventoryKey}). Columns come from the
 *   manifest's `fileSchema`, in its order.
 * - Parquet reports: read with parquet-wasm, row group by row group, columns by name.
 * - ORC reports: {@link UnsupportedFormatError} (configure the inventory as CSV or Parquet).
 *
 * Values are made to match a listing: ETags get the quotes ListObjectsV2 gives them, times are
 * UTC milliseconds. Every data file is checked against the size and MD5 in the manifest before a
 * row of it is yielded (IntegrityError otherwise), so a consumer never acts on a corrupt file.
 *
 * An inventory is a snapshot, eventually consistent with the bucket: HEAD an object before acting
 * on it when that matters.
 *
 * Memory: up to `concurrency` verified data files (each in memory up to `spoolBytes`, larger ones
 * in a temporary file) plus one batch of `batchRows` rows (and one Parquet row group).
 *
 * @example
 * ```ts
 * import { readInventory, writeParquet } from 'bucketflow'
 * import { Bucket } from 'bucketflow'
 * const inventoryBucket = new Bucket('inventory-reports')
 * const batches = readInventory(inventoryBucket, 'inv/photos/daily/2024-05-01T01-00Z/manifest.json')
 * await writeParquet(batches, 'photos-index.parquet')
 * ```
 * @packageDocumentation
 */
import { createReadStream, openAsBlob } from 'node:fs'
import { open } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { tableFromIPC, type RecordBatch, type Table } from 'apache-arrow'
import type { BucketRef } from '../bucket-ref.js'
import { AbortError, BucketflowError, IntegrityError, InvalidArgumentError } from '../errors.js'
import { linkedController } from '../results.js'
import { describeValue, validateConcurrency, validateInteger, validateKey } from '../validate.js'
import { CsvParser, CsvSyntaxError } from './csv.js'
import { UnsupportedFormatError } from './errors.js'
import { DEFAULT_SPOOL_BYTES, fetchVerified, release, type VerifiedFile } from './fetch-verified.js'
import {
  fieldOfCsvName,
  fieldOfParquetName,
  InventoryBatchBuilder,
  outputOrder,
  schemaFieldNames,
  type Cell,
  type InventoryField,
} from './inventory-columns.js'
import { readInventoryManifest, type InventoryFile, type InventoryManifest } from './inventory-manifest.js'
import { decodeInventoryKey } from './key-codec.js'

/** Progress of {@link readInventory}, after each data file. */
export interface InventoryProgress {
  /** Data files read. */
  files: number
  filesTotal: number
  /** Rows yielded so far. */
  rows: number
  /** Bytes of data files downloaded and verified so far. */
  bytes: number
}

/** Options for {@link readInventory}. */
export interface ReadInventoryOptions {
  /** Data files downloaded ahead at once. Default 4. */
  concurrency?: number
  /**
   * Output columns to keep, by output name (Key, LastModified, ETag, Size, StorageClass, Bucket,
   * VersionId, IsLatest, ...), in the output's order. Default: every column the report has.
   */
  columns?: readonly string[]
  /** Check each data file's MD5 against the manifest. Default true. */
  verifyMd5?: boolean
  /** Check manifest.json against manifest.checksum (when the manifest is given by key). Default true. */
  verifyManifest?: boolean
  /** Keep only keys starting with this prefix. */
  prefix?: string
  /** Rows per yielded batch (the last one smaller). Default 65,536. */
  batchRows?: number
  /** Data files larger than this go to a temporary file instead of memory. Default 64 MiB. */
  spoolBytes?: number
  signal?: AbortSignal
  onProgress?: (progress: InventoryProgress) => void
}

const parquetWasm = () => import('parquet-wasm')

function isManifest(m: unknown): m is InventoryManifest {
  return m !== null && typeof m === 'object' && Array.isArray((m as InventoryManifest).files) && typeof (m as InventoryManifest).fileFormat === 'string'
}

/**
 * Read an inventory report (`manifest`: the key of its manifest.json in `bucket`, or a manifest
 * already read with {@link readInventoryManifest}) as Arrow record batches of one schema.
 *
 * @example
 * ```ts
 * import { Bucket } from 'bucketflow'
 * const inventoryBucket = new Bucket('inventory-reports')
 * const manifestKey = 'inv/photos/daily/2024-05-01T01-00Z/manifest.json'
 * let bytes = 0n
 * for await (const batch of readInventory(inventoryBucket, manifestKey, { columns: ['Key', 'Size'] })) {
 *   for (const size of batch.getChild('Size')!) bytes += size ?? 0n
 * }
 * ```
 */
export async function* readInventory(
  ref: BucketRef,
  manifest: string | InventoryManifest,
  options: ReadInventoryOptions = {},
): AsyncGenerator<RecordBatch, void, undefined> {
  const concurrency = options.concurrency ?? 4
  validateConcurrency(concurrency)
  const batchRows = options.batchRows ?? 65_536
  validateInteger(batchRows, 'batchRows', 1)
  const spoolBytes = options.spoolBytes ?? DEFAULT_SPOOL_BYTES
  validateInteger(spoolBytes, 'spoolBytes', 0)
  const prefix = options.prefix ?? ''
  if (typeof prefix !== 'string') throw new InvalidArgumentError(`Expected prefix to be a string, got ${describeValue(prefix)}`, { argument: 'prefix' })
  if (
    options.columns !== undefined &&
    (!Array.isArray(options.columns) || options.columns.length === 0 || options.columns.some((c) => typeof c !== 'string'))
  ) {
    throw new InvalidArgumentError(`Expected columns to be a non-empty array of column names, got ${describeValue(options.columns)}`, { argument: 'columns' })
  }
  if (typeof manifest === 'string') validateKey(manifest, ref.name, 'manifest')
  else if (!isManifest(manifest)) {
    throw new InvalidArgumentError(
      `Expected manifest to be the key of a manifest.json or a manifest from readInventoryManifest, got ${describeValue(manifest)}`,
      { argument: 'manifest' },
    )
  }
  const verifyMd5 = options.verifyMd5 ?? true
  const signal = options.signal
  const m =
    typeof manifest === 'string'
      ? await readInventoryManifest(ref, manifest, { verify: options.verifyManifest ?? true, ...(signal ? { signal } : {}) })
      : manifest
  if (m.fileFormat === 'ORC') {
    throw new UnsupportedFormatError(`s3://${ref.name}/${m.key}: ORC inventory reports are not read; configure the inventory as CSV or Parquet`, {
      format: 'ORC',
      bucket: ref.name,
      key: m.key,
    })
  }

  const names = schemaFieldNames(m.fileSchema, m.fileFormat)
  const fields = names.map((n) => (m.fileFormat === 'CSV' ? fieldOfCsvName(n) : fieldOfParquetName(n)))
  if (!fields.some((x) => x.kind === 'key')) {
    throw new InvalidArgumentError(`s3://${ref.name}/${m.key}: the manifest's fileSchema has no Key column (${describeValue(m.fileSchema)})`, {
      argument: 'manifest',
      bucket: ref.name,
      key: m.key,
    })
  }
  let columns = outputOrder(fields)
  if (options.columns !== undefined) {
    const wanted = options.columns
    const missing = wanted.filter((c) => !columns.some((x) => x.out === c))
    if (missing.length > 0) {
      throw new InvalidArgumentError(`Columns ${missing.join(', ')} are not in this inventory; it has ${columns.map((x) => x.out).join(', ')}`, {
        argument: 'columns',
      })
    }
    columns = columns.filter((x) => wanted.includes(x.out))
  }
  const builder = new InventoryBatchBuilder(columns)

  const { controller, dispose } = linkedController(signal)
  type Settled = { ok: true; file: VerifiedFile; entry: InventoryFile } | { ok: false; error: unknown }
  const window: Promise<Settled>[] = []
  let next = 0
  const fill = (): void => {
    while (window.length < concurrency && next < m.files.length) {
      const entry = m.files[next++]!
      window.push(
        fetchVerified(ref, entry.key, { size: entry.size, ...(verifyMd5 ? { md5: entry.MD5checksum } : {}) }, { spoolBytes, signal: controller.signal }).then(
          (file): Settled => ({ ok: true, file, entry }),
          (error: unknown): Settled => ({ ok: false, error }),
        ),
      )
    }
  }
  const progress: InventoryProgress = { files: 0, filesTotal: m.files.length, rows: 0, bytes: 0 }
  const aborted = (): AbortError => new AbortError('Reading the inventory was aborted', { bucket: ref.name, key: m.key, cause: signal?.reason })

  try {
    fill()
    while (window.length > 0) {
      const settled = await window.shift()!
      fill()
      if (signal?.aborted) throw aborted()
      if (!settled.ok) throw settled.error
      try {
        const rows =
          m.fileFormat === 'CSV'
            ? csvRows(settled.file, fields, columns, ref.name, settled.entry.key)
            : parquetRows(settled.file, fields, columns, ref.name, settled.entry.key)
        for await (const { key, cells } of rows) {
          if (prefix !== '' && !key.startsWith(prefix)) continue
          builder.add(cells)
          if (builder.length >= batchRows) {
            progress.rows += builder.length
            yield builder.build()
            if (signal?.aborted) throw aborted()
          }
        }
      } finally {
        await release(settled.file)
      }
      progress.files++
      progress.bytes += settled.entry.size
      options.onProgress?.({ ...progress, rows: progress.rows + builder.length })
    }
    if (builder.length > 0) {
      progress.rows += builder.length
      yield builder.build()
    }
  } finally {
    controller.abort(new AbortError('The consumer stopped', { bucket: ref.name, key: m.key }))
    for (const pending of window.splice(0)) {
      const settled = await pending
      if (settled.ok) await release(settled.file)
    }
    dispose()
  }
}

/** A row: its (decoded) key and its cells, one per output column. */
interface Row {
  key: string
  cells: Cell[]
}

/** Rows of a CSV data file. */
async function* csvRows(
  file: VerifiedFile,
  fields: readonly InventoryField[],
  columns: readonly InventoryField[],
  bucket: string,
  key: string,
): AsyncGenerator<Row> {
  const at = columns.map((c) => fields.indexOf(c))
  const keyIndex = fields.findIndex((x) => x.kind === 'key')
  const parser = new CsvParser()
  const bad = (message: string, record: number, cause?: unknown) =>
    new IntegrityError(`s3://${bucket}/${key}: record ${record}: ${message}`, { bucket, key, ...(cause === undefined ? {} : { cause }) })
  const convert = function* (rows: string[][], firstRecord: number): Generator<Row> {
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!
      const record = firstRecord + r
      if (row.length !== fields.length) throw bad(`${row.length} values, the manifest's fileSchema has ${fields.length} columns`, record)
      const fail = (message: string, cause?: unknown) => bad(message, record, cause)
      const cells: Cell[] = new Array(at.length)
      let rowKey: string | undefined
      for (let i = 0; i < at.length; i++) {
        const cell = csvCell(row[at[i]!]!, columns[i]!, fail)
        if (at[i] === keyIndex) rowKey = cell as string
        cells[i] = cell
      }
      yield { key: rowKey ?? decodeKey(row[keyIndex]!, fail), cells }
    }
  }
  const source = await openData(file)
  const text = (source.gzip ? source.stream.pipe(createGunzip()) : source.stream).setEncoding('utf8')
  try {
    for await (const chunk of text as AsyncIterable<string>) {
      const first = parser.records + 1
      yield* convert(parser.push(chunk), first)
    }
    const first = parser.records + 1
    yield* convert(parser.end(), first)
  } catch (err) {
    if (err instanceof CsvSyntaxError) throw bad(err.message.replace(/ \(record \d+\)$/, ''), err.record, err)
    if (err instanceof BucketflowError) throw err
    throw new IntegrityError(`s3://${bucket}/${key}: cannot decompress: ${(err as Error).message}`, { bucket, key, cause: err })
  } finally {
    source.stream.destroy()
    text.destroy()
  }
}

function decodeKey(raw: string, bad: (message: string, cause?: unknown) => Error): string {
  try {
    const key = decodeInventoryKey(raw)
    if (key === '') throw bad('an empty key')
    return key
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw bad(`undecodable key ${describeValue(raw)}`, err)
    throw err
  }
}

function csvCell(raw: string, field: InventoryField, bad: (message: string, cause?: unknown) => Error): Cell {
  switch (field.kind) {
    case 'key':
      return decodeKey(raw, bad)
    case 'etag':
      return raw === '' ? null : `"${raw}"`
    case 'utf8':
    case 'dict':
      return raw === '' ? null : raw
    case 'int64': {
      if (raw === '') return null
      const n = Number(raw)
      if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw bad(`${field.csv} is not a size: ${describeValue(raw)}`)
      return n
    }
    case 'timestamp': {
      if (raw === '') return null
      const t = Date.parse(raw)
      if (Number.isNaN(t)) throw bad(`${field.csv} is not a time: ${describeValue(raw)}`)
      return t
    }
    case 'bool': {
      const v = raw.toLowerCase()
      if (v === '') return null
      if (v === 'true') return true
      if (v === 'false') return false
      throw bad(`${field.csv} is not true or false: ${describeValue(raw)}`)
    }
  }
}

/** The bytes of a data file as a stream, and whether they are gzip (by their magic number). */
async function openData(file: VerifiedFile): Promise<{ stream: Readable; gzip: boolean }> {
  if (file.kind === 'memory') {
    return { stream: Readable.from([file.bytes], { objectMode: false }), gzip: file.bytes[0] === 0x1f && file.bytes[1] === 0x8b }
  }
  const handle = await open(file.path, 'r')
  const head = Buffer.alloc(2)
  try {
    await handle.read(head, 0, 2, 0)
  } finally {
    await handle.close()
  }
  return { stream: createReadStream(file.path), gzip: head[0] === 0x1f && head[1] === 0x8b }
}

/** Rows of a Parquet data file, row group by row group. */
async function* parquetRows(
  file: VerifiedFile,
  fields: readonly InventoryField[],
  columns: readonly InventoryField[],
  bucket: string,
  key: string,
): AsyncGenerator<Row> {
  const pw = await parquetWasm()
  const blob = file.kind === 'memory' ? new Blob([file.bytes as Uint8Array<ArrayBuffer>]) : await openAsBlob(file.path)
  const keyField = fields.find((x) => x.kind === 'key')!
  let parquet: import('parquet-wasm').ParquetFile | undefined
  try {
    parquet = await pw.ParquetFile.fromFile(blob)
    const stream = (await parquet.stream({ batchSize: 8192 })) as unknown as AsyncIterable<{ intoIPCStream(): Uint8Array }>
    for await (const wasmBatch of stream) {
      const table = tableFromIPC(wasmBatch.intoIPCStream())
      yield* tableRows(table, columns, keyField, bucket, key)
    }
  } catch (err) {
    if (err instanceof BucketflowError) throw err
    throw new IntegrityError(`s3://${bucket}/${key}: not a readable Parquet inventory file: ${err instanceof Error ? err.message : String(err)}`, {
      bucket,
      key,
      cause: err,
    })
  } finally {
    parquet?.free()
  }
}

function* tableRows(table: Table, columns: readonly InventoryField[], keyField: InventoryField, bucket: string, key: string): Generator<Row> {
  const column = (name: string) => {
    const v = table.getChild(name)
    if (v === null) throw new IntegrityError(`s3://${bucket}/${key}: the Parquet file has no column ${name}`, { bucket, key })
    return v
  }
  const vectors = columns.map((c) => column(c.parquet))
  const keyVector = column(keyField.parquet)
  const units = vectors.map((v) => (v.type as { unit?: number }).unit)
  for (let row = 0; row < table.numRows; row++) {
    const cells: Cell[] = new Array(columns.length)
    for (let i = 0; i < columns.length; i++) cells[i] = parquetCell(vectors[i]!.get(row), columns[i]!, units[i])
    const rowKey = keyVector.get(row)
    if (typeof rowKey !== 'string' || rowKey === '') throw new IntegrityError(`s3://${bucket}/${key}: row ${row} has no key`, { bucket, key })
    yield { key: rowKey, cells }
  }
}

/** Arrow TimeUnit: 0 s, 1 ms, 2 us, 3 ns. */
function toMillis(v: unknown, unit: number | undefined): number | null {
  if (v === null || v === undefined) return null
  if (v instanceof Date) return v.getTime()
  const n = typeof v === 'bigint' ? Number(v) : Number(v)
  // apache-arrow returns epoch milliseconds for every timestamp unit when it returns a number.
  if (typeof v === 'bigint') return unit === 0 ? n * 1000 : unit === 2 ? Math.trunc(n / 1000) : unit === 3 ? Math.trunc(n / 1e6) : n
  return n
}

function parquetCell(v: unknown, field: InventoryField, unit: number | undefined): Cell {
  if (v === null || v === undefined) return null
  switch (field.kind) {
    case 'key':
      return String(v)
    case 'etag':
      return v === '' ? null : `"${String(v)}"`
    case 'utf8':
    case 'dict':
      return v === '' ? null : String(v)
    case 'int64':
      return typeof v === 'bigint' ? Number(v) : Number(v)
    case 'timestamp':
      return toMillis(v, unit)
    case 'bool':
      return Boolean(v)
  }
}
