import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { type RecordBatch, Table, tableFromArrays } from 'apache-arrow'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collect, InvalidArgumentError, listPages, listUploads, type ObjectEntry } from '../src/index.js'
import { indexBucket } from '../src/arrow/index-table.js'
import { footerCounts, readParquet, writeParquet } from '../src/arrow/parquet.js'
import { listingSchema, toRecordBatches } from '../src/arrow/record-batches.js'
import { listPartitioned } from '../src/stages/partition/index.js'
import { useBucket } from './support/s3.js'

const MiB = 1024 * 1024
const LONG_UNICODE = `idx/${'\u00e9'.repeat(300)}${'\u{1F600}'.repeat(100)}${'x'.repeat(20)}` // 4 + 600 + 400 + 20 = 1024 bytes

function seedKeys(): string[] {
  const keys: string[] = []
  for (let i = 0; i < 4500; i++) keys.push(`data/${String(i % 45).padStart(2, '0')}/part-${String(i).padStart(5, '0')}.csv`)
  for (let i = 0; i < 300; i++) keys.push(`\u65e5\u672c-${i}`, `\u{1F600}/${i}`)
  keys.push(LONG_UNICODE, 'no-delimiter', 'a', '~', 'with space & <xml>')
  return keys
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'bf-arrow-'))
}

async function listingEntries(pages: AsyncIterable<{ objects: ObjectEntry[] }>): Promise<Map<string, ObjectEntry>> {
  const out = new Map<string, ObjectEntry>()
  for await (const p of pages) for (const o of p.objects) out.set(o.key, o)
  return out
}

function entry(i: number, storageClass = 'STANDARD'): ObjectEntry {
  return {
    kind: 'object',
    key: `synthetic/${String(i).padStart(9, '0')}/${'k'.repeat(i % 40)}-\u00e9\u{1F600}`,
    size: i * 7919,
    lastModified: new Date(1_700_000_000_000 + i * 1000),
    etag: `"${((i * 2654435761) >>> 0).toString(16).padStart(32, '0')}"`,
    storageClass,
  }
}

/** Synthetic listing pages; throws `failAt` pages in, when given. */
async function* syntheticPages(pages: number, pageRows = 1000, failAt?: number): AsyncGenerator<{ objects: ObjectEntry[] }> {
  for (let p = 0; p < pages; p++) {
    if (p === failAt) throw new Error(`source failed at page ${p}`)
    yield { objects: Array.from({ length: pageRows }, (_, i) => entry(p * pageRows + i, i % 11 === 0 ? 'GLACIER' : 'STANDARD')) }
  }
}

