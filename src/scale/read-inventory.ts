import type { RecordBatch } from 'apache-arrow'
import type { BucketRef } from '../bucket-ref.js'
import { AbortError, InvalidArgumentError } from '../errors.js'
import { linkedController } from '../results.js'
import { describeValue, validateConcurrency, validateInteger, validateKey } from '../validate.js'
import { UnsupportedFormatError } from './errors.js'
import { DEFAULT_SPOOL_BYTES, fetchVerified, release, type VerifiedFile } from './fetch-verified.js'
import { fieldOfCsvName, fieldOfParquetName, InventoryBatchBuilder, outputOrder, schemaFieldNames } from './inventory-columns.js'
import { readInventoryManifest, type InventoryFile, type InventoryManifest } from './inventory-manifest.js'
import { csvRows, parquetRows } from './inventory-rows.js'

/** Progress of {@link readInventory}, after each data file. */
export interface InventoryProgress {
  /** Data files read. */
  files: number
  filesTotal: number
  /** Rows yielded so far. */
  rows: number
  /** Bytes of data files downloaded and verified so far. */
  bytes: number
}

/** Options for {@link readInventory}. */
export interface ReadInventoryOptions {
  /** Data files downloaded ahead at once. Default 4. */
  concurrency?: number
  /**
   * Output columns to keep, by output name (Key, LastModified, ETag, Size, StorageClass, Bucket,
   * VersionId, IsLatest, ...), in the output's order. Default: every column the report has.
   */
  columns?: readonly string[]
  /** Check each data file's MD5 against the manifest. Default true. */
  verifyMd5?: boolean
  /** Check manifest.json against manifest.checksum (when the manifest is given by key). Default true. */
  verifyManifest?: boolean
  /** Keep only keys starting with this prefix. */
  prefix?: string
  /** Rows per yielded batch (the last one smaller). Default 65,536. */
  batchRows?: number
  /** Data files larger than this go to a temporary file instead of memory. Default 64 MiB. */
  spoolBytes?: number
  signal?: AbortSignal
  onProgress?: (progress: InventoryProgress) => void
}

function isManifest(m: unknown): m is InventoryManifest {
  return m !== null && typeof m === 'object' && Array.isArray((m as InventoryManifest).files) && typeof (m as InventoryManifest).fileFormat === 'string'
}

/**
 * Read an inventory report (`manifest`: the key of its manifest.json in `bucket`, or a manifest
 * already read with {@link readInventoryManifest}) as Arrow record batches of one schema.
 *
 * @example
 * ```ts
 * import { Bucket } from 'bucketflow'
 * const inventoryBucket = new Bucket('inventory-reports')
 * const manifestKey = 'inv/photos/daily/2024-05-01T01-00Z/manifest.json'
 * let bytes = 0n
 * for await (const batch of readInventory(inventoryBucket, manifestKey, { columns: ['Key', 'Size'] })) {
 *   for (const size of batch.getChild('Size')!) bytes += size ?? 0n
 * }
 * ```
 */
