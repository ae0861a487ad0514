/**
 * `findInventories`: the inventory reports under a destination prefix, newest first.
 *
 * S3 writes a report to `dest-prefix/source-bucket/config-ID/YYYY-MM-DDTHH-MMZ/manifest.json`
 * (the time the scan started), its data files under `.../config-ID/data/` and Hive symlinks under
 * `.../config-ID/hive/`. Given the config folder, the timestamped folders are found with one
 * delimited listing; given a higher folder (`dest-prefix/` or `dest-prefix/source-bucket/`), up to
 * two more levels are walked. A timestamped folder counts only once its manifest.json exists
 * (S3 writes it after the data files).
 *
 * @example
 * ```ts
 * import { findInventories } from 'bucketflow'
 * import { Bucket } from 'bucketflow'
 * const inventoryBucket = new Bucket('inventory-reports')
 * const [latest] = await findInventories(inventoryBucket, { prefix: 'inv/photos/daily/' })
 * if (latest) console.log(latest.manifestKey, latest.createdAt)
 * ```
 * @packageDocumentation
 */
import type { BucketRef } from '../bucket-ref.js'
import { InvalidArgumentError } from '../errors.js'
import { boundedMap } from '../results.js'
import { listObjects } from '../stages/list.js'
import { describeValue, validateKey } from '../validate.js'

/** One inventory report found by {@link findInventories}. */
export interface InventoryReport {
  /** Key of its manifest.json. */
  manifestKey: string
  /** When the inventory scan started (from the folder name, UTC, minute precision). */
  createdAt: Date
  /** The source bucket's name, from the path. */
  sourceBucket: string
  /** The inventory configuration's ID, from the path. */
  configId: string
}

/** Options for {@link findInventories}. */
export interface FindInventoriesOptions {
  /**
   * The folder holding the reports: `dest-prefix/source-bucket/config-ID/`, or a folder above it
   * (up to two levels). Default: the bucket's top level.
   */
  prefix?: string
  signal?: AbortSignal
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})Z\/$/

/** The Date of a report folder name like `2024-05-01T01-00Z/`, or undefined. */
export function reportTime(folder: string): Date | undefined {
  const m = TIMESTAMP.exec(folder)
  if (!m) return undefined
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]))
  return Number.isNaN(t) ? undefined : new Date(t)
}

/**
 * The inventory reports (with a manifest.json) under `prefix`, newest first.
 *
 * @example
 * ```ts
 * import { Bucket } from 'bucketflow'
 * const inventoryBucket = new Bucket('inventory-reports')
 * const reports = await findInventories(inventoryBucket, { prefix: 'inv/' }) // every source and config
 * for (const r of reports) console.log(r.sourceBucket, r.configId, r.createdAt.toISOString())
 * ```
 */
export async function findInventories(ref: BucketRef, options: FindInventoriesOptions = {}): Promise<InventoryReport[]> {
  let prefix = options.prefix ?? ''
  if (typeof prefix !== 'string') throw new InvalidArgumentError(`Expected prefix to be a string, got ${describeValue(prefix)}`, { argument: 'prefix' })
  if (prefix !== '') {
    validateKey(prefix, ref.name, 'prefix')
    if (!prefix.endsWith('/')) prefix += '/'
  }
  const signal = options.signal
  const candidates: { folder: string; createdAt: Date }[] = []
  const walk = async (folder: string, depth: number): Promise<void> => {
    const below: string[] = []
    for await (const entry of listObjects(ref, { prefix: folder, delimiter: '/', ...(signal ? { signal } : {}) })) {
      if (entry.kind !== 'prefix') continue
      const name = entry.key.slice(folder.length)
      const createdAt = reportTime(name)
      if (createdAt) candidates.push({ folder: entry.key, createdAt })
      else if (depth < 2 && name !== 'data/' && name !== 'hive/') below.push(entry.key)
    }
    for (const sub of below) await walk(sub, depth + 1)
  }
  await walk(prefix, 0)
  const found: InventoryReport[] = []
  const check = async (c: { folder: string; createdAt: Date }): Promise<InventoryReport | undefined> => {
    const manifestKey = `${c.folder}manifest.json`
    for await (const entry of listObjects(ref, { prefix: manifestKey, pageSize: 1, ...(signal ? { signal } : {}) })) {
      if (entry.key !== manifestKey) continue
      const parts = c.folder.split('/')
      return { manifestKey, createdAt: c.createdAt, sourceBucket: parts.at(-4) ?? '', configId: parts.at(-3) ?? '' }
    }
    return undefined
  }
  const settle = (c: { folder: string; createdAt: Date }) =>
    check(c).then(
      (report) => ({ report }),
      (error: unknown) => ({ error }),
    )
  for await (const r of boundedMap(candidates, settle, 8, true)) {
    if ('error' in r) throw r.error
    if (r.report) found.push(r.report)
  }
  return found.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.manifestKey < b.manifestKey ? 1 : a.manifestKey > b.manifestKey ? -1 : 0))
}
