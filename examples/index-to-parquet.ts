/**
 * Index a bucket into Parquet without holding the listing in memory, write the same index back
 * to S3, and query it with DuckDB.
 *
 *   npx tsx examples/index-to-parquet.ts            # makes a demo bucket with 5,000 keys
 *   npx tsx examples/index-to-parquet.ts my-bucket  # or indexes one you have
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { Bucket, listPartitioned, toRecordBatches, writeParquet } from 'bucketflow'

const given = process.argv[2]
const bucket = given ? new Bucket(given) : await Bucket.create(`index-demo-${randomBytes(4).toString('hex')}`)
const work = await mkdtemp(join(tmpdir(), 'index-demo-'))
try {
  if (!given) {
    const keys = Array.from({ length: 5000 }, (_, i) => `${['raw', 'clean', 'logs'][i % 3]}/${String(i).padStart(5, '0')}.dat`)
    const sizes = keys.map((_, i) => Buffer.alloc(i % 7))
    const put = await bucket.put(sizes, keys, { concurrency: 32 })
    await bucket.freeze(keys.filter((k) => k.startsWith('raw/')).slice(0, 50), 'GLACIER')
    console.log(`seeded ${put.filter((r) => r.ok).length} objects`)
  }

  // Listing pages (parallel key ranges) -> Arrow record batches -> Parquet, streaming.
  const local = join(work, 'index.parquet')
  const t0 = performance.now()
  const pages = listPartitioned(bucket, { concurrency: 8, onProgress: (p) => p.pages % 10 === 0 && console.log(`  ${p.keys} keys listed`) })
  const result = await writeParquet(toRecordBatches(pages, { batchRows: 65_536 }), local, { compression: 'zstd' })
  console.log(`wrote ${result.rows} rows (${result.bytes} bytes) to ${local} in ${((performance.now() - t0) / 1000).toFixed(2)} s`)

  // The same index, written back into the bucket through a multipart upload: no disk at all.
  const s3 = await writeParquet(toRecordBatches(listPartitioned(bucket)), { bucket, key: '_index/index.parquet' })
  console.log(`wrote s3://${bucket.name}/_index/index.parquet (${s3.bytes} bytes)`)

  // Query it like any table.
  const db = await (await DuckDBInstance.create(':memory:')).connect()
  const reader = await db.runAndReadAll(`select StorageClass, count(*)::INTEGER as objects, sum(Size)::BIGINT as bytes from '${local}' group by 1 order by 1`)
  for (const [cls, objects, bytes] of reader.getRows())
    console.log(`  ${String(cls).padEnd(12)} ${String(objects).padStart(6)} objects ${String(bytes).padStart(8)} bytes`)
  const total = (await db.runAndReadAll(`select count(*)::INTEGER from '${local}'`)).getRows()[0]![0]
  if (!given && total !== 5000) throw new Error(`expected 5000 rows, got ${String(total)}`)
} finally {
  await rm(work, { recursive: true, force: true })
  if (!given) await bucket.delete({ force: true })
}
