import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { Field, Float64, Int64, Schema, TimestampMillisecond, Utf8, Bool } from 'apache-arrow'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Bucket } from '../src/bucket.js'
import { createLogStream, type StoredLogObject } from '../src/sinks/rotating.js'
import { inferSchema, schemaFromJson } from '../src/sinks/ndjson.js'
import { readParquet } from '../src/index.js'
import { useBucket } from './support/s3.js'

let db: DuckDBConnection
const dirs: string[] = []

async function download(bucket: Bucket, keys: string[]): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'bucketflow-parquet-logs-'))
  dirs.push(dir)
  const files: string[] = []
  for (const [i, key] of keys.entries()) files.push(await bucket.get(key, join(dir, `${i}-${key.split('/').pop()}`)))
  return files
}

async function query<T>(sql: string): Promise<T[]> {
  return (await db.runAndReadAll(sql)).getRowObjectsJS() as T[]
}

interface ErrorRecord {
  line: number
  reason: string
  raw?: string
  rawBase64?: string
}

async function errorRecords(bucket: Bucket, prefix: string): Promise<{ key: string; records: ErrorRecord[] }[]> {
  const out = []
  for (const key of await bucket.list(prefix).toArray()) {
    const text = await bucket.read(key)
    out.push({
      key,
      records: text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as ErrorRecord),
    })
  }
  return out
}