describe('listing -> Arrow -> Parquet, read back by DuckDB', () => {
  const bucket = useBucket('arrow')
  const keys = seedKeys()
  let db: DuckDBConnection
  let listed: Map<string, ObjectEntry>

  beforeAll(async () => {
    const b = bucket()
    const results = await b.put(
      keys.map(() => null),
      keys,
      { concurrency: 32 },
    )
    expect(results.filter((r) => !r.ok)).toEqual([])
    // Some objects with content and other storage classes.
    await b.put(randomBytes(12_345), LONG_UNICODE, { storageClass: 'STANDARD_IA' })
    await b.put(randomBytes(3 * MiB + 7), 'data/00/part-00000.csv')
    await b.put(Buffer.from('x'), 'a', { storageClass: 'GLACIER' })
    listed = await listingEntries(listPages(b))
    db = await (await DuckDBInstance.create(':memory:')).connect()
  })

  afterAll(() => db?.closeSync())

  it('has the seeded keys, including a 1024-byte unicode key', () => {
    expect(Buffer.byteLength(LONG_UNICODE)).toBe(1024)
    expect(listed.size).toBe(keys.length)
    expect(listed.get(LONG_UNICODE)?.size).toBe(12_345)
  })

  it('writes a Parquet file that DuckDB reads with the same rows, types and values', async () => {
    const file = join(await tempDir(), 'index.parquet')
    const batches = toRecordBatches(listPartitioned(bucket(), { concurrency: 8, pageSize: 500 }), { batchRows: 1000 })
    const result = await writeParquet(batches, file, { rowGroupRows: 2000 })
    expect(result.rows).toBe(keys.length)
    expect(result.rowGroups).toBe(Math.ceil(keys.length / 2000))
    const types = (await db.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`)).getRowObjectsJS()
    expect(Object.fromEntries(types.map((r) => [r.column_name, r.column_type]))).toEqual({
      Key: 'VARCHAR',
      LastModified: 'TIMESTAMP WITH TIME ZONE',
      ETag: 'VARCHAR',
      Size: 'BIGINT',
      StorageClass: 'VARCHAR',
    })
    const rows = (
      await db.runAndReadAll(`SELECT Key, epoch_ms(LastModified) AS ms, ETag, Size, StorageClass FROM read_parquet('${file}')`)
    ).getRowObjectsJS() as { Key: string; ms: bigint; ETag: string; Size: bigint; StorageClass: string }[]
    expect(rows.length).toBe(keys.length)
    expect(rows.map((r) => r.Key).sort()).toEqual([...listed.keys()].sort())
    for (const row of rows) {
      const e = listed.get(row.Key)
      expect({ ms: Number(row.ms), etag: row.ETag, size: Number(row.Size), storageClass: row.StorageClass }, row.Key).toEqual({
        ms: e!.lastModified!.getTime(),
        etag: e!.etag,
        size: e!.size,
        storageClass: e!.storageClass,
      })
    }
    const long = rows.find((r) => r.Key === LONG_UNICODE)!
    expect(long.StorageClass).toBe('STANDARD_IA')
    expect(Number(long.Size)).toBe(12_345)
    const big = rows.find((r) => r.Key === 'data/00/part-00000.csv')!
    expect(Number(big.Size)).toBe(3 * MiB + 7)
    // UTC: DuckDB's instant equals the listing's.
    const [tz] = (await db.runAndReadAll(`SELECT epoch_ms(LastModified) AS ms FROM read_parquet('${file}') WHERE Key = 'a'`)).getRowObjectsJS()
    expect(Number(tz!.ms)).toBe(listed.get('a')!.lastModified!.getTime())
    // And it reads back into Arrow with the types it was written with.
    const table = await readParquet(file)
    expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(listingSchema().fields.map((f) => `${f.name}:${f.type}`))
  })

  it('writes the index back to S3 (no local file) and to a Node Writable', async () => {
    const b = bucket()
    const result = await writeParquet(toRecordBatches(listPages(b)), { bucket: b, key: 'index/contents.parquet' })
    expect(result.upload?.size).toBe(result.bytes)
    const dir = await tempDir()
    const copy = await b.get('index/contents.parquet', join(dir, 'from-s3.parquet'))
    const [fromS3] = (await db.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${copy}')`)).getRowObjectsJS()
    expect(Number(fromS3!.n)).toBe(keys.length)

    const chunks: Buffer[] = []
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        chunks.push(chunk)
        cb()
      },
    })
    const r2 = await writeParquet(toRecordBatches(listPages(b, { prefix: 'data/' })), sink, { compression: 'snappy' })
    const bytes = Buffer.concat(chunks)
    expect(bytes.length).toBe(r2.bytes)
    expect(footerCounts(bytes)).toEqual({ rows: 4500, rowGroups: 1 })
    await writeFile(join(dir, 'writable.parquet'), bytes)
    const [n] = (await db.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${join(dir, 'writable.parquet')}')`)).getRowObjectsJS()
    expect(Number(n!.n)).toBe(4500)
    await b.rm('index/contents.parquet')
  })

  it('fails the write when the source fails midway, and leaves no file', async () => {
    const dir = await tempDir()
    const err = await writeParquet(toRecordBatches(syntheticPages(40, 1000, 30)), join(dir, 'out.parquet'), { rowGroupRows: 5000 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).message).toBe('source failed at page 30')
    expect(await readdir(dir)).toEqual([])
  })

  it('aborts the S3 multipart upload when the source fails midway: no object, no upload left', async () => {
    const b = bucket()
    const key = 'index/failed.parquet'
    let written = 0
    const err = await writeParquet(
      toRecordBatches(syntheticPages(160, 1000, 150)),
      { bucket: b, key },
      {
        compression: 'uncompressed',
        rowGroupRows: 10_000,
        upload: { partSize: 5 * MiB, onProgress: (p) => (written = p.bytesWritten) },
      },
    ).catch((e: unknown) => e)
    expect((err as Error).message).toBe('source failed at page 150')
    expect(written).toBeGreaterThan(5 * MiB) // parts were sealed: a multipart upload was under way
    expect(await b.exists(key)).toBe(false)
    const uploads = []
    for await (const u of listUploads(b, { prefix: 'index/' })) uploads.push(u)
    expect(uploads).toEqual([])
  })

  it('destroys a Writable destination with the source error', async () => {
    const sink = new Writable({ write: (_c, _e, cb) => cb() })
    const err = await writeParquet(toRecordBatches(syntheticPages(5, 100, 3)), sink).catch((e: unknown) => e)
    expect((err as Error).message).toBe('source failed at page 3')
    expect(sink.destroyed).toBe(true)
  })

  it('rejects a batch with another schema instead of hanging or dropping it', async () => {
    const dir = await tempDir()
    const good = (await toRecordBatches(syntheticPages(1, 10)).next()).value as RecordBatch
    const cases: [string, RecordBatch][] = [
      ['fewer columns', tableFromArrays({ Key: ['x'] }).batches[0]!],
      ['other types', tableFromArrays({ Key: ['k'], LastModified: Float64Array.from([1]), ETag: ['e'], Size: ['1'], StorageClass: ['S'] }).batches[0]!],
    ]
    for (const [label, bad] of cases) {
      const err = await writeParquet([good, good, bad, good], join(dir, `${label}.parquet`)).catch((e: unknown) => e)
      expect(err, label).toBeInstanceOf(InvalidArgumentError)
      expect((err as Error).message, label).toMatch(/Batch 2 has a different schema/)
    }
    await expect(writeParquet([good, 'not a batch' as unknown as RecordBatch], join(dir, 'x.parquet'))).rejects.toThrow(/RecordBatch/)
    expect(await readdir(dir)).toEqual([])
  })

  it('validates its options before writing anything', async () => {
    const dir = await tempDir()
    await expect(writeParquet([], join(dir, 'a.parquet'), { compression: 'zip' as never })).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(writeParquet([], join(dir, 'a.parquet'), { rowGroupRows: 0 })).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(writeParquet([], 42 as never)).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(await readdir(dir)).toEqual([])
  })

  it('indexes the bucket into a Table in key order, cached in a Parquet file', async () => {
    const b = bucket()
    await b.put(null, 'zz-extra')
    const cache = join(await tempDir(), 'cache', 'contents.parquet')
    const serial = [...(await listingEntries(listPages(b))).keys()]
    const table = await indexBucket(b, { cache, concurrency: 8 })
    expect(table.numRows).toBe(serial.length)
    expect(table.getChild('Key')!.toArray()).toEqual(serial)
    const same = await indexBucket(b, { partitioned: false })
    expect(same.getChild('Key')!.toArray()).toEqual(serial)
    await b.rm('zz-extra')
    const cached = await indexBucket(b, { cache })
    expect(cached.numRows).toBe(serial.length) // from the file, not the bucket
    expect(cached.getChild('Key')!.toArray()).toEqual(serial)
    const refreshed = await indexBucket(b, { cache, refresh: true })
    expect(refreshed.numRows).toBe(serial.length - 1)
    expect((await indexBucket(b, { cache })).numRows).toBe(serial.length - 1)
    const empty = await indexBucket(b, { prefix: 'nothing/' })
    expect(empty.numRows).toBe(0)
    expect(empty.schema.fields.map((f) => f.name)).toEqual(['Key', 'LastModified', 'ETag', 'Size', 'StorageClass'])
  })
})

