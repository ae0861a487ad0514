/** `bucketflow ls [s3://bucket/prefix]`: list buckets, or objects and prefixes under a prefix. */
import { ListBucketsCommand } from '@aws-sdk/client-s3'
import type { Command } from 'commander'
import { createClient } from '../client.js'
import { EXIT_OK, formatBytes, globals, openBucket, Output, parseS3Url, act } from './common.js'

export function register(program: Command): void {
  program
    .command('ls')
    .description('list buckets, or the objects and prefixes under s3://bucket/prefix')
    .argument('[url]', 's3://bucket/prefix (omit to list buckets)')
    .option('-r, --recursive', 'every key under the prefix, not one level')
    .option('--start-after <key>', 'list keys after this one')
    .addHelpText('after', '\nExamples:\n  bucketflow ls\n  bucketflow ls s3://cats/cute/\n  bucketflow ls -r --json s3://cats | jq .key')
    .action(act(async (url: string | undefined, opts: { recursive?: boolean; startAfter?: string }, cmd: Command) => {
      const g = globals(cmd)
      const out = new Output(g)
      if (!url) {
        const client = createClient({ ...(g.endpoint ? { endpoint: g.endpoint } : {}), ...(g.region ? { region: g.region } : {}) })
        const res = await client.send(new ListBucketsCommand({}))
        for (const b of res.Buckets ?? []) out.data(`${b.CreationDate?.toISOString() ?? ''}  ${b.Name}`, { name: b.Name, created: b.CreationDate })
        return EXIT_OK
      }
      const { bucket: name, key } = parseS3Url(url)
      const bucket = openBucket(name, g)
      let objects = 0
      let bytes = 0
      for await (const e of bucket.ls(key, { recursive: opts.recursive ?? false, ...(opts.startAfter ? { startAfter: opts.startAfter } : {}) })) {
        if (e.kind === 'prefix') {
          out.data(`${'PRE'.padStart(30)} ${e.key}`, e)
          continue
        }
        objects++
        bytes += e.size
        out.data(`${e.lastModified?.toISOString() ?? ''} ${String(e.size).padStart(12)} ${e.storageClass.padEnd(12)} ${e.key}`, e)
      }
      out.summary(`${objects} objects, ${formatBytes(bytes)}`)
      return EXIT_OK
    }))
}
