/**
 * `bucketflow ls [s3://bucket/prefix]`: list buckets, or objects and prefixes under a prefix.
 * As `aws s3 ls`, the URL is a plain key prefix (`s3://b/logs` also lists `logs-2019/`;
 * `s3://b/logs/` lists the folder), and finding nothing exits 1.
 */
import type { Command } from 'commander'
import { createClient, resolveEndpoint, toBucketflowError } from '../index.js'
import { act, checkEndpoint, count, EXIT_FAILED, EXIT_OK, formatBytes, globals, openBucket, Output, parseS3Url, type CliContext } from './common.js'
import { ListBucketsCommand } from '../aws-sdk.cjs'

export function register(program: Command, ctx: CliContext): void {
  program
    .command('ls')
    .description('list buckets, or the objects and prefixes under s3://bucket/prefix (a plain key prefix, as aws s3 ls; exit 1 when nothing is found)')
    .argument('[url]', 's3://bucket/prefix (omit to list buckets)')
    .option('-r, --recursive', 'every key under the prefix, not one level')
    .option('--start-after <key>', 'list keys after this one')
    .addHelpText(
      'after',
      '\nExamples:\n  bucketflow ls\n  bucketflow ls s3://cats/cute/\n  bucketflow ls -r --json s3://cats | jq .key\n  bucketflow ls -r s3://cats/ | head',
    )
    .action(
      act(ctx, async (url: string | undefined, opts: { recursive?: boolean; startAfter?: string }, cmd: Command) => {
        const g = globals(cmd)
        const out = new Output(ctx, g)
        if (!url) {
          const endpoint = g.endpoint ?? resolveEndpoint()
          if (endpoint !== undefined) checkEndpoint(endpoint)
          const client = createClient({ ...(g.endpoint ? { endpoint: g.endpoint } : {}), ...(g.region ? { region: g.region } : {}) })
          let res
          try {
            res = await client.send(new ListBucketsCommand({}), { abortSignal: ctx.signal })
          } catch (err) {
            throw toBucketflowError(err, { operation: 'ListBuckets' })
          }
          for (const b of res.Buckets ?? []) out.data(`${b.CreationDate?.toISOString() ?? ''}  ${b.Name}`, { name: b.Name, created: b.CreationDate })
          return EXIT_OK
        }
        const { bucket: name, key } = parseS3Url(url)
        const bucket = openBucket(name, g)
        let objects = 0
        let prefixes = 0
        let bytes = 0
        ctx.activity = { what: `listing of ${url}`, done: 0 }
        for await (const e of bucket.ls(key, {
          recursive: opts.recursive ?? false,
          signal: ctx.signal,
          ...(opts.startAfter ? { startAfter: opts.startAfter } : {}),
        })) {
          if (ctx.stdoutClosed) break
          ctx.activity.done++
          if (e.kind === 'prefix') {
            prefixes++
            out.data(`${'PRE'.padStart(30)} ${e.key}`, e)
            continue
          }
          objects++
          bytes += e.size
          out.data(`${e.lastModified?.toISOString() ?? ''} ${String(e.size).padStart(12)} ${e.storageClass.padEnd(12)} ${e.key}`, e)
        }
        out.summary(`${count(objects, 'object')}, ${formatBytes(bytes)}${prefixes ? `, ${count(prefixes, 'prefix', 'prefixes')}` : ''}`)
        // As aws s3 ls: nothing under the prefix is exit code 1 (an empty bucket listed whole too).
        return objects + prefixes === 0 ? EXIT_FAILED : EXIT_OK
      }),
    )
}
