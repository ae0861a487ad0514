import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { beforeAll, describe, expect, it } from 'vitest'
import type { RecordBatch } from 'apache-arrow'
import {
  AbortError,
  decodeInventoryKey,
  encodeManifestKey,
  findInventories,
  IntegrityError,
  InvalidArgumentError,
  readInventory,
  readInventoryManifest,
  UnsupportedFormatError,
} from '../src/index.js'
import { Bucket } from '../src/bucket.js'
import { FaultProxy } from './support/proxy.js'
import { CsvParser } from '../src/scale/csv.js'
import { formEncode, sdkListing, writeInventoryReport, type ListedObject, type WrittenReport } from './support/inventory.js'
import { s3Options, useBucket } from './support/s3.js'

/** Keys that break naive CSV or URL handling. */
const ODD_KEYS = [
  'with space/a b.txt',
  'plus/a+b+c.txt',
  'percent/100%/x%2By.txt',
  'quote/say "hi".txt',
  'comma/a,b,c.csv',
  'unicode/日本語/ü é ñ/😀.bin',
  'mixed/ +%"," ü',
  'trailing space ',
  `long/${'k'.repeat(1019)}`,
  `long-unicode/${'é'.repeat(300)}`,
]

async function collectRows(batches: AsyncIterable<RecordBatch>): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = []
  for await (const batch of batches) for (const row of batch) rows.push(row.toJSON())
  return rows
}

function asListing(o: ListedObject) {
  return { Key: o.key, Size: BigInt(o.size), ETag: o.etag, LastModified: o.lastModified.getTime(), StorageClass: o.storageClass }
}

function pick(row: Record<string, unknown>) {
  return { Key: row.Key, Size: row.Size, ETag: row.ETag, LastModified: row.LastModified, StorageClass: row.StorageClass }
}

const byKey = (a: { Key?: unknown }, b: { Key?: unknown }) => (String(a.Key) < String(b.Key) ? -1 : 1)

