/**
 * NDJSON lines -> Arrow record batches with one fixed schema, for Parquet log objects. A line
 * that is not a JSON object, or does not fit the schema, becomes an error record (its line
 * number, the reason, and the line itself) instead of a row: never dropped.
 *
 * Fitting (no silent coercion): `utf8` takes a string as it is and any other JSON value as its
 * JSON text; `bool` a boolean; integer types an integer number in range; float types a number;
 * `timestamp` an ISO 8601 string or a number in the column's unit; `date32` an ISO date string.
 * A missing or null field is null if the field is nullable, an error otherwise; a field that is
 * not in the schema is an error.
 *
 * Inference (no schema given): from the first `inferRecords` JSON objects, the fields in order
 * of first appearance, all nullable, each of the kind most of its values have: `bool`,
 * `float64` for numbers (integers too: a later 2.5 still fits), `utf8` for strings, and objects
 * or arrays as JSON text (`utf8`); a tie is `utf8`. The schema is then fixed for the whole
 * stream, so the few records of another kind (a `"three"` among numbers) go to the error objects
 * like any later record that does not fit.
 *
 * @example
 * ```ts
 * const schema = schemaFromJson({ ts: 'timestamp[ms, UTC]', level: 'utf8', latency: 'float64' })
 * ```
 * @packageDocumentation
 */
import { isUtf8 } from 'node:buffer'
import {
  Bool,
  DataType,
  DateDay,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  LargeUtf8,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Type,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  vectorFromArray,
  type Timestamp,
} from 'apache-arrow'
import { InvalidArgumentError } from '../errors.js'
import { describeValue } from '../validate.js'

/** A line that is not a record of the schema. */
export interface ErrorLine {
  /** 1-based line number within the object's lines. */
  line: number
  reason: string
  /** The line's bytes (without its newline). */
  raw: Buffer
}

/** Type names of {@link schemaFromJson} (pyarrow's spelling). */
const TYPE_NAMES: Record<string, () => DataType> = {
  utf8: () => new Utf8(),
  string: () => new Utf8(),
  large_utf8: () => new LargeUtf8(),
  large_string: () => new LargeUtf8(),
  bool: () => new Bool(),
  boolean: () => new Bool(),
  int8: () => new Int8(),
  int16: () => new Int16(),
  int32: () => new Int32(),
  int64: () => new Int64(),
  uint8: () => new Uint8(),
  uint16: () => new Uint16(),
  uint32: () => new Uint32(),
  uint64: () => new Uint64(),
  float32: () => new Float32(),
  float: () => new Float32(),
  float64: () => new Float64(),
  double: () => new Float64(),
  date32: () => new DateDay(),
  date: () => new DateDay(),
}

function timestampType(unit: string, tz: string | null): DataType {
  switch (unit) {
    case 's':
      return new TimestampSecond(tz)
    case 'ms':
      return new TimestampMillisecond(tz)
    case 'us':
      return new TimestampMicrosecond(tz)
    case 'ns':
      return new TimestampNanosecond(tz)
  }
  throw new InvalidArgumentError(`Unknown timestamp unit ${JSON.stringify(unit)} (expected s, ms, us or ns)`, { argument: 'schema' })
}

function parseTypeName(name: unknown, field: string): DataType {
  if (typeof name !== 'string')
    throw new InvalidArgumentError(`Expected the type of field ${JSON.stringify(field)} to be a string, got ${describeValue(name)}`, { argument: 'schema' })
  const simple = TYPE_NAMES[name.trim().toLowerCase()]
  if (simple) return simple()
  const ts = /^timestamp(?:\[\s*(s|ms|us|ns)\s*(?:,\s*(?:tz\s*=\s*)?([^\]]+?)\s*)?\])?$/i.exec(name.trim())
  if (ts) return timestampType((ts[1] ?? 'ms').toLowerCase(), ts[1] === undefined ? 'UTC' : (ts[2] ?? null))
  throw new InvalidArgumentError(
    `Unknown type ${JSON.stringify(name)} for field ${JSON.stringify(field)}; known: ${Object.keys(TYPE_NAMES).join(', ')}, timestamp[s|ms|us|ns(, TZ)]`,
    { argument: 'schema' },
  )
}

/**
 * An Arrow schema from JSON: `{ "name": "type", ... }` (all nullable) or
 * `{ "fields": [{ "name", "type", "nullable"? }] }`. Types: utf8 (string), large_utf8, bool,
 * int8..int64, uint8..uint64, float32, float64 (double), date32 (date), `timestamp[ms, UTC]`
 * (also s, us, ns; no zone: a local timestamp; plain `timestamp` is ms UTC).
 *
 * @example
 * ```ts
 * schemaFromJson({ fields: [{ name: 'ts', type: 'timestamp[ms, UTC]', nullable: false }, { name: 'msg', type: 'utf8' }] })
 * ```
 */
