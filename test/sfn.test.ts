import { describe, expect, it, beforeAll } from 'vitest'
import {
  InvalidArgumentError,
  inventorySplits,
  itemReaderFor,
  listPages,
  listPartitioned,
  splitKeySpace,
  toRecordBatches,
  writeKeyRanges,
  type KeyRange,
  type KeyRangeItem,
} from '../src/index.js'
import { useBucket } from './support/s3.js'

const KEYS: string[] = []
for (let i = 0; i < 300; i++) KEYS.push(`logs/${String(i % 7)}/2024-05-${String((i % 28) + 1).padStart(2, '0')}/${i}.gz`)
KEYS.push('top.txt', 'a b/c+d.txt', 'ü/é.txt', '😀/x', `long/${'z'.repeat(1019)}`, 'logs.txt', 'logs0')

async function listRange(bucket: ReturnType<ReturnType<typeof useBucket>>, item: KeyRangeItem): Promise<string[]> {
  const keys: string[] = []
  const opts = {
    prefix: item.prefix,
    ...(item.startAfter !== undefined ? { startAfter: item.startAfter } : {}),
    ...(item.endBefore !== undefined ? { endBefore: item.endBefore } : {}),
  }
  for await (const page of listPages(bucket, opts)) for (const o of page.objects) keys.push(o.key)
  return keys
}

describe('Step Functions Distributed Map helpers', () => {
  const bucket = useBucket('sfn')
  const work = useBucket('sfn-work')
  beforeAll(async () => {
    const results = await bucket().put(
      KEYS.map(() => Buffer.from('x')),
      KEYS,
      { concurrency: 16 },
    )
    expect(results.every((r) => r.ok)).toBe(true)
  })

  it('writes key ranges from the splitter; children listing one range each see every key exactly once', async () => {
    const checkpoint = await splitKeySpace(bucket(), { parts: 6 })
    expect(checkpoint.ranges.length).toBeGreaterThan(1)
    const written = await writeKeyRanges(work(), 'sfn/ranges.jsonl', checkpoint)
    expect(written.objectArn).toBe(`arn:aws:s3:::${work().name}/sfn/ranges.jsonl`)
    expect(written.rows).toBe(checkpoint.ranges.length)
    const text = await work().read('sfn/ranges.jsonl')
    const items = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as KeyRangeItem)
    expect(items.every((i) => i.bucket === bucket().name && i.prefix === '')).toBe(true)
    const seen: string[] = []
    for (const item of items) seen.push(...(await listRange(bucket(), item)))
    expect(seen.length).toBe(KEYS.length)
    expect(new Set(seen)).toEqual(new Set(KEYS))
  })

  it('splits under a prefix, and a bucket smaller than one page into one range', async () => {
    const cp = await splitKeySpace(bucket(), { prefix: 'logs/', parts: 4 })
    const { rows } = await writeKeyRanges(work(), 'sfn/logs.jsonl', cp)
    const items = (await work().read('sfn/logs.jsonl'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as KeyRangeItem)
    expect(items).toHaveLength(rows)
    const seen: string[] = []
    for (const item of items) seen.push(...(await listRange(bucket(), item)))
    expect(seen.sort()).toEqual(KEYS.filter((k) => k.startsWith('logs/')).sort())
    expect(await splitKeySpace(bucket(), { prefix: 'nothing/', parts: 4 })).toEqual({ version: 1, bucket: bucket().name, prefix: 'nothing/', ranges: [{}] })
  })

  it('splits into ranges of equal size from an index (inventorySplits), usable to resume a partitioned listing', async () => {
    const batches = toRecordBatches(listPages(bucket()), { batchRows: 50 })
    const ranges = await inventorySplits(batches, 5)
    expect(ranges).toHaveLength(5)
    expect(ranges[0]!.startAfter).toBeUndefined()
    expect(ranges.at(-1)!.endBefore).toBeUndefined()
    const counts: number[] = []
    for (const r of ranges) counts.push((await listRange(bucket(), { bucket: bucket().name, prefix: '', ...r })).length)
    expect(counts.reduce((a, b) => a + b, 0)).toBe(KEYS.length)
    for (const c of counts) expect(Math.abs(c - KEYS.length / 5)).toBeLessThanOrEqual(1)
    const listing = listPartitioned(bucket(), { concurrency: 5, resume: { version: 1, bucket: bucket().name, prefix: '', ranges } })
    const keys: string[] = []
    for await (const page of listing) for (const o of page.objects) keys.push(o.key)
    expect(keys.sort()).toEqual([...KEYS].sort())
    expect(await inventorySplits([], 4)).toEqual([{}])
  })

  it('refuses overlapping or unordered ranges before writing', async () => {
    const bad: KeyRange[][] = [
      [{ endBefore: 'm' }, { startAfter: 'a' }],
      [{ startAfter: 'b', endBefore: 'c' }, { endBefore: 'z' }],
      [{ endBefore: 'c' }, { startAfter: 'c' }, { startAfter: 'a' }],
      [{ startAfter: 'z', endBefore: 'a' }],
      [],
    ]
    for (const ranges of bad) {
      const err = await writeKeyRanges(work(), 'sfn/bad.jsonl', ranges).catch((e: unknown) => e)
      expect(err, JSON.stringify(ranges)).toBeInstanceOf(InvalidArgumentError)
    }
    expect(await work().exists('sfn/bad.jsonl')).toBe(false)
  })

  it('builds ItemReader JSON for CSV manifests, JSON Lines and inventory manifests', () => {
    expect(itemReaderFor({ bucket: 'work', key: 'jobs/m.csv', format: 'csv' })).toEqual({
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'GIVEN', CSVHeaders: ['Bucket', 'Key'] },
      Parameters: { Bucket: 'work', Key: 'jobs/m.csv' },
    })
    expect(itemReaderFor({ bucket: 'work', key: 'sfn/ranges.jsonl', format: 'jsonl', maxItems: 10, queryLanguage: 'JSONata' })).toEqual({
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'JSONL', MaxItems: 10 },
      Arguments: { Bucket: 'work', Key: 'sfn/ranges.jsonl' },
    })
    expect(
      itemReaderFor({ bucket: 'inv', key: 'inv/photos/daily/2024-05-01T01-00Z/manifest.json', format: 'manifest', versionId: 'v1', partition: 'aws-cn' }),
    ).toEqual({
      Resource: 'arn:aws-cn:states:::s3:getObject',
      ReaderConfig: { InputType: 'MANIFEST' },
      Parameters: { Bucket: 'inv', Key: 'inv/photos/daily/2024-05-01T01-00Z/manifest.json', VersionId: 'v1' },
    })
    for (const [opts, argument] of [
      [{ bucket: 'work', key: 'x', format: 'parquet' }, 'format'],
      [{ bucket: 'Work', key: 'x', format: 'csv' }, 'bucket'],
      [{ bucket: 'work', key: '', format: 'csv' }, 'key'],
      [{ bucket: 'work', key: 'x', format: 'csv', csvHeaders: ['a', 'a'] }, 'csvHeaders'],
      [{ bucket: 'work', key: 'x', format: 'jsonl', maxItems: 0 }, 'maxItems'],
    ] as const) {
      let err: unknown
      try {
        itemReaderFor(opts as never)
      } catch (e) {
        err = e
      }
      expect(err, argument).toBeInstanceOf(InvalidArgumentError)
      expect((err as InvalidArgumentError).argument).toBe(argument)
    }
  })
})