export async function* readInventory(
  ref: BucketRef,
  manifest: string | InventoryManifest,
  options: ReadInventoryOptions = {},
): AsyncGenerator<RecordBatch, void, undefined> {
  const concurrency = options.concurrency ?? 4
  validateConcurrency(concurrency)
  const batchRows = options.batchRows ?? 65_536
  validateInteger(batchRows, 'batchRows', 1)
  const spoolBytes = options.spoolBytes ?? DEFAULT_SPOOL_BYTES
  validateInteger(spoolBytes, 'spoolBytes', 0)
  const prefix = options.prefix ?? ''
  if (typeof prefix !== 'string') throw new InvalidArgumentError(`Expected prefix to be a string, got ${describeValue(prefix)}`, { argument: 'prefix' })
  if (
    options.columns !== undefined &&
    (!Array.isArray(options.columns) || options.columns.length === 0 || options.columns.some((c) => typeof c !== 'string'))
  ) {
    throw new InvalidArgumentError(`Expected columns to be a non-empty array of column names, got ${describeValue(options.columns)}`, { argument: 'columns' })
  }
  if (typeof manifest === 'string') validateKey(manifest, ref.name, 'manifest')
  else if (!isManifest(manifest)) {
    throw new InvalidArgumentError(
      `Expected manifest to be the key of a manifest.json or a manifest from readInventoryManifest, got ${describeValue(manifest)}`,
      { argument: 'manifest' },
    )
  }
  const verifyMd5 = options.verifyMd5 ?? true
  const signal = options.signal
  const m =
    typeof manifest === 'string'
      ? await readInventoryManifest(ref, manifest, { verify: options.verifyManifest ?? true, ...(signal ? { signal } : {}) })
      : manifest
  if (m.fileFormat === 'ORC') {
    throw new UnsupportedFormatError(`s3://${ref.name}/${m.key}: ORC inventory reports are not read; configure the inventory as CSV or Parquet`, {
      format: 'ORC',
      bucket: ref.name,
      key: m.key,
    })
  }

  const names = schemaFieldNames(m.fileSchema, m.fileFormat)
  const fields = names.map((n) => (m.fileFormat === 'CSV' ? fieldOfCsvName(n) : fieldOfParquetName(n)))
  if (!fields.some((x) => x.kind === 'key')) {
    throw new InvalidArgumentError(`s3://${ref.name}/${m.key}: the manifest's fileSchema has no Key column (${describeValue(m.fileSchema)})`, {
      argument: 'manifest',
      bucket: ref.name,
      key: m.key,
    })
  }
  let columns = outputOrder(fields)
  if (options.columns !== undefined) {
    const wanted = options.columns
    const missing = wanted.filter((c) => !columns.some((x) => x.out === c))
    if (missing.length > 0) {
      throw new InvalidArgumentError(`Columns ${missing.join(', ')} are not in this inventory; it has ${columns.map((x) => x.out).join(', ')}`, {
        argument: 'columns',
      })
    }
    columns = columns.filter((x) => wanted.includes(x.out))
  }
  const builder = new InventoryBatchBuilder(columns)

  const { controller, dispose } = linkedController(signal)
  type Settled = { ok: true; file: VerifiedFile; entry: InventoryFile } | { ok: false; error: unknown }
  const window: Promise<Settled>[] = []
  let next = 0
  const fill = (): void => {
    while (window.length < concurrency && next < m.files.length) {
      const entry = m.files[next++]!
      window.push(
        fetchVerified(ref, entry.key, { size: entry.size, ...(verifyMd5 ? { md5: entry.MD5checksum } : {}) }, { spoolBytes, signal: controller.signal }).then(
          (file): Settled => ({ ok: true, file, entry }),
          (error: unknown): Settled => ({ ok: false, error }),
        ),
      )
    }
  }
  const progress: InventoryProgress = { files: 0, filesTotal: m.files.length, rows: 0, bytes: 0 }
  const aborted = (): AbortError => new AbortError('Reading the inventory was aborted', { bucket: ref.name, key: m.key, cause: signal?.reason })

  try {
    fill()
    while (window.length > 0) {
      const settled = await window.shift()!
      fill()
      if (signal?.aborted) throw aborted()
      if (!settled.ok) throw settled.error
      try {
        const rows =
          m.fileFormat === 'CSV'
            ? csvRows(settled.file, fields, columns, ref.name, settled.entry.key)
            : parquetRows(settled.file, fields, columns, ref.name, settled.entry.key)
        for await (const { key, cells } of rows) {
          if (prefix !== '' && !key.startsWith(prefix)) continue
          builder.add(cells)
          if (builder.length >= batchRows) {
            progress.rows += builder.length
            yield builder.build()
            if (signal?.aborted) throw aborted()
          }
        }
      } finally {
        await release(settled.file)
      }
      progress.files++
      progress.bytes += settled.entry.size
      options.onProgress?.({ ...progress, rows: progress.rows + builder.length })
    }
    if (builder.length > 0) {
      progress.rows += builder.length
      yield builder.build()
    }
  } finally {
    controller.abort(new AbortError('The consumer stopped', { bucket: ref.name, key: m.key }))
    for (const pending of window.splice(0)) {
      const settled = await pending
      if (settled.ok) await release(settled.file)
    }
    dispose()
  }
}
