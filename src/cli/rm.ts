/** `bucketflow rm`, `freeze`, `restore`: per-key operations over URLs or whole folders. */
import type { Command } from 'commander'
import { type Bucket, deleteObjects, freezeObjects, restoreObjects, type Result, type StorageClass } from '../index.js'
import { act, globals, Output, positiveInt, s3Url, type CliContext } from './common.js'
import { filterOf } from './filters.js'
import { addSelection, isDryRun, type SharedOptionValues } from './options.js'
import { runItems, type Op, type Planned } from './run-items.js'
import { checkOneKey, oneBucket, targetsOf } from './targets.js'

type Stage = (bucket: Bucket, signal: AbortSignal) => (keys: AsyncIterable<string>) => AsyncIterable<Result<unknown>>

async function perKey(
  ctx: CliContext,
  cmd: Command,
  urls: string[],
  opts: SharedOptionValues,
  op: Op,
  stage: Stage,
  extra: { suffix?: string; markers: boolean; cleanup: string },
): Promise<number> {
  const g = globals(cmd)
  const out = new Output(ctx, g)
  const recursive = opts.recursive ?? false
  const { bucket, parsed } = oneBucket(urls, g)
  if (!recursive) for (const u of parsed) checkOneKey(u, op)
  const filter = filterOf(cmd)
  async function* plan(): AsyncGenerator<Planned> {
    for await (const t of targetsOf(bucket, parsed, recursive, { filter, markers: extra.markers, signal: ctx.signal })) {
      yield { op, source: s3Url(bucket.name, t.key), ...(extra.suffix ? { destination: extra.suffix } : {}), key: t.key }
    }
  }
  const execute = (items: AsyncIterable<Planned>) =>
    stage(
      bucket,
      ctx.signal,
    )(
      (async function* () {
        for await (const p of items) yield p.key
      })(),
    )
  const what = `${op} of ${parsed.map((u) => s3Url(u.bucket, u.key)).join(' ')}`
  return runItems(ctx, out, { verb: op, what, cleanup: extra.cleanup, dryRun: isDryRun(opts) }, plan(), execute)
}

export function register(program: Command, ctx: CliContext): void {
  const rm = program
    .command('rm')
    .description('delete objects (DeleteObjects batches of 1000); with --recursive every key in a folder, folder markers included')
    .argument('<urls...>', 's3://bucket/key ... or, with --recursive, s3://bucket/folder (s3://b/p means p/, not p-2019/)')
  addSelection(rm, 'every key under each folder')
    .addHelpText(
      'after',
      "\nExamples:\n  bucketflow rm s3://cats/tmp.txt\n  bucketflow rm -r --dry-run s3://cats/tmp\n  bucketflow rm -r --exclude '*' --include '*.log' s3://cats/logs",
    )
    .action(
      act(ctx, (urls: string[], opts: SharedOptionValues, cmd: Command) =>
        perKey(ctx, cmd, urls, opts, 'delete', (bucket, signal) => deleteObjects(bucket, { signal }), {
          markers: true,
          cleanup: 'deletes in flight were cancelled',
        }),
      ),
    )

  const freeze = program
    .command('freeze')
    .description('move objects to an archival storage class (default DEEP_ARCHIVE)')
    .argument('<urls...>', 's3://bucket/key ... or, with --recursive, s3://bucket/folder')
  addSelection(freeze, 'every key under each folder')
    .option('--storage-class <class>', 'target storage class', 'DEEP_ARCHIVE')
    .addHelpText('after', '\nExamples:\n  bucketflow freeze s3://cats/old.tar\n  bucketflow freeze -r --storage-class GLACIER s3://cats/2019/')
    .action(
      act(ctx, (urls: string[], opts: SharedOptionValues & { storageClass: StorageClass }, cmd: Command) =>
        perKey(ctx, cmd, urls, opts, 'freeze', (bucket, signal) => freezeObjects(bucket, { storageClass: opts.storageClass, signal }), {
          suffix: opts.storageClass,
          markers: false,
          cleanup: 'copies in flight were cancelled',
        }),
      ),
    )

  const restore = program
    .command('restore')
    .description('request temporary readable copies of archived objects')
    .argument('<urls...>', 's3://bucket/key ... or, with --recursive, s3://bucket/folder')
  addSelection(restore, 'every key under each folder')
    .option('--tier <tier>', 'Bulk, Standard or Expedited', 'Bulk')
    .option('--days <n>', 'days the copy stays readable', positiveInt('days'), 5)
    .addHelpText('after', '\nExample:\n  bucketflow restore --tier Standard --days 2 s3://cats/old.tar')
    .action(
      act(ctx, (urls: string[], opts: SharedOptionValues & { tier: 'Bulk' | 'Standard' | 'Expedited'; days: number }, cmd: Command) =>
        perKey(ctx, cmd, urls, opts, 'restore', (bucket, signal) => restoreObjects(bucket, { tier: opts.tier, days: opts.days, signal }), {
          markers: false,
          cleanup: 'requests in flight were cancelled',
        }),
      ),
    )
}
