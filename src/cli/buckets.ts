/** `bucketflow mb` and `bucketflow rb`: make and remove buckets, as `aws s3 mb` / `aws s3 rb`. */
import type { Command } from 'commander'
import { abortUploads, Bucket, deleteObjects, InvalidArgumentError } from '../index.js'
import { act, EXIT_FAILED, EXIT_OK, globals, openBucket, Output, parseS3Url, type CliContext, type GlobalOptions } from './common.js'
import { addDryRun, isDryRun, type SharedOptionValues } from './options.js'
import { runItems, type Planned } from './run-items.js'

function bucketOnly(url: string): string {
  const { bucket, key } = parseS3Url(url)
  if (key !== '') throw new InvalidArgumentError(`Expected a bucket URL (s3://bucket), got ${JSON.stringify(url)}`, { argument: 'url' })
  return bucket
}

export function register(program: Command, ctx: CliContext): void {
  addDryRun(program.command('mb').description('make a bucket').argument('<url>', 's3://bucket'))
    .addHelpText('after', '\nExample:\n  bucketflow mb s3://cats-2024')
    .action(
      act(ctx, async (url: string, opts: SharedOptionValues, cmd: Command) => {
        const g: GlobalOptions = globals(cmd)
        const out = new Output(ctx, g)
        const name = bucketOnly(url)
        openBucket(name, g) // validates the name and endpoint
        if (isDryRun(opts)) {
          out.data(`(dryrun) make_bucket: ${name}`, { dryRun: true, op: 'make_bucket', bucket: name })
          return EXIT_OK
        }
        await Bucket.create(name, openBucketOptions(g))
        out.item(`make_bucket: ${name}`, { ok: true, op: 'make_bucket', bucket: name })
        return EXIT_OK
      }),
    )

  addDryRun(
    program
      .command('rb')
      .description('remove a bucket; with --force, first delete every object in it and abort its unfinished uploads')
      .argument('<url>', 's3://bucket')
      .option('--force', 'delete every object (and unfinished multipart upload) first'),
  )
    .addHelpText('after', '\nExamples:\n  bucketflow rb s3://cats-2024\n  bucketflow rb --force --dry-run s3://scratch')
    .action(
      act(ctx, async (url: string, opts: SharedOptionValues & { force?: boolean }, cmd: Command) => {
        const g = globals(cmd)
        const out = new Output(ctx, g)
        const name = bucketOnly(url)
        const bucket = openBucket(name, g)
        const dryRun = isDryRun(opts)
        if (opts.force) {
          async function* plan(): AsyncGenerator<Planned> {
            for await (const key of bucket.list('', { signal: ctx.signal })) yield { op: 'delete', source: `s3://${name}/${key}`, key }
          }
          const code = await runItems(
            ctx,
            out,
            { verb: 'delete', what: `rb --force of s3://${name}`, cleanup: 'deletes in flight were cancelled', dryRun },
            plan(),
            (items) =>
              deleteObjects(bucket, { signal: ctx.signal })(
                (async function* () {
                  for await (const p of items) yield p.key
                })(),
              ),
          )
          if (code !== EXIT_OK || ctx.signal.aborted) return EXIT_FAILED
          if (!dryRun) for (const r of await abortUploads(bucket, { signal: ctx.signal })) if (!r.ok) throw r.error
        }
        if (dryRun) {
          out.data(`(dryrun) remove_bucket: ${name}`, { dryRun: true, op: 'remove_bucket', bucket: name })
          return EXIT_OK
        }
        await bucket.delete()
        out.item(`remove_bucket: ${name}`, { ok: true, op: 'remove_bucket', bucket: name })
        return EXIT_OK
      }),
    )
}

function openBucketOptions(g: GlobalOptions) {
  return { ...(g.endpoint ? { endpoint: g.endpoint } : {}), ...(g.region ? { region: g.region } : {}) }
}
