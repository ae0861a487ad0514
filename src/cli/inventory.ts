/**
 * `bucketflow inventory ls|show|index`: S3 Inventory reports as a listing source (no LIST requests
 * on the source bucket).
 */
import type { Command } from 'commander'
import {
  type Bucket,
  findInventories,
  InvalidArgumentError,
  type InventoryManifest,
  type ParquetCompression,
  type ParquetDestination,
  readInventory,
  readInventoryManifest,
  writeParquet,
} from '../index.js'
import { act, EXIT_OK, formatBytes, globals, isS3Url, openBucket, Output, parseS3Url, positiveInt, type GlobalOptions } from './common.js'

/** The manifest a URL names: a manifest.json itself, or the newest report under a prefix. */
export async function resolveManifest(bucket: Bucket, key: string): Promise<InventoryManifest> {
  if (key.endsWith('manifest.json')) return readInventoryManifest(bucket, key)
  const [newest] = await findInventories(bucket, key ? { prefix: key } : {})
  if (!newest)
    throw new InvalidArgumentError(`No inventory report (a .../YYYY-MM-DDTHH-MMZ/manifest.json) under s3://${bucket.name}/${key}`, { argument: 'url' })
  return readInventoryManifest(bucket, newest.manifestKey)
}

function destinationOf(destination: string, bucket: Bucket, g: GlobalOptions): ParquetDestination {
  if (!isS3Url(destination)) return destination
  const d = parseS3Url(destination, 'destination')
  return { bucket: d.bucket === bucket.name ? bucket : openBucket(d.bucket, g), key: d.key }
}

