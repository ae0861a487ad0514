import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RecordBatch } from 'apache-arrow'
import { InvalidArgumentError, listPages, listPartitioned, toRecordBatches, writeParquet } from '../src/index.js'
import { sdkListing } from './support/inventory.js'
import { useBucket } from './support/s3.js'

const KEYS: string[] = []
for (let i = 0; i < 120; i++) KEYS.push(`logs/${2020 + (i % 4)}/${String(i % 12).padStart(2, '0')}/${i}.gz`)
for (let i = 0; i < 30; i++) KEYS.push(`images/cat ${i}.png`)
KEYS.push('top-level.txt', 'README', 'été/ü.txt', 'a=b/c.txt', '100%/x', 'plus+/y', 'q"uote/z', 'deep/one', '/leading', '__HIVE_DEFAULT_PARTITION__/x')
// A prefix too long for one folder name (over 255 bytes): its row goes to the NULL partition.
const LONG = `${'x'.repeat(300)}/long`
KEYS.push(LONG)

/** Counts per prefix at `depth` levels from the SDK's listing: the reference (null: no prefix). */
function referenceCounts(keys: string[], depth: number): Map<string | null, number> {
  const counts = new Map<string | null, number>()
  for (const key of keys) {
    const parts = key.split('/')
    const levels = Math.min(depth, parts.length - 1)
    const value = levels === 0 ? null : `${parts.slice(0, levels).join('/')}/`
    const prefix = key === LONG ? null : value
    counts.set(prefix, (counts.get(prefix) ?? 0) + 1)
  }
  return counts
}

async function duckCounts(db: DuckDBConnection, root: string): Promise<Map<string | null, number>> {
  const reader = await db.runAndReadAll(
    `select prefix, count(*)::INTEGER as n, count(distinct Key)::INTEGER as d from read_parquet('${root}/*/*.parquet', hive_partitioning = true, hive_types_autocast = false) group by 1`,
  )
  const out = new Map<string | null, number>()
  for (const [prefix, n, d] of reader.getRows()) {
    expect(d).toBe(n)
    out.set(prefix as string | null, n as number)
  }
  return out
}