export function schemaFromJson(json: unknown): Schema {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new InvalidArgumentError(`Expected a schema object ({ "field": "type" } or { "fields": [...] }), got ${describeValue(json)}`, { argument: 'schema' })
  }
  const obj = json as Record<string, unknown>
  const list: { name: string; type: unknown; nullable?: unknown }[] = Array.isArray(obj.fields)
    ? (obj.fields as { name: string; type: unknown; nullable?: unknown }[])
    : Object.entries(obj).map(([name, type]) => ({ name, type }))
  if (list.length === 0) throw new InvalidArgumentError('A schema needs at least one field', { argument: 'schema' })
  const names = new Set<string>()
  const fields = list.map((f) => {
    if (f === null || typeof f !== 'object' || typeof f.name !== 'string' || f.name === '') {
      throw new InvalidArgumentError(`Expected each field to have a non-empty name, got ${describeValue(f)}`, { argument: 'schema' })
    }
    if (names.has(f.name)) throw new InvalidArgumentError(`Field ${JSON.stringify(f.name)} appears twice`, { argument: 'schema' })
    names.add(f.name)
    if (f.nullable !== undefined && typeof f.nullable !== 'boolean') {
      throw new InvalidArgumentError(`Expected nullable of field ${JSON.stringify(f.name)} to be a boolean`, { argument: 'schema' })
    }
    return new Field(f.name, parseTypeName(f.type, f.name), f.nullable ?? true)
  })
  return new Schema(fields)
}

/**
 * The JSON form of a schema ({@link schemaFromJson} reads it back).
 *
 * @example
 * ```ts
 * schemaToJson(schemaFromJson({ n: 'int64' })) // { fields: [{ name: 'n', type: 'int64', nullable: true }] }
 * ```
 */
export function schemaToJson(schema: Schema): { fields: { name: string; type: string; nullable: boolean }[] } {
  return {
    fields: schema.fields.map((f) => {
      const t = f.type as DataType
      let type: string
      if (DataType.isTimestamp(t)) {
        const ts = t as Timestamp
        type = `timestamp[${['s', 'ms', 'us', 'ns'][ts.unit]}${ts.timezone ? `, ${ts.timezone}` : ''}]`
      } else type = typeName(t)
      return { name: f.name, type, nullable: f.nullable }
    }),
  }
}

function typeName(t: DataType): string {
  switch (t.typeId) {
    case Type.Utf8:
      return 'utf8'
    case Type.LargeUtf8:
      return 'large_utf8'
    case Type.Bool:
      return 'bool'
    case Type.Date:
      return 'date32'
    case Type.Int: {
      const i = t as Int8
      return `${i.isSigned ? 'int' : 'uint'}${i.bitWidth}`
    }
    case Type.Float:
      return (t as Float32).precision === 1 ? 'float32' : 'float64'
  }
  return String(t)
}

/** A value that does not fit: the reason. */
class Misfit {
  constructor(readonly reason: string) {}
}

type Convert = (value: unknown) => unknown

const INT_RANGE: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 2 ** 32 - 1],
  uint64: [0, Number.MAX_SAFE_INTEGER],
}

const UNIT_PER_MS = [1 / 1000, 1, 1000, 1_000_000]

function converter(field: Field): Convert {
  const t = field.type as DataType
  const name = JSON.stringify(field.name)
  const expected = (what: string, v: unknown) => new Misfit(`field ${name}: expected ${what}, got ${JSON.stringify(v)?.slice(0, 60) ?? String(v)}`)
  switch (t.typeId) {
    case Type.Utf8:
    case Type.LargeUtf8:
      return (v) => (typeof v === 'string' ? v : JSON.stringify(v))
    case Type.Bool:
      return (v) => (typeof v === 'boolean' ? v : expected('a boolean', v))
    case Type.Float:
      return (v) => (typeof v === 'number' ? v : expected('a number', v))
    case Type.Int: {
      const kind = typeName(t)
      const [min, max] = INT_RANGE[kind]!
      const big = (t as Int64).bitWidth === 64
      return (v) => {
        if (typeof v !== 'number' || !Number.isInteger(v)) return expected(`an integer (${kind})`, v)
        if (v < min || v > max) return expected(`an integer between ${min} and ${max} (${kind})`, v)
        return big ? BigInt(v) : v
      }
    }
    case Type.Timestamp: {
      const perMs = UNIT_PER_MS[(t as Timestamp).unit]!
      return (v) => {
        if (typeof v === 'number') return Number.isFinite(v) ? v : expected('a timestamp', v)
        if (typeof v === 'string') {
          const ms = Date.parse(v)
          if (Number.isNaN(ms)) return expected('an ISO 8601 timestamp', v)
          return ms * perMs
        }
        return expected('a timestamp (ISO 8601 string or number)', v)
      }
    }
    case Type.Date:
      return (v) => {
        if (typeof v !== 'string') return expected('a date string', v)
        const ms = Date.parse(v)
        return Number.isNaN(ms) ? expected('an ISO 8601 date', v) : new Date(ms)
      }
  }
  throw new InvalidArgumentError(
    `Field ${name} has type ${String(t)}, which NDJSON lines cannot be turned into; use utf8, bool, int*, uint*, float*, timestamp or date32`,
    {
      argument: 'schema',
    },
  )
}

