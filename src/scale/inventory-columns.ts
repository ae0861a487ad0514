/**
 * The columns of an S3 Inventory report and the Arrow batches readInventory yields. Internal.
 *
 * Output columns: the listing's (Key, LastModified, ETag, Size, StorageClass, with the types of
 * `listingSchema`) that the report has, then the report's other fields under their CSV names
 * (Bucket, VersionId, IsLatest, ...). Values the report leaves empty are nulls (a delete marker has
 * no size or ETag), so every column but Key is nullable.
 */
import {
  Bool,
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
  type Data,
  type DataType,
} from 'apache-arrow'

/** How a field's values are typed. */
export type FieldKind = 'key' | 'etag' | 'utf8' | 'dict' | 'int64' | 'timestamp' | 'bool'

/** One inventory field: its CSV name, its ORC/Parquet name, its output column and type. */
export interface InventoryField {
  csv: string
  parquet: string
  out: string
  kind: FieldKind
}

const f = (csv: string, parquet: string, kind: FieldKind, out = csv): InventoryField => ({ csv, parquet, out, kind })

/** The documented fields (AWS S3 Inventory, Athena DDL), in the documented order. */
export const INVENTORY_FIELDS: readonly InventoryField[] = [
  f('Bucket', 'bucket', 'utf8'),
  f('Key', 'key', 'key'),
  f('VersionId', 'version_id', 'utf8'),
  f('IsLatest', 'is_latest', 'bool'),
  f('IsDeleteMarker', 'is_delete_marker', 'bool'),
  f('Size', 'size', 'int64'),
  f('LastModifiedDate', 'last_modified_date', 'timestamp', 'LastModified'),
  f('ETag', 'e_tag', 'etag'),
  f('StorageClass', 'storage_class', 'dict'),
  f('IsMultipartUploaded', 'is_multipart_uploaded', 'bool'),
  f('ReplicationStatus', 'replication_status', 'utf8'),
  f('EncryptionStatus', 'encryption_status', 'utf8'),
  f('ObjectLockRetainUntilDate', 'object_lock_retain_until_date', 'timestamp'),
  f('ObjectLockMode', 'object_lock_mode', 'utf8'),
  f('ObjectLockLegalHoldStatus', 'object_lock_legal_hold_status', 'utf8'),
  f('IntelligentTieringAccessTier', 'intelligent_tiering_access_tier', 'utf8'),
  f('BucketKeyStatus', 'bucket_key_status', 'utf8'),
  f('ChecksumAlgorithm', 'checksum_algorithm', 'utf8'),
  f('ObjectAccessControlList', 'object_access_control_list', 'utf8'),
  f('ObjectOwner', 'object_owner', 'utf8'),
  f('LifecycleExpirationDate', 'lifecycle_expiration_date', 'timestamp'),
]

const BY_CSV = new Map(INVENTORY_FIELDS.map((x) => [x.csv.toLowerCase(), x]))
const BY_PARQUET = new Map(INVENTORY_FIELDS.map((x) => [x.parquet, x]))

/** The listing's columns, in the listing's order. */
const LISTING_ORDER = ['Key', 'LastModified', 'ETag', 'Size', 'StorageClass']

/** The field for a CSV column name (unknown names are kept as text columns). */
export function fieldOfCsvName(name: string): InventoryField {
  return BY_CSV.get(name.toLowerCase()) ?? { csv: name, parquet: name, out: name, kind: 'utf8' }
}

/** The field for an ORC/Parquet column name (unknown names are kept as text columns). */
export function fieldOfParquetName(name: string): InventoryField {
  return BY_PARQUET.get(name) ?? BY_CSV.get(name.replaceAll('_', '').toLowerCase()) ?? { csv: name, parquet: name, out: name, kind: 'utf8' }
}

/** Field names of a manifest's `fileSchema`: CSV `"Bucket, Key, Size"`, or a Parquet `message` / ORC `struct<>`. */
export function schemaFieldNames(fileSchema: string, format: string): string[] {
  if (format === 'CSV')
    return fileSchema
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
  if (format === 'Parquet') return [...fileSchema.matchAll(/(?:required|optional|repeated)\s+\w+\s+(\w+)/g)].map((m) => m[1]!)
  const inner = /struct<(.*)>/s.exec(fileSchema)?.[1] ?? ''
  return inner
    .split(',')
    .map((s) => s.split(':')[0]!.trim())
    .filter((s) => s !== '')
}

/** Output columns in output order: listing columns first, then the rest in report order. */
export function outputOrder(fields: readonly InventoryField[]): InventoryField[] {
  const listing = LISTING_ORDER.map((name) => fields.find((x) => x.out === name)).filter((x): x is InventoryField => x !== undefined)
  return [...listing, ...fields.filter((x) => !LISTING_ORDER.includes(x.out))]
}

