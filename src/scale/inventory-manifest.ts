/**
 * `readInventoryManifest`: an S3 Inventory report's `manifest.json`, checked against its
 * `manifest.checksum` (the MD5 of manifest.json) when that file is there.
 *
 * @example
 * ```ts
 * import { readInventoryManifest } from 'bucketflow'
 * import { Bucket } from 'bucketflow'
 * const inventoryBucket = new Bucket('inventory-reports')
 * const m = await readInventoryManifest(inventoryBucket, 'inv/photos/daily/2024-05-01T01-00Z/manifest.json')
 * console.log(m.fileFormat, m.files.length, m.createdAt.toISOString())
 * ```
 * @packageDocumentation
 */
import type { BucketRef } from '../bucket-ref.js'
import { IntegrityError, InvalidArgumentError, NoSuchKeyError } from '../errors.js'
import { describeValue, validateKey } from '../validate.js'
import { UnsupportedFormatError } from './errors.js'
import { getBytes, md5Hex } from './fetch-verified.js'

/** One data file of an inventory report. */
export interface InventoryFile {
  /** Key of the data file in the destination bucket. */
  key: string
  /** Its size in bytes. */
  size: number
  /** MD5 of its bytes, hex. */
  MD5checksum: string
}

/** An S3 Inventory manifest, as documented, plus where it was read from. */
export interface InventoryManifest {
  /** The bucket the manifest was read from (the report's destination bucket). */
  bucket: string
  /** The key of `manifest.json`. */
  key: string
  /** ETag of `manifest.json` (a Batch Operations job that reads the inventory needs it). */
  etag: string
  sourceBucket: string
  /** The destination bucket's ARN, e.g. `arn:aws:s3:::inventory-bucket`. */
  destinationBucket: string
  version: string
  /** Epoch milliseconds, as the string the manifest holds. */
  creationTimestamp: string
  /** `creationTimestamp` as a Date. */
  createdAt: Date
  fileFormat: 'CSV' | 'ORC' | 'Parquet'
  /** CSV: `"Bucket, Key, Size, ..."`; Parquet: a `message s3.inventory { ... }`; ORC: `struct<...>`. */
  fileSchema: string
  files: InventoryFile[]
  /** `verified`: manifest.checksum matched; `absent`: there is none; `skipped`: `verify: false`. */
  checksum: 'verified' | 'absent' | 'skipped'
}

/** Options for {@link readInventoryManifest}. */
export interface ReadInventoryManifestOptions {
  /** Check manifest.json against manifest.checksum when it exists. Default true. */
  verify?: boolean
  signal?: AbortSignal
}

const FORMATS: Record<string, InventoryManifest['fileFormat']> = { csv: 'CSV', orc: 'ORC', parquet: 'Parquet' }

/**
 * Parse the text of a manifest.json. Throws InvalidArgumentError when it is not an S3 Inventory
 * manifest, UnsupportedFormatError for a file format other than CSV, ORC or Parquet.
 */