describe('S3 Inventory as a listing source', () => {
  const source = useBucket('inv-src')
  const dest = useBucket('inv-dst')
  let listing: ListedObject[]
  let csv: WrittenReport
  let parquet: WrittenReport
  let older: WrittenReport

  beforeAll(async () => {
    const keys = [...ODD_KEYS]
    for (let i = 0; i < 40; i++) keys.push(`data/${String(i % 4)}/part-${String(i).padStart(3, '0')}.json`)
    for (const [i, key] of keys.entries()) {
      await source().client.send(new PutObjectCommand({ Bucket: source().name, Key: key, Body: Buffer.from('x'.repeat(i)) }))
    }
    listing = await sdkListing(source().client, source().name)
    expect(listing.length).toBe(keys.length)
    const client = dest().client
    older = await writeInventoryReport(client, dest().name, source().name, listing.slice(0, 5), {
      prefix: 'inv/',
      configId: 'daily',
      format: 'CSV',
      createdAt: new Date('2024-04-30T01:00:00Z'),
    })
    csv = await writeInventoryReport(client, dest().name, source().name, listing, {
      prefix: 'inv/',
      configId: 'daily',
      format: 'CSV',
      createdAt: new Date('2024-05-01T01:00:00Z'),
      files: 3,
    })
    parquet = await writeInventoryReport(client, dest().name, source().name, listing, {
      prefix: 'inv/',
      configId: 'weekly-parquet',
      format: 'Parquet',
      createdAt: new Date('2024-05-02T01:00:00Z'),
    })
    // A report still being written: data but no manifest yet.
    await client.send(new PutObjectCommand({ Bucket: dest().name, Key: `inv/${source().name}/daily/2024-05-03T01-00Z/manifest.checksum`, Body: 'x' }))
  })

  it('reads a CSV report (two-member gzip, quoted values, URL-encoded keys) to exactly the listing', async () => {
    const rows = await collectRows(readInventory(dest(), csv.manifestKey))
    expect(rows.map(pick).sort(byKey)).toEqual(listing.map(asListing).sort(byKey))
    expect(new Set(rows.map((r) => r.Key)).size).toBe(listing.length)
    // The report's other columns follow the listing's.
    expect(Object.keys(rows[0]!)).toEqual(['Key', 'LastModified', 'ETag', 'Size', 'StorageClass', 'Bucket', 'IsMultipartUploaded', 'ChecksumAlgorithm'])
    expect(rows.every((r) => r.Bucket === source().name && r.IsMultipartUploaded === false && r.ChecksumAlgorithm === null)).toBe(true)
  })

  it('reads the Parquet twin to exactly the same rows', async () => {
    const fromCsv = (await collectRows(readInventory(dest(), csv.manifestKey))).sort(byKey)
    const fromParquet = (await collectRows(readInventory(dest(), parquet.manifestKey))).sort(byKey)
    expect(fromParquet.map(pick)).toEqual(listing.map(asListing).sort(byKey))
    expect(fromParquet).toEqual(fromCsv)
  })

  it('yields batches with the listing schema types and honours columns, prefix and batchRows', async () => {
    const batches: RecordBatch[] = []
    for await (const b of readInventory(dest(), csv.manifestKey, { batchRows: 7, columns: ['Key', 'Size'], prefix: 'data/' })) batches.push(b)
    expect(
      batches
        .map((b) => b.numRows)
        .slice(0, -1)
        .every((n) => n === 7),
    ).toBe(true)
    expect(batches.reduce((n, b) => n + b.numRows, 0)).toBe(40)
    expect(batches[0]!.schema.fields.map((f) => `${f.name}: ${String(f.type)}`)).toEqual(['Key: Utf8', 'Size: Int64'])
    const all: RecordBatch[] = []
    for await (const b of readInventory(dest(), parquet.manifestKey)) all.push(b)
    expect(all[0]!.schema.fields.slice(0, 5).map((f) => `${f.name}: ${String(f.type)}`)).toEqual([
      'Key: Utf8',
      'LastModified: Timestamp<MILLISECOND, UTC>',
      'ETag: Utf8',
      'Size: Int64',
      'StorageClass: Dictionary<Int32, Utf8>',
    ])
    const err = await collectRows(readInventory(dest(), csv.manifestKey, { columns: ['Key', 'VersionId'] })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidArgumentError)
    expect((err as InvalidArgumentError).argument).toBe('columns')
  })

  it('finds reports newest first, skipping hive/, data/ and folders without a manifest.json', async () => {
    const all = await findInventories(dest(), { prefix: 'inv/' })
    expect(all.map((r) => r.manifestKey)).toEqual([parquet.manifestKey, csv.manifestKey, older.manifestKey])
    expect(all[1]).toEqual({ manifestKey: csv.manifestKey, createdAt: new Date('2024-05-01T01:00:00Z'), sourceBucket: source().name, configId: 'daily' })
    const daily = await findInventories(dest(), { prefix: `inv/${source().name}/daily` })
    expect(daily.map((r) => r.manifestKey)).toEqual([csv.manifestKey, older.manifestKey])
    expect(await findInventories(dest(), { prefix: 'nothing-here/' })).toEqual([])
  })

  it('checks manifest.json against manifest.checksum', async () => {
    const m = await readInventoryManifest(dest(), csv.manifestKey)
    expect(m).toMatchObject({ sourceBucket: source().name, destinationBucket: `arn:aws:s3:::${dest().name}`, fileFormat: 'CSV', checksum: 'verified' })
    expect(m.files).toHaveLength(3)
    expect(m.etag).toMatch(/^[0-9a-f]{32}$/)
    expect(m.createdAt).toEqual(new Date('2024-05-01T01:00:00Z'))
    const tampered = await writeInventoryReport(dest().client, dest().name, source().name, listing.slice(0, 3), {
      prefix: 'tamper/',
      configId: 'c',
      format: 'CSV',
      createdAt: new Date('2024-01-01T00:00:00Z'),
    })
    await dest().put('0'.repeat(32), tampered.manifestKey.replace('manifest.json', 'manifest.checksum'), { literal: true })
    const err = await readInventoryManifest(dest(), tampered.manifestKey).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IntegrityError)
    expect((err as IntegrityError).key).toBe(tampered.manifestKey)
    expect((await readInventoryManifest(dest(), tampered.manifestKey, { verify: false })).checksum).toBe('skipped')
    const bare = await writeInventoryReport(dest().client, dest().name, source().name, listing.slice(0, 3), {
      prefix: 'bare/',
      configId: 'c',
      format: 'CSV',
      createdAt: new Date('2024-01-01T00:00:00Z'),
      checksum: false,
    })
    expect((await readInventoryManifest(dest(), bare.manifestKey)).checksum).toBe('absent')
  })

  it('fails with IntegrityError on a corrupted data file before yielding any of its rows', async () => {
    const report = await writeInventoryReport(dest().client, dest().name, source().name, listing, {
      prefix: 'corrupt/',
      configId: 'c',
      format: 'CSV',
      createdAt: new Date('2024-01-01T00:00:00Z'),
      files: 1,
    })
    const key = report.dataKeys[0]!
    const bytes = await dest().get(key)
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff // same size, different bytes
    await dest().put(bytes, key)
    let yielded = 0
    const err = await (async () => {
      for await (const b of readInventory(dest(), report.manifestKey)) yielded += b.numRows
    })().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IntegrityError)
    expect((err as IntegrityError).key).toBe(key)
    expect((err as Error).message).toMatch(/MD5/)
    expect(yielded).toBe(0)
    // Without the MD5 check the flipped byte breaks gzip instead: still a typed error.
    const err2 = await collectRows(readInventory(dest(), report.manifestKey, { verifyMd5: false })).catch((e: unknown) => e)
    expect(err2).toBeInstanceOf(IntegrityError)
  })

  it('fails with IntegrityError when a data file is not the size the manifest says', async () => {
    const m = await readInventoryManifest(dest(), csv.manifestKey)
    const wrong = { ...m, files: m.files.map((f, i) => (i === 1 ? { ...f, size: f.size + 1 } : f)) }
    const err = await collectRows(readInventory(dest(), wrong)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IntegrityError)
    expect((err as Error).message).toMatch(/the manifest says/)
  })

  it('refuses an ORC report with UnsupportedFormatError', async () => {
    const orc = await writeInventoryReport(dest().client, dest().name, source().name, listing.slice(0, 2), {
      prefix: 'orc/',
      configId: 'c',
      format: 'ORC',
      createdAt: new Date('2024-01-01T00:00:00Z'),
    })
    const err = await collectRows(readInventory(dest(), orc.manifestKey)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UnsupportedFormatError)
    expect((err as UnsupportedFormatError).format).toBe('ORC')
    expect((err as UnsupportedFormatError).code).toBe('UnsupportedFormat')
  })

  it('spools large data files to temporary files and removes them, also when stopped early', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'inv-spool-'))
    const saved = process.env.TMPDIR
    process.env.TMPDIR = dir
    try {
      const rows = await collectRows(readInventory(dest(), csv.manifestKey, { spoolBytes: 0 }))
      expect(rows.map(pick).sort(byKey)).toEqual(listing.map(asListing).sort(byKey))
      const prows = await collectRows(readInventory(dest(), parquet.manifestKey, { spoolBytes: 0 }))
      expect(prows.length).toBe(listing.length)
      expect(await readdir(dir)).toEqual([])
      for await (const batch of readInventory(dest(), csv.manifestKey, { spoolBytes: 0, batchRows: 1, concurrency: 3 })) {
        expect(batch.numRows).toBe(1)
        break
      }
      expect(await readdir(dir)).toEqual([])
    } finally {
      if (saved === undefined) delete process.env.TMPDIR
      else process.env.TMPDIR = saved
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('reports progress and stops on abort', async () => {
    const seen: number[] = []
    await collectRows(readInventory(dest(), csv.manifestKey, { onProgress: (p) => seen.push(p.files) }))
    expect(seen).toEqual([1, 2, 3])
    const controller = new AbortController()
    const err = await (async () => {
      for await (const _ of readInventory(dest(), csv.manifestKey, { batchRows: 1, signal: controller.signal })) controller.abort()
    })().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AbortError)
  })

  it('indexes a bucket from its inventory with bucket.index({ source }), without a LIST request', async () => {
    const proxy = await FaultProxy.start(s3Options().endpoint!)
    try {
      const viaProxy = new Bucket(source().name, s3Options({ endpoint: proxy.url }))
      const from = new Bucket(dest().name, s3Options({ endpoint: proxy.url }))
      const table = await viaProxy.index({ source: { inventory: parquet.manifestKey, from } })
      expect(table.schema.fields.map((f) => f.name)).toEqual(['Key', 'LastModified', 'ETag', 'Size', 'StorageClass'])
      expect([...table].map((r) => pick(r.toJSON())).sort(byKey)).toEqual(listing.map(asListing).sort(byKey))
      expect(proxy.count('ListObjects')).toBe(0)
      expect(viaProxy.contents).toBe(table)
      const logs = await viaProxy.index({ source: { inventory: csv.manifestKey, from }, prefix: 'data/1/', columns: ['Key', 'Size'] })
      expect(logs.numRows).toBe(10)
      expect(proxy.count('ListObjects')).toBe(0)
      const wrong = await from.index({ source: { inventory: csv.manifestKey } }).catch((e: unknown) => e)
      expect(wrong).toBeInstanceOf(InvalidArgumentError)
      expect((wrong as InvalidArgumentError).argument).toBe('source')
    } finally {
      await proxy.close()
    }
  })

  it('validates its arguments before any request', async () => {
    for (const [call, argument] of [
      [() => collectRows(readInventory(dest(), '')), 'manifest'],
      [() => collectRows(readInventory(dest(), { files: 'x' } as never)), 'manifest'],
      [() => collectRows(readInventory(dest(), csv.manifestKey, { concurrency: 0 })), 'concurrency'],
      [() => collectRows(readInventory(dest(), csv.manifestKey, { columns: [] })), 'columns'],
      [() => readInventoryManifest(dest(), csv.manifestKey, { verify: 'yes' as never }), 'verify'],
    ] as const) {
      const err = await call().catch((e: unknown) => e)
      expect(err, argument).toBeInstanceOf(InvalidArgumentError)
      expect((err as InvalidArgumentError).argument).toBe(argument)
    }
  })
})