describe('createLogStream: NDJSON lines -> Parquet objects, bad lines -> error objects', () => {
  const bucket = useBucket('logparquet')
  beforeAll(async () => {
    db = await (await DuckDBInstance.create(':memory:')).connect()
  })
  afterAll(async () => {
    db?.closeSync()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  it('infers the schema from the first records, writes one Parquet object per rotation that DuckDB reads whole, and keeps every bad line with its reason', async () => {
    const b = bucket()
    const prefix = 'inferred/'
    const good = Array.from({ length: 3000 }, (_, i) => ({
      ts: new Date(Date.UTC(2026, 11, 1) + i * 1000).toISOString(),
      level: ['info', 'warn', 'error'][i % 3]!,
      latency: i % 10 === 0 ? i + 0.5 : i,
      ok: i % 7 !== 0,
      user: i % 5 === 0 ? null : `u${i % 13}`,
      tags: i % 4 === 0 ? ['a', 'b'] : undefined,
    }))
    const bad: [string, RegExp][] = [
      ['not json at all', /not valid JSON/],
      ['[1, 2, 3]', /not a JSON object \(a array\)/],
      ['"a string"', /not a JSON object \(a string\)/],
      ['{"level": "info", "surprise": 1}', /field "surprise" is not in the schema/],
      ['{"latency": "fast"}', /field "latency": expected a number/],
      ['', /empty line/],
      ['{"ok": "yes"}', /field "ok": expected a boolean/],
    ]
    const input: string[] = []
    const expectedBad: { raw: string; reason: RegExp }[] = []
    good.forEach((r, i) => {
      input.push(JSON.stringify(r))
      // Bad lines only after the first 1000 records (the schema is inferred from those).
      if (i >= 1000 && i % 300 === 0) {
        const [raw, reason] = bad[(i / 300) % bad.length]!
        input.push(raw)
        expectedBad.push({ raw, reason })
      }
    })
    const log = createLogStream(b, prefix, { format: { parquet: { batchRows: 500 } }, rotateBytes: 64 * 1024, key: 'dt={yyyy}-{MM}-{dd}/{ts}-{seq}.parquet' })
    const stored: StoredLogObject[] = []
    log.on('object', (o: StoredLogObject) => stored.push(o))
    const text = input.map((l) => `${l}\n`).join('')
    for (let at = 0; at < text.length; at += 7000) log.write(text.slice(at, at + 7000))
    log.end()
    const result = await log.done
    const parquetKeys = (await b.list(prefix).toArray()).filter((k) => !k.startsWith(`${prefix}_errors/`))
    expect(parquetKeys.length).toBeGreaterThanOrEqual(3)
    expect(parquetKeys.every((k) => /^inferred\/dt=\d{4}-\d{2}-\d{2}\/\d{8}T\d{6}\.\d{3}Z-\d{6}\.parquet$/.test(k))).toBe(true)
    const files = await download(b, parquetKeys)
    const list = `[${files.map((f) => `'${f}'`).join(', ')}]`
    const types = await query<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet(${list})`)
    expect(Object.fromEntries(types.map((t) => [t.column_name, t.column_type]))).toEqual({
      ts: 'VARCHAR',
      level: 'VARCHAR',
      latency: 'DOUBLE',
      ok: 'BOOLEAN',
      user: 'VARCHAR',
      tags: 'VARCHAR',
    })
    const rows = await query<{ ts: string; level: string; latency: number; ok: boolean; user: string | null; tags: string | null }>(
      `SELECT * FROM read_parquet(${list})`,
    )
    expect(rows.length).toBe(good.length)
    rows.forEach((row, i) => {
      const r = good[i]!
      expect(row, String(i)).toEqual({ ts: r.ts, level: r.level, latency: r.latency, ok: r.ok, user: r.user, tags: r.tags ? JSON.stringify(r.tags) : null })
    })
    // Every bad line is in an error object, with its reason and its line number in that object.
    const errors = await errorRecords(b, `${prefix}_errors/`)
    const all = errors.flatMap((e) => e.records)
    expect(all.length).toBe(expectedBad.length)
    all.forEach((e, i) => {
      expect(e.raw).toBe(expectedBad[i]!.raw)
      expect(e.reason).toMatch(expectedBad[i]!.reason)
      expect(e.line).toBeGreaterThan(0)
    })
    // Error objects are named after their Parquet object.
    for (const e of errors) {
      const twin = e.key.replace(`${prefix}_errors/`, prefix).replace(/\.ndjson$/, '.parquet')
      expect(parquetKeys).toContain(twin)
    }
    expect(result.errorLines).toBe(expectedBad.length)
    expect(result.lines).toBe(good.length + expectedBad.length)
    expect(stored.filter((o) => o.kind === 'parquet').reduce((n, o) => n + o.lines, 0)).toBe(good.length)
  })

  it('fits records to a given schema (timestamps in UTC, non-null ints) and sends the ones that do not fit to the error prefix', async () => {
    const b = bucket()
    const prefix = 'typed/'
    const schema = new Schema([
      new Field('at', new TimestampMillisecond('UTC'), false),
      new Field('n', new Int64(), false),
      new Field('score', new Float64(), true),
      new Field('flag', new Bool(), true),
      new Field('msg', new Utf8(), true),
    ])
    const lines = [
      '{"at": "2026-12-01T10:00:00.123Z", "n": 1, "score": 0.5, "flag": true, "msg": "first"}',
      '{"at": 1796119200000, "n": 2, "msg": {"nested": [1, 2]}}',
      '{"at": "2026-12-01T10:00:01Z", "n": 2.5}',
      '{"n": 3}',
      '{"at": "yesterday", "n": 4}',
      '{"at": "2026-12-01T10:00:02Z", "n": 9007199254740993}',
      '{"at": "2026-12-01T10:00:03+01:00", "n": -7, "flag": null}',
      '\u00ff\u00fe not utf8 below',
    ]
    const log = createLogStream(b, prefix, { format: { parquet: { schema } }, errorPrefix: 'rejects/' })
    log.write(
      lines
        .slice(0, -1)
        .map((l) => `${l}\n`)
        .join(''),
    )
    log.write(Buffer.from([0xff, 0xfe, 0x0a]))
    log.end()
    const result = await log.done
    const keys = await b.list(prefix).toArray()
    expect(keys.length).toBe(1)
    const [file] = await download(b, keys)
    const rows = await query<{ ms: bigint; n: bigint; score: number | null; flag: boolean | null; msg: string | null }>(
      `SELECT epoch_ms("at") AS ms, n, score, flag, msg FROM read_parquet('${file}')`,
    )
    expect(rows.map((r) => ({ ...r, ms: Number(r.ms), n: Number(r.n) }))).toEqual([
      { ms: Date.UTC(2026, 11, 1, 10, 0, 0, 123), n: 1, score: 0.5, flag: true, msg: 'first' },
      { ms: 1796119200000, n: 2, score: null, flag: null, msg: '{"nested":[1,2]}' },
      { ms: Date.UTC(2026, 11, 1, 9, 0, 3), n: -7, score: null, flag: null, msg: null },
    ])
    const [types] = await query<{ t: string }>(`SELECT typeof("at") AS t FROM read_parquet('${file}') LIMIT 1`)
    expect(types!.t).toBe('TIMESTAMP WITH TIME ZONE')
    const errors = (await errorRecords(b, 'rejects/')).flatMap((e) => e.records)
    expect(errors.map((e) => [e.line, e.reason])).toEqual([
      [3, expect.stringMatching(/field "n": expected an integer/)],
      [4, 'field "at" is missing and not nullable'],
      [5, expect.stringMatching(/field "at": expected an ISO 8601 timestamp/)],
      [6, expect.stringMatching(/field "n": expected an integer between/)],
      [8, expect.stringMatching(/not valid JSON/)],
    ])
    expect(errors.at(-1)!.rawBase64).toBe(Buffer.from([0xff, 0xfe]).toString('base64'))
    expect(result.errorLines).toBe(5)
  })

  it('reads a schema from JSON and refuses types NDJSON cannot fill', () => {
    expect(schemaFromJson({ ts: 'timestamp[ms, UTC]', n: 'int64', s: 'string' }).fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual([
      'ts:Timestamp<MILLISECOND, UTC>',
      'n:Int64',
      's:Utf8',
    ])
    expect(() => schemaFromJson({ x: 'list<int>' })).toThrow(/Unknown type/)
    expect(() => schemaFromJson([])).toThrow(/Expected a schema object/)
    expect(() =>
      schemaFromJson({
        fields: [
          { name: 'a', type: 'int8' },
          { name: 'a', type: 'int8' },
        ],
      }),
    ).toThrow(/appears twice/)
  })

  it('with a spool: a restarted stream builds the same Parquet objects from what a stopped one left, with the schema it inferred', async () => {
    const b = bucket()
    const prefix = 'spooled/'
    const dir = await mkdtemp(join(tmpdir(), 'bucketflow-parquet-spool-'))
    dirs.push(dir)
    const records = Array.from({ length: 400 }, (_, i) => ({ i, even: i % 2 === 0, name: `n${i}` }))
    const first = createLogStream(b, prefix, { format: { parquet: { inferRecords: 50 } }, spool: dir, rotateBytes: 2000 })
    first.on('error', () => undefined)
    const half = records.slice(0, 200)
    for (const r of half) await new Promise<void>((resolve, reject) => first.write(`${JSON.stringify(r)}\n`, (e) => (e ? reject(e) : resolve())))
    first.destroy()
    await first.done.catch(() => undefined)
    const second = createLogStream(b, prefix, { format: { parquet: { inferRecords: 50 } }, spool: dir, rotateBytes: 2000 })
    for (const r of records.slice(200)) second.write(`${JSON.stringify(r)}\n`)
    second.end()
    const result = await second.done
    expect(result.errorLines).toBe(0)
    const keys = (await b.list(prefix).toArray()).filter((k) => k.endsWith('.parquet'))
    const files = await download(b, keys)
    const rows = await query<{ i: number; even: boolean; name: string }>(`SELECT i, even, name FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}])`)
    expect(rows).toEqual(records)
  })

  it('a lines stream opened on a spool a Parquet log left stores those segments as Parquet, every record once', async () => {
    const b = bucket()
    const prefix = 'handover/'
    const dir = await mkdtemp(join(tmpdir(), 'bf-parquet-handover-'))
    const first = createLogStream(b, prefix, { format: { parquet: { inferRecords: 50 } }, spool: dir, rotateBytes: 2000 })
    first.on('error', () => undefined)
    for (let i = 0; i < 200; i++) await new Promise<void>((ok, fail) => first.write(`${JSON.stringify({ i, name: `n${i}` })}\n`, (e) => (e ? fail(e) : ok())))
    first.destroy() // before anything was stored: every record is in the spool
    await first.done.catch(() => undefined)
    const second = createLogStream(b, prefix, { spool: dir, rotateBytes: 2000 })
    second.end('{"plain":1}\n')
    const result = await second.done
    expect(result.recovered).toBeGreaterThan(0)
    const keys = await b.list(prefix).toArray()
    const parquetKeys = keys.filter((k) => k.endsWith('.parquet'))
    let rows = 0
    const seen = new Set<number>()
    for (const key of parquetKeys) {
      const table = await readParquet(await b.read(key, { encoding: null }))
      rows += table.numRows
      for (const v of table.getChild('i')!) seen.add(Number(v))
    }
    expect(rows).toBe(200)
    expect(seen.size).toBe(200)
    expect(keys.filter((k) => k.endsWith('.log'))).toHaveLength(1)
    await rm(dir, { recursive: true, force: true })
  })
})

describe('inferSchema', () => {
  it('gives each field the kind most of its values have; the few others do not fit (they go to the error objects)', () => {
    const records = [
      { n: 1, s: 'a', b: true, j: { x: 1 } },
      { n: 2.5, s: 'b', b: false, j: [1] },
      { n: 'three', s: 3, b: null, j: 'text' },
      { n: 4, s: 'd' },
    ]
    const schema = inferSchema(records)
    expect(schema.fields.map((f) => [f.name, String(f.type)])).toEqual([
      ['n', 'Float64'],
      ['s', 'Utf8'],
      ['b', 'Bool'],
      ['j', 'Utf8'],
    ])
    // A tie is text.
    expect(String(inferSchema([{ t: 1 }, { t: 'one' }]).fields[0]!.type)).toBe('Utf8')
  })
})