export function parseInventoryManifest(text: string, where: { bucket: string; key: string; etag?: string }): Omit<InventoryManifest, 'checksum'> {
  const bad = (why: string) =>
    new InvalidArgumentError(`s3://${where.bucket}/${where.key} is not an S3 Inventory manifest.json: ${why}`, {
      argument: 'manifest',
      bucket: where.bucket,
      key: where.key,
    })
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw bad(`not JSON (${(err as Error).message})`)
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw bad('not a JSON object')
  const m = json as Record<string, unknown>
  const str = (name: string): string => {
    const v = m[name]
    if (typeof v !== 'string') throw bad(`expected "${name}" to be a string, got ${describeValue(v)}`)
    return v
  }
  const format = FORMATS[str('fileFormat').toLowerCase()]
  if (format === undefined) {
    throw new UnsupportedFormatError(
      `s3://${where.bucket}/${where.key}: unknown inventory file format ${describeValue(m.fileFormat)} (expected CSV, ORC or Parquet)`,
      { format: String(m.fileFormat), bucket: where.bucket, key: where.key },
    )
  }
  const created = typeof m.creationTimestamp === 'number' ? String(m.creationTimestamp) : str('creationTimestamp')
  const ms = Number(created)
  if (!/^\d+$/.test(created) || !Number.isSafeInteger(ms)) throw bad(`expected "creationTimestamp" to be epoch milliseconds, got ${describeValue(created)}`)
  if (!Array.isArray(m.files)) throw bad(`expected "files" to be an array, got ${describeValue(m.files)}`)
  const files = m.files.map((x: unknown, i): InventoryFile => {
    const file = (x ?? {}) as Record<string, unknown>
    const md5 = file.MD5checksum
    if (typeof file.key !== 'string' || file.key === '') throw bad(`files[${i}].key is ${describeValue(file.key)}`)
    if (typeof file.size !== 'number' || !Number.isSafeInteger(file.size) || file.size < 0) throw bad(`files[${i}].size is ${describeValue(file.size)}`)
    if (typeof md5 !== 'string' || !/^[0-9a-fA-F]{32}$/.test(md5)) throw bad(`files[${i}].MD5checksum is ${describeValue(md5)}`)
    return { key: file.key, size: file.size, MD5checksum: md5.toLowerCase() }
  })
  return {
    bucket: where.bucket,
    key: where.key,
    etag: where.etag ?? '',
    sourceBucket: str('sourceBucket'),
    destinationBucket: str('destinationBucket'),
    version: typeof m.version === 'string' ? m.version : '',
    creationTimestamp: created,
    createdAt: new Date(ms),
    fileFormat: format,
    fileSchema: str('fileSchema'),
    files,
  }
}

/** The key of the manifest.checksum beside a manifest.json. */
export function checksumKeyOf(manifestKey: string): string {
  const slash = manifestKey.lastIndexOf('/')
  return `${manifestKey.slice(0, slash + 1)}manifest.checksum`
}

/**
 * Read and check an inventory report's `manifest.json` (`key`, in the report's destination
 * bucket). With `verify` (default), the `manifest.checksum` beside it, when present, must hold the
 * MD5 of manifest.json, else IntegrityError. Memory: the manifest.
 *
 * @example
 * ```ts
 * const inventoryBucket = new Bucket('inventory-reports')
 * const [latest] = await findInventories(inventoryBucket, { prefix: 'inv/photos/daily/' })
 * const manifest = await readInventoryManifest(inventoryBucket, latest!.manifestKey)
 * ```
 */
export async function readInventoryManifest(ref: BucketRef, key: string, options: ReadInventoryManifestOptions = {}): Promise<InventoryManifest> {
  validateKey(key, ref.name)
  const verify = options.verify ?? true
  if (typeof verify !== 'boolean') throw new InvalidArgumentError(`Expected verify to be a boolean, got ${describeValue(verify)}`, { argument: 'verify' })
  const { bytes, etag } = await getBytes(ref, key, options.signal)
  let checksum: InventoryManifest['checksum'] = 'skipped'
  if (verify) {
    const checksumKey = checksumKeyOf(key)
    try {
      const expected = (await getBytes(ref, checksumKey, options.signal)).bytes.toString('utf8').trim().toLowerCase()
      const actual = md5Hex(bytes)
      if (expected !== actual) {
        throw new IntegrityError(`s3://${ref.name}/${key}: its MD5 is ${actual}, but ${checksumKey} says ${expected}`, { bucket: ref.name, key })
      }
      checksum = 'verified'
    } catch (err) {
      if (!(err instanceof NoSuchKeyError)) throw err
      checksum = 'absent'
    }
  }
  return { ...parseInventoryManifest(bytes.toString('utf8'), { bucket: ref.name, key, etag: etag.replaceAll('"', '') }), checksum }
}
