/** The rows of an inventory data file: CSV (gzip or plain) and Parquet, cells typed by the report's fields. */
import { createReadStream, openAsBlob } from 'node:fs'
import { open } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { tableFromIPC, type Table } from 'apache-arrow'
import { BucketflowError, IntegrityError, InvalidArgumentError } from '../errors.js'
import { describeValue } from '../validate.js'
import { CsvParser, CsvSyntaxError } from './csv.js'
import type { VerifiedFile } from './fetch-verified.js'
import type { Cell, InventoryField } from './inventory-columns.js'
import { decodeInventoryKey } from './key-codec.js'

const parquetWasm = () => import('parquet-wasm')

/** A row: its (decoded) key and its cells, one per output column. */
export interface Row {
  key: string
  cells: Cell[]
}

/** Rows of a CSV data file. */
export async function* csvRows(
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

export function decodeKey(raw: string, bad: (message: string, cause?: unknown) => Error): string {
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
export async function openData(file: VerifiedFile): Promise<{ stream: Readable; gzip: boolean }> {
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
export async function* parquetRows(
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
