/** `bucketflow uploads`: list or abort unfinished multipart uploads (orphans). */
import type { Command } from 'commander'
import { act, describeError, errorJson, EXIT_FAILED, EXIT_OK, globals, openBucket, Output, parseS3Url, positiveInt, type CliContext } from './common.js'
import { addDryRun, isDryRun, type SharedOptionValues } from './options.js'

export function register(program: Command, ctx: CliContext): void {
  addDryRun(
    program
      .command('uploads')
      .description('list unfinished multipart uploads under s3://bucket/prefix, or abort them with --abort')
      .argument('<url>', 's3://bucket or s3://bucket/prefix')
      .option('--abort', 'abort them (their parts are deleted)')
      .option('--older-than <hours>', 'only uploads started more than this many hours ago', positiveInt('older-than')),
  )
    .addHelpText('after', '\nExamples:\n  bucketflow uploads s3://data\n  bucketflow uploads --abort --older-than 24 --dry-run s3://data/logs/')
    .action(
      act(ctx, async (url: string, opts: SharedOptionValues & { abort?: boolean; olderThan?: number }, cmd: Command) => {
        const g = globals(cmd)
        const out = new Output(ctx, g)
        const { bucket: name, key: prefix } = parseS3Url(url)
        const bucket = openBucket(name, g)
        const olderThan = opts.olderThan === undefined ? undefined : opts.olderThan * 3600_000
        const signal = ctx.signal
        if (opts.abort && !isDryRun(opts)) {
          ctx.activity = { what: `abort of the uploads under ${url}`, done: 0 }
          const results = await bucket.abortUploads({ ...(prefix ? { prefix } : {}), ...(olderThan === undefined ? {} : { olderThan }), signal })
          let failed = 0
          for (const r of results) {
            ctx.activity.done++
            if (r.ok) out.item(`abort: s3://${name}/${r.value.key} ${r.value.uploadId}`, { ok: true, op: 'abort', key: r.key, value: r.value })
            else if (!signal.aborted) {
              failed++
              out.error(`abort failed: s3://${name}/${r.key}: ${describeError(r.error)}`, { ok: false, op: 'abort', key: r.key, error: errorJson(r.error) })
            }
          }
          out.summary(`abort: ${results.length - failed} ok, ${failed} failed`)
          return failed > 0 ? EXIT_FAILED : EXIT_OK
        }
        let n = 0
        const cutoff = olderThan === undefined ? Infinity : Date.now() - olderThan
        for await (const u of bucket.listUploads({ ...(prefix ? { prefix } : {}), signal })) {
          if (u.initiated && u.initiated.getTime() > cutoff) continue
          n++
          if (opts.abort) out.data(`(dryrun) abort: s3://${name}/${u.key} ${u.uploadId}`, { dryRun: true, op: 'abort', ...u })
          else out.data(`${u.initiated?.toISOString() ?? ''}  ${u.uploadId}  ${u.key}`, u)
        }
        out.summary(`${n} unfinished uploads`)
        return EXIT_OK
      }),
    )
}
