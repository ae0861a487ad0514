/**
 * Beyond one machine: bucketflow as the glue to AWS's own fan-out. Against any S3 endpoint (the
 * local test server works), this program
 *   1. writes a Hive-partitioned Parquet index that DuckDB (or Athena, Spark) queries by prefix,
 *   2. writes an S3 Batch Operations manifest and plans a freeze job (printed, not submitted),
 *   3. splits the bucket into key ranges for a Step Functions Distributed Map and prints its ItemReader,
 *   4. appends to a log object (S3 Express One Zone, or Ceph radosgw's append API).
 *
 *   npx tsx examples/beyond-one-machine.ts
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import {
  Bucket,
  itemReaderFor,
  listPages,
  NotDirectoryBucketError,
  planBatchJob,
  splitKeySpace,
  toRecordBatches,
  writeBatchManifest,
  writeKeyRanges,
  writeParquet,
} from 'bucketflow'

const bucket = await Bucket.create(`scale-demo-${randomBytes(4).toString('hex')}`)
const work = await mkdtemp(join(tmpdir(), 'scale-demo-'))
try {
  const keys = Array.from({ length: 300 }, (_, i) => `${['raw', 'clean', 'logs'][i % 3]}/2024-05-${String((i % 28) + 1).padStart(2, '0')}/${i}.json`)
  await bucket.put(
    keys.map((k) => Buffer.from(k)),
    keys,
    { concurrency: 16 },
  )

  // 1. Partitioned Parquet: prefix=<encoded>/part-00000.parquet, one folder per top-level prefix.
  const root = join(work, 'index')
  const written = await writeParquet(toRecordBatches(listPages(bucket), { batchRows: 1000 }), root, { partitionBy: { prefix: 1 } })
  console.log(`index: ${written.rows} rows in ${written.files!.length} partitions`)
  const db = await (await DuckDBInstance.create(':memory:')).connect()
  const counts = await db.runAndReadAll(
    `select prefix, count(*)::INTEGER from read_parquet('${root}/*/*.parquet', hive_partitioning = true) group by 1 order by 1`,
  )
  for (const [prefix, n] of counts.getRows()) console.log(`  ${String(prefix).padEnd(8)} ${n} objects`)
  db.closeSync()

  // 2. A Batch Operations manifest of raw/, and the CreateJob request that would freeze it.
  const raw = (async function* () {
    for await (const key of bucket.list('raw/')) yield { bucket: bucket.name, key }
  })()
  const manifest = await writeBatchManifest(bucket, '_jobs/freeze-raw.csv', raw)
  const plan = planBatchJob({
    accountId: '123456789012',
    roleArn: 'arn:aws:iam::123456789012:role/batch-operations',
    operation: { kind: 'freeze', storageClass: 'DEEP_ARCHIVE' },
    manifest,
    report: { bucket: bucket.name, prefix: '_jobs/reports', scope: 'FailedTasksOnly' },
    clientRequestToken: 'freeze-raw-2024-05',
  })
  console.log(`batch: ${manifest.rows} objects, operation ${Object.keys(plan.Operation!)[0]} -> ${plan.Operation!.S3PutObjectCopy!.StorageClass}`)

  // 3. Key ranges for a Distributed Map: each child lists one range with listPages(bucket, range).
  const ranges = await writeKeyRanges(bucket, '_jobs/ranges.jsonl', await splitKeySpace(bucket, { parts: 4 }))
  console.log(
    `sfn: ${ranges.rows} key ranges; ItemReader ${JSON.stringify(itemReaderFor({ bucket: bucket.name, key: ranges.key, format: 'jsonl' }).ReaderConfig)}`,
  )

  // 4. Append, where the server can.
  try {
    await bucket.append('first line\n', 'app.log', { literal: true })
    const { size } = await bucket.append('second line\n', 'app.log', { literal: true })
    console.log(`append: app.log is ${size} bytes`)
  } catch (err) {
    if (!(err instanceof NotDirectoryBucketError)) throw err
    console.log('append: this server has neither S3 Express nor radosgw appends')
  }
} finally {
  await bucket.delete({ force: true })
  await rm(work, { recursive: true, force: true })
}