function arrowType(kind: FieldKind, dictionary: Dictionary<Utf8, Int32>): DataType {
  switch (kind) {
    case 'key':
    case 'etag':
    case 'utf8':
      return new Utf8()
    case 'dict':
      return dictionary
    case 'int64':
      return new Int64()
    case 'timestamp':
      return new TimestampMillisecond('UTC')
    case 'bool':
      return new Bool()
  }
}

/** A value of a row: text, a number (sizes, epoch milliseconds), a boolean, or null. */
export type Cell = string | number | boolean | null

function validity(values: readonly Cell[]): { nullCount: number; nullBitmap?: Uint8Array } {
  let nulls: Uint8Array | undefined
  let nullCount = 0
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== null) continue
    nulls ??= new Uint8Array((values.length + 7) >> 3).fill(0xff)
    nulls[i >> 3]! &= ~(1 << (i & 7))
    nullCount++
  }
  return nulls ? { nullCount, nullBitmap: nulls } : { nullCount }
}

function utf8Data(values: readonly Cell[]): Data<Utf8> {
  const n = values.length
  const offsets = new Int32Array(n + 1)
  let total = 0
  for (let i = 0; i < n; i++) {
    const v = values[i]
    if (v !== null) total += Buffer.byteLength(v as string, 'utf8')
  }
  const bytes = Buffer.allocUnsafe(total)
  let pos = 0
  for (let i = 0; i < n; i++) {
    const v = values[i]
    if (v !== null) pos += bytes.write(v as string, pos, 'utf8')
    offsets[i + 1] = pos
  }
  return makeData({ type: new Utf8(), length: n, ...validity(values), valueOffsets: offsets, data: new Uint8Array(bytes.buffer, bytes.byteOffset, pos) })
}

function int64Data<T extends Int64 | TimestampMillisecond>(type: T, values: readonly Cell[]): Data<T> {
  const data = new BigInt64Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if (v !== null) data[i] = BigInt(v as number)
  }
  return makeData({ type: type as Int64, length: values.length, ...validity(values), data }) as unknown as Data<T>
}

function boolData(values: readonly Cell[]): Data<Bool> {
  const data = new Uint8Array((values.length + 7) >> 3)
  for (let i = 0; i < values.length; i++) if (values[i] === true) data[i >> 3]! |= 1 << (i & 7)
  return makeData({ type: new Bool(), length: values.length, ...validity(values), data })
}

/** A dictionary that grows by chunks, shared by every batch (as the listing's StorageClass). */
class GrowingDictionary {
  readonly type = new Dictionary(new Utf8(), new Int32())
  #index = new Map<string, number>()
  #chunks: Data<Utf8>[] = []
  #vector: Vector<Utf8> | undefined

  encode(values: readonly Cell[]): Data<Dictionary<Utf8, Int32>> {
    const indices = new Int32Array(values.length)
    let added: string[] | undefined
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      if (v === null) continue
      let at = this.#index.get(v as string)
      if (at === undefined) {
        at = this.#index.size
        this.#index.set(v as string, at)
        ;(added ??= []).push(v as string)
      }
      indices[i] = at
    }
    if (added !== undefined || this.#vector === undefined) {
      this.#chunks = [...this.#chunks, utf8Data(added ?? [])]
      this.#vector = new Vector(this.#chunks)
    }
    return makeData({ type: this.type, length: values.length, ...validity(values), data: indices, dictionary: this.#vector })
  }
}

/** Collects rows (one Cell per output column) and builds record batches of one schema. */
export class InventoryBatchBuilder {
  readonly schema: Schema
  readonly columns: readonly InventoryField[]
  #values: Cell[][]
  #dictionary = new GrowingDictionary()

  constructor(columns: readonly InventoryField[]) {
    this.columns = columns
    this.schema = new Schema(columns.map((c) => new Field(c.out, arrowType(c.kind, this.#dictionary.type), c.kind !== 'key')))
    this.#values = columns.map(() => [])
  }

  /** Rows collected and not built yet. */
  get length(): number {
    return this.#values[0]?.length ?? 0
  }

  /** Add one row: `cells[i]` is the value of `columns[i]`. */
  add(cells: readonly Cell[]): void {
    for (let i = 0; i < cells.length; i++) this.#values[i]!.push(cells[i]!)
  }

  /** A record batch of the rows collected so far (which are then forgotten). */
  build(): RecordBatch {
    const n = this.length
    const children = this.columns.map((c, i): Data => {
      const values = this.#values[i]!
      switch (c.kind) {
        case 'key':
        case 'etag':
        case 'utf8':
          return utf8Data(values)
        case 'dict':
          return this.#dictionary.encode(values)
        case 'int64':
          return int64Data(new Int64(), values)
        case 'timestamp':
          return int64Data(new TimestampMillisecond('UTC'), values)
        case 'bool':
          return boolData(values)
      }
    })
    this.#values = this.columns.map(() => [])
    return new RecordBatch(this.schema, makeData({ type: new Struct(this.schema.fields), length: n, nullCount: 0, children }))
  }
}
