/**
 * Test helper: writes an S3 Inventory report in AWS's documented format to the local S3 server,
 * from a listing of a source bucket made straight with the SDK (not through bucketflow):
 *
 *   <prefix><source>/<configId>/<YYYY-MM-DDTHH-MMZ>/manifest.json, manifest.checksum
 *   <prefix><source>/<configId>/data/<uuid>.csv.gz | .parquet
 *   <prefix><source>/<configId>/hive/dt=<YYYY-MM-DD-HH-MM>/symlink.txt
 *
 * CSV data files: no header, every value double-quoted (a `"` doubled), keys URL-encoded the way
 * form encoding does it (space as `+`, `/` as `%2F`), rows split over two gzip members (the split
 * falls inside a row), and extra newlines at the end. Parquet data files: the documented schema
 * (`required binary bucket (UTF8)`, `optional int64 size`, `last_modified_date` as a millisecond
 * timestamp, ...), snake_case names, Snappy compression.
 */
import { createHash, randomUUID } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { Bool, Field, Int64, makeData, RecordBatch, Schema, Struct, Table, TimestampMillisecond, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow'

/** One object of the source listing, as the SDK returns it. */
export interface ListedObject {
  key: string
  size: number
  etag: string // with quotes, as ListObjectsV2 returns it
  lastModified: Date
  storageClass: string
}

/** Every object of a bucket, listed with the SDK's ListObjectsV2 directly. */
export async function sdkListing(client: S3Client, bucket: string): Promise<ListedObject[]> {
  const out: ListedObject[] = []
  let token: string | undefined
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }))
    for (const o of page.Contents ?? [])
      out.push({ key: o.Key!, size: o.Size!, etag: o.ETag!, lastModified: o.LastModified!, storageClass: o.StorageClass ?? 'STANDARD' })
    token = page.NextContinuationToken
  } while (token)
  return out
}