describe('inventory CSV reader', () => {
  it('reads quoted fields split across chunks, and names the record of a syntax error', () => {
    const text = '"a","b ""q"", c","x\ny"\n\n"1",,""\r\nplain,"z"\n\n\n'
    for (const size of [1, 2, 3, 7, 100]) {
      const parser = new CsvParser()
      const rows: string[][] = []
      for (let i = 0; i < text.length; i += size) rows.push(...parser.push(text.slice(i, i + size)))
      rows.push(...parser.end())
      expect(rows, String(size)).toEqual([
        ['a', 'b "q", c', 'x\ny'],
        ['1', '', ''],
        ['plain', 'z'],
      ])
    }
    expect(() => new CsvParser().push('"a","b"\n"c"d\n')).toThrow(/Text after a closing quote \(record 2\)/)
    expect(() => new CsvParser().push('a"b\n')).toThrow(/quote inside an unquoted field/)
    const open = new CsvParser()
    open.push('"never closed')
    expect(() => open.end()).toThrow(/Unterminated/)
    expect(() => new CsvParser(16).push(`"${'x'.repeat(100)}`)).toThrow(/longer than 16/)
  })
})

describe('inventory key codec', () => {
  function randomKey(rand: () => number): string {
    const length = 1 + Math.floor(rand() * 40)
    let s = ''
    for (let i = 0; i < length; i++) {
      const r = rand()
      // ASCII (with every reserved character), Latin, CJK, and astral code points; no surrogates alone.
      const cp =
        r < 0.4
          ? 0x20 + Math.floor(rand() * 95)
          : r < 0.6
            ? 0xa0 + Math.floor(rand() * 0x500)
            : r < 0.8
              ? 0x4e00 + Math.floor(rand() * 0x5000)
              : 0x1f300 + Math.floor(rand() * 0x300)
      s += String.fromCodePoint(cp)
    }
    return s
  }

  it('round-trips 10,000 random unicode keys through the manifest encoding and form encoding', () => {
    let seed = 42
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    for (let i = 0; i < 10_000; i++) {
      const key = randomKey(rand)
      const encoded = encodeManifestKey(key)
      expect(encoded).toMatch(/^[A-Za-z0-9\-_.~/%]*$/)
      expect(decodeInventoryKey(encoded)).toBe(key)
      expect(decodeInventoryKey(formEncode(key))).toBe(key)
    }
  })

  it('encodes space as %20 and + as %2B, keeps /, and decodes + as a space', () => {
    expect(encodeManifestKey('a b+c/d~e.f_g-h')).toBe('a%20b%2Bc/d~e.f_g-h')
    expect(encodeManifestKey('ü,"%')).toBe('%C3%BC%2C%22%25')
    expect(decodeInventoryKey('a+b%2Bc%2Fd')).toBe('a b+c/d')
    expect(() => decodeInventoryKey('bad%zz')).toThrow(InvalidArgumentError)
    expect(() => decodeInventoryKey('%C3')).toThrow(InvalidArgumentError)
    expect(() => encodeManifestKey('\ud800x')).toThrow(InvalidArgumentError)
  })
})
