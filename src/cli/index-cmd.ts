/** `bucketflow index s3://bucket[/prefix] out.parquet|folder/|s3://...`: a bucket's index as Parquet, streamed. */
import { join } from 'node:path'
import type { Command } from 'commander'
import { listPages, listPartitioned, type ParquetCompression, type ParquetDestination, toRecordBatches, writeParquet } from '../index.js'
import { act, EXIT_OK, formatBytes, globals, isS3Url, openBucket, Output, parseS3Url, type CliContext } from './common.js'
import { isLocalFolder } from './targets.js'

export function register(program: Command, ctx: CliContext): void {
  program
    .command('index')
    .description(
      'write the index of a bucket (Key, LastModified, ETag, Size, StorageClass) as a Parquet file, listing key ranges in parallel; memory stays flat however many keys',
    )
    .argument('<url>', 's3://bucket or s3://bucket/prefix to index')
    .argument('<destination>', 'a local .parquet path or folder (then <folder>/<bucket>.parquet), or s3://bucket/key.parquet or s3://bucket/prefix/')
    .option('--serial', 'list with one serial paginator instead of parallel key ranges')
    .option('--compression <codec>', 'zstd, snappy, gzip, brotli, lz4 or uncompressed', 'zstd')
    .addHelpText(
      'after',
      '\nExamples:\n  bucketflow index s3://cats cats.parquet\n  bucketflow index s3://cats indexes/          # indexes/cats.parquet\n  bucketflow index -c 16 s3://logs/2024/ s3://indexes/logs-2024.parquet\n  duckdb -c "select StorageClass, sum(Size) from \'cats.parquet\' group by 1"\n\nAn empty bucket or prefix gives a valid Parquet file with no rows.',
    )
    .action(
      act(ctx, async (url: string, destination: string, opts: { serial?: boolean; compression: ParquetCompression }, cmd: Command) => {
        const g = globals(cmd)
        const out = new Output(ctx, g)
        const { bucket: name, key: prefix } = parseS3Url(url)
        const bucket = openBucket(name, g)
        let dest: ParquetDestination
        let shown = destination
        if (isS3Url(destination)) {
          const d = parseS3Url(destination, 'destination')
          const key = d.key === '' || d.key.endsWith('/') ? `${d.key}${name}.parquet` : d.key
          shown = `s3://${d.bucket}/${key}`
          dest = { bucket: d.bucket === name ? bucket : openBucket(d.bucket, g), key }
        } else if (destination.endsWith('/') || (await isLocalFolder(destination))) {
          dest = shown = join(destination, `${name}.parquet`)
        } else {
          dest = destination
        }
        // Keys are unknown up front: the bar tracks key ranges (their number grows as ranges split).
        const progress = out.progress(1, 'ranges')
        let keys = 0
        ctx.activity = { what: `index of ${url}`, done: 0, cleanup: 'nothing was left at the destination' }
        const onProgress = (p: { keys: number; rangesDone: number; rangesTotal: number }) => {
          progress.setTotal(Math.max(p.rangesTotal, 1))
          progress.update(p.rangesDone, p.keys)
          keys = p.keys
          if (ctx.activity) ctx.activity.done = p.keys
        }
        const common = { ...(prefix ? { prefix } : {}), signal: ctx.signal }
        const pages = opts.serial
          ? (async function* () {
              let n = 0
              for await (const page of listPages(bucket, common)) {
                n += page.objects.length
                onProgress({ keys: n, rangesDone: 0, rangesTotal: 1 })
                yield page
              }
            })()
          : listPartitioned(bucket, { ...common, onProgress })
        const t0 = performance.now()
        try {
          const result = await writeParquet(toRecordBatches(pages, { batchRows: 65_536 }), dest, { compression: opts.compression, signal: ctx.signal })
          const secs = (performance.now() - t0) / 1000
          out.data(`index ${url} -> ${shown}: ${result.rows} rows, ${formatBytes(result.bytes)}`, { url, destination: shown, ...result })
          out.summary(`${Math.max(result.rows, keys)} keys in ${secs.toFixed(1)} s (${(result.rows / secs).toFixed(0)} keys/s)`)
        } finally {
          progress.stop()
        }
        return EXIT_OK
      }),
    )
}