/** Form encoding (as Java's URLEncoder): keep A-Z a-z 0-9 . - * _, space as +, the rest %XX. */
export function formEncode(key: string): string {
  let out = ''
  for (const b of Buffer.from(key, 'utf8')) {
    const c = String.fromCharCode(b)
    if (/[A-Za-z0-9.\-*_]/.test(c)) out += c
    else if (b === 0x20) out += '+'
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

const quote = (v: string) => `"${v.replaceAll('"', '""')}"`
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex')

export interface WrittenReport {
  manifestKey: string
  dataKeys: string[]
  folder: string
}

export interface ReportOptions {
  /** Destination prefix, e.g. 'inv/'. */
  prefix: string
  configId: string
  format: 'CSV' | 'Parquet' | 'ORC'
  createdAt: Date
  /** Number of data files the rows are spread over. Default 2. */
  files?: number
  /** Write manifest.checksum. Default true. */
  checksum?: boolean
}

function stamp(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace(':', '-')}Z`
}

const CSV_SCHEMA = 'Bucket, Key, Size, LastModifiedDate, ETag, StorageClass, IsMultipartUploaded, ChecksumAlgorithm'
const PARQUET_SCHEMA =
  'message s3.inventory { required binary bucket (UTF8); required binary key (UTF8); optional int64 size; optional int64 last_modified_date (TIMESTAMP_MILLIS); optional binary e_tag (UTF8); optional binary storage_class (UTF8); optional boolean is_multipart_uploaded; optional binary checksum_algorithm (UTF8); }'

function csvFile(source: string, rows: readonly ListedObject[]): Buffer {
  const text = rows
    .map((o) =>
      [source, formEncode(o.key), String(o.size), o.lastModified.toISOString(), o.etag.replaceAll('"', ''), o.storageClass, String(o.etag.includes('-')), '']
        .map(quote)
        .join(','),
    )
    .join('\n')
    .concat('\n\n\n')
  const bytes = Buffer.from(text, 'utf8')
  // Two gzip members, split inside a row (the stream of text continues across them).
  const cut = Math.max(1, Math.floor(bytes.length / 2) + 3)
  return Buffer.concat([gzipSync(bytes.subarray(0, cut)), gzipSync(bytes.subarray(cut))])
}

async function parquetFile(source: string, rows: readonly ListedObject[]): Promise<Uint8Array> {
  const pw = await import('parquet-wasm')
  const schema = new Schema([
    new Field('bucket', new Utf8(), false),
    new Field('key', new Utf8(), false),
    new Field('size', new Int64(), true),
    new Field('last_modified_date', new TimestampMillisecond('UTC'), true),
    new Field('e_tag', new Utf8(), true),
    new Field('storage_class', new Utf8(), true),
    new Field('is_multipart_uploaded', new Bool(), true),
    new Field('checksum_algorithm', new Utf8(), true),
  ])
  const children = [
    vectorFromArray(
      rows.map(() => source),
      new Utf8(),
    ).data[0]!,
    vectorFromArray(
      rows.map((o) => o.key),
      new Utf8(),
    ).data[0]!,
    vectorFromArray(
      rows.map((o) => BigInt(o.size)),
      new Int64(),
    ).data[0]!,
    vectorFromArray(
      rows.map((o) => o.lastModified.getTime()),
      new TimestampMillisecond('UTC'),
    ).data[0]!,
    vectorFromArray(
      rows.map((o) => o.etag.replaceAll('"', '')),
      new Utf8(),
    ).data[0]!,
    vectorFromArray(
      rows.map((o) => o.storageClass),
      new Utf8(),
    ).data[0]!,
    vectorFromArray(
      rows.map((o) => o.etag.includes('-')),
      new Bool(),
    ).data[0]!,
    vectorFromArray(
      rows.map(() => null),
      new Utf8(),
    ).data[0]!,
  ]
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows.length, nullCount: 0, children }))
  const table = pw.Table.fromIPCStream(tableToIPC(new Table([batch]), 'stream'))
  const props = new pw.WriterPropertiesBuilder()
    .setCompression(pw.Compression.SNAPPY)
    .setMaxRowGroupSize(Math.max(1, Math.ceil(rows.length / 3)))
    .build()
  return pw.writeParquet(table, props)
}

/** Write a report of `rows` (a listing of `source`) into `dest`. */
export async function writeInventoryReport(
  client: S3Client,
  dest: string,
  source: string,
  rows: readonly ListedObject[],
  options: ReportOptions,
): Promise<WrittenReport> {
  const base = `${options.prefix}${source}/${options.configId}/`
  const folder = `${base}${stamp(options.createdAt)}/`
  const n = Math.max(1, options.files ?? 2)
  const per = Math.ceil(rows.length / n)
  const files: { key: string; size: number; MD5checksum: string }[] = []
  const put = (Key: string, Body: Uint8Array | string) => client.send(new PutObjectCommand({ Bucket: dest, Key, Body }))
  for (let i = 0; i < n; i++) {
    const part = rows.slice(i * per, (i + 1) * per)
    const ext = options.format === 'CSV' ? 'csv.gz' : options.format === 'Parquet' ? 'parquet' : 'orc'
    const key = `${base}data/${randomUUID()}.${ext}`
    const bytes = options.format === 'CSV' ? csvFile(source, part) : options.format === 'Parquet' ? await parquetFile(source, part) : Buffer.from('ORC')
    await put(key, bytes)
    files.push({ key, size: bytes.byteLength, MD5checksum: md5(bytes) })
  }
  const manifest = JSON.stringify(
    {
      sourceBucket: source,
      destinationBucket: `arn:aws:s3:::${dest}`,
      version: '2016-11-30',
      creationTimestamp: String(options.createdAt.getTime()),
      fileFormat: options.format,
      fileSchema: options.format === 'CSV' ? CSV_SCHEMA : options.format === 'Parquet' ? PARQUET_SCHEMA : 'struct<bucket:string,key:string,size:bigint>',
      files,
    },
    null,
    2,
  )
  await put(`${folder}manifest.json`, manifest)
  if (options.checksum ?? true) await put(`${folder}manifest.checksum`, md5(Buffer.from(manifest)))
  const dt = options.createdAt.toISOString().slice(0, 16).replace('T', '-').replace(':', '-')
  await put(`${base}hive/dt=${dt}/symlink.txt`, files.map((f) => `s3://${dest}/${f.key}`).join('\n'))
  return { manifestKey: `${folder}manifest.json`, dataKeys: files.map((f) => f.key), folder }
}