export function register(program: Command): void {
  const inventory = program
    .command('inventory')
    .description('read S3 Inventory reports instead of listing a bucket: find them, check them, turn them into Parquet indexes')
    .addHelpText(
      'after',
      '\nReports live at s3://DEST/PREFIX/SOURCE-BUCKET/CONFIG-ID/YYYY-MM-DDTHH-MMZ/manifest.json.\nCSV and Parquet reports are read; ORC is refused. Every data file is checked against its MD5.',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  bucketflow inventory ls s3://inventory/inv/\n  bucketflow inventory index s3://inventory/inv/photos/daily/ photos.parquet',
    )

  inventory
    .command('ls')
    .description('list inventory reports under a prefix, newest first')
    .argument('<url>', 's3://inventory-bucket/prefix (the config folder, or up to two levels above it)')
    .addHelpText(
      'after',
      '\nExamples:\n  bucketflow inventory ls s3://inventory/inv/\n  bucketflow --json inventory ls s3://inventory/inv/photos/daily/ | head -1',
    )
    .action(
      act(async (url: string, _opts: unknown, cmd: Command) => {
        const g = globals(cmd)
        const out = new Output(g)
        const { bucket: name, key } = parseS3Url(url)
        const reports = await findInventories(openBucket(name, g), key ? { prefix: key } : {})
        for (const r of reports) {
          out.data(`${r.createdAt.toISOString()}  ${r.sourceBucket}  ${r.configId}  s3://${name}/${r.manifestKey}`, {
            ...r,
            createdAt: r.createdAt.toISOString(),
            url: `s3://${name}/${r.manifestKey}`,
          })
        }
        out.summary(`${reports.length} inventory reports`)
        return EXIT_OK
      }),
    )

  inventory
    .command('show')
    .description("show a report's manifest (checked against manifest.checksum): source, format, columns, data files")
    .argument('<url>', 's3://inventory-bucket/.../manifest.json, or a prefix (its newest report)')
    .addHelpText(
      'after',
      '\nExamples:\n  bucketflow inventory show s3://inventory/inv/photos/daily/2024-05-01T01-00Z/manifest.json\n  bucketflow --json inventory show s3://inventory/inv/photos/daily/',
    )
    .action(
      act(async (url: string, _opts: unknown, cmd: Command) => {
        const g = globals(cmd)
        const out = new Output(g)
        const { bucket: name, key } = parseS3Url(url)
        const m = await resolveManifest(openBucket(name, g), key)
        const bytes = m.files.reduce((n, f) => n + f.size, 0)
        out.data(
          [
            `manifest     s3://${m.bucket}/${m.key} (checksum: ${m.checksum})`,
            `source       s3://${m.sourceBucket}`,
            `created      ${m.createdAt.toISOString()}`,
            `format       ${m.fileFormat}`,
            `schema       ${m.fileSchema}`,
            `data files   ${m.files.length} (${formatBytes(bytes)})`,
          ].join('\n'),
          { ...m, createdAt: m.createdAt.toISOString(), bytes },
        )
        return EXIT_OK
      }),
    )

  inventory
    .command('index')
    .description("write an inventory report as a Parquet index (the listing columns, then the report's others), optionally Hive-partitioned by key prefix")
    .argument('<url>', 's3://inventory-bucket/.../manifest.json, or a prefix (its newest report)')
    .argument('<destination>', 'a local .parquet path (a folder with --partition-by-prefix), or s3://bucket/key')
    .option('--partition-by-prefix <depth>', 'write prefix=<value>/part-NNNNN.parquet folders, by this many key levels', positiveInt('partition-by-prefix'))
    .option('--prefix <prefix>', 'only keys under this prefix')
    .option('--compression <codec>', 'zstd, snappy, gzip, brotli, lz4 or uncompressed', 'zstd')
    .addHelpText(
      'after',
      '\nExamples:\n  bucketflow inventory index s3://inventory/inv/photos/daily/ photos.parquet\n  bucketflow inventory index --partition-by-prefix 1 s3://inventory/inv/photos/daily/ photos-index/\n  duckdb -c "select prefix, count(*) from read_parquet(\'photos-index/*/*.parquet\', hive_partitioning = true) group by 1"',
    )
    .action(
      act(async (url: string, destination: string, opts: { partitionByPrefix?: number; prefix?: string; compression: ParquetCompression }, cmd: Command) => {
        const g = globals(cmd)
        const out = new Output(g)
        const { bucket: name, key } = parseS3Url(url)
        const bucket = openBucket(name, g)
        const manifest = await resolveManifest(bucket, key)
        const progress = out.progress(manifest.files.length, 'files')
        const t0 = performance.now()
        // Ctrl-C: stop cleanly (no partial Parquet file, no temporary data files left behind).
        const controller = new AbortController()
        const stop = () => controller.abort()
        process.once('SIGINT', stop)
        const signal = controller.signal
        const batches = readInventory(bucket, manifest, {
          signal,
          ...(opts.prefix ? { prefix: opts.prefix } : {}),
          ...(g.concurrency ? { concurrency: g.concurrency } : {}),
          onProgress: (p) => progress.update(p.files, p.rows),
        })
        let result
        try {
          result = await writeParquet(batches, destinationOf(destination, bucket, g), {
            compression: opts.compression,
            signal,
            ...(opts.partitionByPrefix ? { partitionBy: { prefix: opts.partitionByPrefix } } : {}),
          })
        } finally {
          process.off('SIGINT', stop)
          progress.stop()
        }
        const secs = (performance.now() - t0) / 1000
        const files = result.files ? `, ${result.files.length} files` : ''
        out.data(`index s3://${manifest.bucket}/${manifest.key} -> ${destination}: ${result.rows} rows, ${formatBytes(result.bytes)}${files}`, {
          manifest: `s3://${manifest.bucket}/${manifest.key}`,
          destination,
          ...result,
        })
        out.summary(`${result.rows} keys of s3://${manifest.sourceBucket} as of ${manifest.createdAt.toISOString()} in ${secs.toFixed(1)} s, no LIST request`)
        return EXIT_OK
      }),
    )
  for (const sub of inventory.commands) sub.exitOverride()
}