/** Check that every field of a schema can be filled from JSON (throws InvalidArgumentError). */
export function validateLogSchema(schema: unknown): asserts schema is Schema {
  if (!(schema instanceof Schema))
    throw new InvalidArgumentError(`Expected schema to be an apache-arrow Schema, got ${describeValue(schema)}`, { argument: 'schema' })
  if (schema.fields.length === 0) throw new InvalidArgumentError('A schema needs at least one field', { argument: 'schema' })
  for (const f of schema.fields) converter(f)
}

/**
 * Infer a schema from sample records (see the module documentation).
 *
 * @example
 * ```ts
 * inferSchema([{ a: 1, b: 'x' }, { a: 2.5, c: true }]) // a: float64, b: utf8, c: bool
 * ```
 */
export function inferSchema(records: readonly Record<string, unknown>[]): Schema {
  const kinds = new Map<string, Map<string, number>>()
  for (const r of records) {
    for (const [k, v] of Object.entries(r)) {
      let counts = kinds.get(k)
      if (!counts) kinds.set(k, (counts = new Map()))
      if (v === null || v === undefined) continue
      // Strings and JSON text are both stored as utf8: they count as one kind.
      const kind = typeof v === 'object' || typeof v === 'string' ? 'text' : typeof v
      counts.set(kind, (counts.get(kind) ?? 0) + 1)
    }
  }
  const fields = [...kinds].map(([name, counts]) => {
    const ranked = [...counts].sort((a, b) => b[1] - a[1])
    const top = ranked[0] !== undefined && (ranked[1] === undefined || ranked[1][1] < ranked[0][1]) ? ranked[0][0] : 'text'
    const type = top === 'boolean' ? new Bool() : top === 'number' ? new Float64() : new Utf8()
    return new Field(name, type, true)
  })
  return new Schema(fields)
}

/** Parse one line into a JSON object, or say why not. */
export function parseRecord(raw: Buffer): Record<string, unknown> | string {
  let end = raw.length
  if (end > 0 && raw[end - 1] === 0x0d) end--
  if (end === 0) return 'empty line'
  let value: unknown
  try {
    value = JSON.parse(raw.toString('utf8', 0, end))
  } catch (err) {
    return `not valid JSON: ${(err as Error).message}`
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return `not a JSON object (a ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})`
  return value as Record<string, unknown>
}

/**
 * Collects records that fit a schema into record batches of `batchRows` rows. Memory: one
 * batch of JavaScript values.
 */
export class BatchBuilder {
  readonly schema: Schema
  readonly #convert: Convert[]
  readonly #names: string[]
  readonly #known: Set<string>
  readonly #nullable: boolean[]
  #columns: unknown[][]
  #rows = 0

  constructor(schema: Schema) {
    this.schema = schema
    this.#convert = schema.fields.map(converter)
    this.#names = schema.fields.map((f) => f.name)
    this.#known = new Set(this.#names)
    this.#nullable = schema.fields.map((f) => f.nullable)
    this.#columns = this.#names.map(() => [])
  }

  get rows(): number {
    return this.#rows
  }

  /** Add a record; returns the reason when it does not fit (nothing is added then). */
  add(record: Record<string, unknown>): string | undefined {
    for (const k of Object.keys(record)) {
      if (!this.#known.has(k)) return `field ${JSON.stringify(k)} is not in the schema`
    }
    const row: unknown[] = new Array(this.#names.length)
    for (let i = 0; i < this.#names.length; i++) {
      const v = record[this.#names[i]!]
      if (v === undefined || v === null) {
        if (!this.#nullable[i]) return `field ${JSON.stringify(this.#names[i])} is ${v === null ? 'null' : 'missing'} and not nullable`
        row[i] = null
        continue
      }
      const out = this.#convert[i]!(v)
      if (out instanceof Misfit) return out.reason
      row[i] = out
    }
    for (let i = 0; i < row.length; i++) this.#columns[i]!.push(row[i])
    this.#rows++
    return undefined
  }

  /** The rows so far as one batch (undefined when there are none); starts a new batch. */
  take(): RecordBatch | undefined {
    if (this.#rows === 0) return undefined
    const length = this.#rows
    const children = this.schema.fields.map((f, i) => vectorFromArray(this.#columns[i]!, f.type as DataType).data[0]!)
    this.#columns = this.#names.map(() => [])
    this.#rows = 0
    return new RecordBatch(this.schema, makeData({ type: new Struct(this.schema.fields), length, nullCount: 0, children }))
  }
}

/** The error record of one line, as an NDJSON line: `{ line, reason, raw }` (`rawBase64` when the bytes are not UTF-8). */
export function errorRecordLine(e: ErrorLine): string {
  const text = isUtf8(e.raw) ? { raw: e.raw.toString('utf8') } : { rawBase64: e.raw.toString('base64') }
  return `${JSON.stringify({ line: e.line, reason: e.reason, ...text })}\n`
}
