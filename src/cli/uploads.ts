/** `bucketflow uploads`: list or abort unfinished multipart uploads (orphans). */
import type { Command } from 'commander'
import { act, EXIT_OK, globals, openBucket, Output, parseS3Url, positiveInt, reportResults } from './common.js'

export function register(program: Command): void {
  program
    .command('uploads')
    .description('list unfinished multipart uploads under s3://bucket/prefix, or abort them with --abort')
    .argument('<url>', 's3://bucket or s3://bucket/prefix')
    .option('--abort', 'abort them (their parts are deleted)')
    .option('--older-than <hours>', 'only uploads started more than this many hours ago', positiveInt('older-than'))
    .addHelpText('after', '\nExamples:\n  bucketflow uploads s3://data\n  bucketflow uploads --abort --older-than 24 s3://data/logs/')
    .action(act(async (url: string, opts: { abort?: boolean; olderThan?: number }, cmd: Command) => {
      const g = globals(cmd)
      const out = new Output(g)
      const { bucket: name, key: prefix } = parseS3Url(url)
      const bucket = openBucket(name, g)
      const olderThan = opts.olderThan === undefined ? undefined : opts.olderThan * 3600_000
      if (opts.abort) {
        const results = await bucket.abortUploads({ ...(prefix ? { prefix } : {}), ...(olderThan === undefined ? {} : { olderThan }) })
        return reportResults(out, results, 'abort', (u) => u.uploadId)
      }
      let n = 0
      const cutoff = olderThan === undefined ? Infinity : Date.now() - olderThan
      for await (const u of bucket.listUploads(prefix ? { prefix } : {})) {
        if (u.initiated && u.initiated.getTime() > cutoff) continue
        n++
        out.data(`${u.initiated?.toISOString() ?? ''}  ${u.uploadId}  ${u.key}`, u)
      }
      out.summary(`${n} unfinished uploads`)
      return EXIT_OK
    }))
}