describe('toRecordBatches', () => {
  it('gives every batch one schema and coalesces pages into batches of batchRows', async () => {
    const pages = [
      { objects: Array.from({ length: 3 }, (_, i) => entry(i)) },
      { objects: Array.from({ length: 1000 }, (_, i) => entry(3 + i, i === 500 ? 'DEEP_ARCHIVE' : 'STANDARD')) },
      { objects: [] },
      { objects: Array.from({ length: 250 }, (_, i) => entry(1003 + i)) },
    ]
    const batches: RecordBatch[] = []
    for await (const b of toRecordBatches(pages, { batchRows: 500 })) batches.push(b)
    expect(batches.map((b) => b.numRows)).toEqual([500, 500, 253])
    expect(new Set(batches.map((b) => String(b.schema.fields))).size).toBe(1)
    expect(batches[0]!.schema.fields.map(String)).toEqual(listingSchema().fields.map(String))
    const table = new Table(batches)
    const all = pages.flatMap((p) => p.objects)
    for (const i of [0, 2, 3, 503, 999, 1252]) {
      const row = table.get(i)!
      const e = all[i]!
      expect(row.Key).toBe(e.key)
      expect(row.Size).toBe(BigInt(e.size))
      expect(row.LastModified).toBe(e.lastModified!.getTime())
      expect(row.ETag).toBe(e.etag)
      expect(row.StorageClass).toBe(e.storageClass)
    }
    const perPage: number[] = []
    for await (const b of toRecordBatches(pages)) perPage.push(b.numRows)
    expect(perPage).toEqual([3, 1000, 250])
  })

  it('adds Owner and ChecksumAlgorithm on request, null where absent', async () => {
    const a: ObjectEntry = { ...entry(1), owner: 'alice', checksumAlgorithm: 'CRC32' }
    const b: ObjectEntry = { ...entry(2), lastModified: undefined }
    const [batch] = await collect(toRecordBatches([{ objects: [a, b] }], { columns: ['Key', 'Owner', 'ChecksumAlgorithm', 'LastModified'] }))
    expect(batch!.schema.fields.map((f: { name: string; type: unknown }) => `${f.name}:${f.type}`)).toEqual([
      'Key:Utf8',
      'Owner:Utf8',
      'ChecksumAlgorithm:Utf8',
      'LastModified:Timestamp<MILLISECOND, UTC>',
    ])
    expect(batch!.get(0)!.toJSON()).toEqual({ Key: a.key, Owner: 'alice', ChecksumAlgorithm: 'CRC32', LastModified: a.lastModified!.getTime() })
    expect(batch!.get(1)!.toJSON()).toEqual({ Key: b.key, Owner: null, ChecksumAlgorithm: null, LastModified: null })
  })

  it('rejects unknown columns and a bad batchRows', async () => {
    await expect(collect(toRecordBatches([], { columns: ['Key', 'Nope' as never] }))).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(collect(toRecordBatches([], { columns: [] }))).rejects.toThrow(/non-empty/)
    await expect(collect(toRecordBatches([], { batchRows: 0 }))).rejects.toBeInstanceOf(InvalidArgumentError)
  })
})