describe('partitioned Parquet for query engines', () => {
  const bucket = useBucket('partitioned')
  let dir: string
  let db: DuckDBConnection
  let keys: string[]

  beforeAll(async () => {
    const results = await bucket().put(
      KEYS.map(() => Buffer.from('x')),
      KEYS,
      { concurrency: 16 },
    )
    expect(results.every((r) => r.ok)).toBe(true)
    keys = (await sdkListing(bucket().client, bucket().name)).map((o) => o.key)
    expect(keys.length).toBe(KEYS.length)
    dir = await mkdtemp(join(tmpdir(), 'bf-partitioned-'))
    db = await (await DuckDBInstance.create(':memory:')).connect()
  })
  afterAll(async () => {
    db?.closeSync()
    await rm(dir, { recursive: true, force: true })
  })

  it('writes prefix=<encoded>/part-00000.parquet that DuckDB reads with hive partitioning, counts equal to the listing', async () => {
    const root = join(dir, 'depth1')
    const batches = toRecordBatches(listPages(bucket()), { batchRows: 40 })
    const result = await writeParquet(batches, root, { partitionBy: { prefix: 1 } })
    expect(result.rows).toBe(keys.length)
    const expected = referenceCounts(keys, 1)
    expect(await duckCounts(db, root)).toEqual(expected)
    expect(result.files!.map((f) => f.partition).sort()).toEqual([...expected.keys()].sort())
    const folders = (await readdir(root)).sort()
    expect(folders).toContain('prefix=__HIVE_DEFAULT_PARTITION__')
    expect(folders).toContain('prefix=%C3%A9t%C3%A9%2F')
    expect(folders).toContain('prefix=__HIVE_DEFAULT_PARTITION__%2F')
    expect(folders.every((f) => /^prefix=[A-Za-z0-9._~%-]+$/.test(f))).toBe(true)
    // One query on one prefix reads that prefix's rows only.
    const one = await db.runAndReadAll(`select count(*)::INTEGER from read_parquet('${root}/*/*.parquet', hive_partitioning = true) where prefix = 'a=b/'`)
    expect(one.getRows()).toEqual([[1]])
  })

  it('partitions two levels deep, from an unordered partitioned listing with one file open at a time', async () => {
    const root = join(dir, 'depth2')
    const batches = toRecordBatches(listPartitioned(bucket(), { concurrency: 4, pageSize: 25 }))
    const result = await writeParquet(batches, root, { partitionBy: { prefix: 2, maxOpenFiles: 1 }, compression: 'snappy' })
    expect(result.rows).toBe(keys.length)
    expect(await duckCounts(db, root)).toEqual(referenceCounts(keys, 2))
    expect(result.files!.some((f) => f.path.endsWith('part-00001.parquet'))).toBe(true)
  })

  it('writes to S3 under a prefix; the downloaded folder reads the same', async () => {
    const result = await writeParquet(toRecordBatches(listPages(bucket())), { bucket: bucket(), key: 'index/by-prefix' }, { partitionBy: { prefix: 1 } })
    const objects = (await bucket().list('index/by-prefix/')).filter((k) => k.endsWith('.parquet'))
    expect(objects.sort()).toEqual(result.files!.map((f) => f.path).sort())
    const local = join(dir, 'from-s3')
    const got = await bucket().get(
      objects,
      objects.map((k) => join(local, k.slice('index/by-prefix/'.length))),
    )
    expect(got.every((r) => r.ok)).toBe(true)
    expect(await duckCounts(db, local)).toEqual(referenceCounts(keys, 1))
    const again = await writeParquet(toRecordBatches(listPages(bucket())), { bucket: bucket(), key: 'index/by-prefix/' }, { partitionBy: { prefix: 1 } }).catch(
      (e: unknown) => e,
    )
    expect(again).toBeInstanceOf(InvalidArgumentError)
  })

  it('refuses a non-empty folder and leaves nothing when the source fails', async () => {
    const busy = join(dir, 'busy')
    await writeParquet(toRecordBatches(listPages(bucket())), busy, { partitionBy: { prefix: 1 } })
    const err = await writeParquet(toRecordBatches(listPages(bucket())), busy, { partitionBy: { prefix: 1 } }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidArgumentError)
    expect((err as InvalidArgumentError).argument).toBe('destination')

    async function* failing(): AsyncGenerator<RecordBatch> {
      let n = 0
      for await (const b of toRecordBatches(listPages(bucket()), { batchRows: 10 })) {
        yield b
        if (++n === 6) throw new Error('listing broke')
      }
    }
    const root = join(dir, 'failed')
    const failed = await writeParquet(failing(), root, { partitionBy: { prefix: 1, maxOpenFiles: 1 } }).catch((e: unknown) => e)
    expect((failed as Error).message).toBe('listing broke')
    expect(await readdir(root)).toEqual([])
    const s3Failed = await writeParquet(failing(), { bucket: bucket(), key: 'failed-index/' }, { partitionBy: { prefix: 1, maxOpenFiles: 1 } }).catch(
      (e: unknown) => e,
    )
    expect((s3Failed as Error).message).toBe('listing broke')
    expect(await bucket().list('failed-index/')).toEqual([])
    expect(await bucket().listUploads({ prefix: 'failed-index/' })).toEqual([])
    await writeFile(join(dir, 'file'), 'x')
    for (const [opts, argument] of [
      [{ partitionBy: { prefix: 0 } }, 'partitionBy.prefix'],
      [{ partitionBy: { prefix: 1, maxOpenFiles: 0 } }, 'partitionBy.maxOpenFiles'],
    ] as const) {
      const e = await writeParquet([], join(dir, 'never'), opts).catch((x: unknown) => x)
      expect((e as InvalidArgumentError).argument).toBe(argument)
    }
  })
})
