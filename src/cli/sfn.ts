/**
 * `bucketflow sfn item-reader|ranges`: Step Functions Distributed Map glue, for work Batch
 * Operations cannot do (delete, copies over 5 GB, user code): the ItemReader JSON, and key ranges
 * so that each child lists one range with bucketflow.
 */
import type { Command } from 'commander'
import { Option } from 'commander'
import { type ItemFormat, itemReaderFor, splitKeySpace, writeKeyRanges } from '../index.js'
import { act, EXIT_OK, globals, openBucket, Output, parseS3Url, positiveInt } from './common.js'

export function register(program: Command): void {
  const sfn = program
    .command('sfn')
    .description('Step Functions Distributed Map: ItemReader JSON for an item file, and key ranges (one child per range)')
    .addHelpText(
      'after',
      '\nExamples:\n  bucketflow sfn ranges --parts 64 s3://photos/ s3://work/sfn/ranges.jsonl\n  bucketflow sfn item-reader --format jsonl s3://work/sfn/ranges.jsonl',
    )

  sfn
    .command('item-reader')
    .description('print the ItemReader JSON of a Distributed Map state that reads s3://bucket/key')
    .argument('<url>', 's3://bucket/key of the item file (a CSV manifest, JSON Lines, or an inventory manifest.json)')
    .addOption(new Option('--format <format>', 'the item file format').choices(['csv', 'jsonl', 'manifest']).makeOptionMandatory())
    .option('--csv-headers <names>', 'csv: comma-separated column names (default Bucket,Key)')
    .option('--max-items <n>', 'read at most this many items', positiveInt('max-items'))
    .option('--jsonata', 'JSONata state machine (Arguments instead of Parameters)')
    .addHelpText(
      'after',
      '\nExamples:\n  bucketflow sfn item-reader --format jsonl s3://work/sfn/ranges.jsonl\n  bucketflow sfn item-reader --format manifest s3://inventory/inv/photos/daily/2024-05-01T01-00Z/manifest.json',
    )
    .action(
      act(async (url: string, opts: { format: ItemFormat; csvHeaders?: string; maxItems?: number; jsonata?: boolean }, cmd: Command) => {
        globals(cmd)
        const { bucket, key } = parseS3Url(url)
        const reader = itemReaderFor({
          bucket,
          key,
          format: opts.format,
          ...(opts.csvHeaders ? { csvHeaders: opts.csvHeaders.split(',').map((s) => s.trim()) } : {}),
          ...(opts.maxItems ? { maxItems: opts.maxItems } : {}),
          ...(opts.jsonata ? { queryLanguage: 'JSONata' as const } : {}),
        })
        process.stdout.write(`${JSON.stringify({ ItemReader: reader }, null, 2)}\n`)
        return EXIT_OK
      }),
    )

  sfn
    .command('ranges')
    .description('split a bucket (or prefix) into disjoint key ranges and write them as JSON Lines, one Distributed Map child per range')
    .argument('<url>', 's3://bucket or s3://bucket/prefix to split')
    .argument('<destination>', 's3://bucket/key.jsonl to write')
    .option('--parts <n>', 'about how many ranges (default 16)', positiveInt('parts'))
    .addHelpText(
      'after',
      '\nEach line: {"bucket","prefix","startAfter","endBefore"}; a child lists its range with\n  listPages(bucket, { prefix, startAfter, endBefore })\nExample:\n  bucketflow sfn ranges --parts 64 s3://photos/ s3://work/sfn/ranges.jsonl && bucketflow sfn item-reader --format jsonl s3://work/sfn/ranges.jsonl',
    )
    .action(
      act(async (url: string, destination: string, opts: { parts?: number }, cmd: Command) => {
        const g = globals(cmd)
        const out = new Output(g)
        const { bucket: name, key: prefix } = parseS3Url(url)
        const dest = parseS3Url(destination, 'destination')
        const checkpoint = await splitKeySpace(openBucket(name, g), { prefix, ...(opts.parts ? { parts: opts.parts } : {}) })
        const written = await writeKeyRanges(openBucket(dest.bucket, g), dest.key, checkpoint)
        out.data(`ranges ${url} -> ${destination}: ${written.rows} ranges`, written)
        return EXIT_OK
      }),
    )
  for (const sub of sfn.commands) sub.exitOverride()
}
