/** `bucketflow get s3://bucket/key [dest]` or `get s3://bucket/prefix/ dir/`: download, mirroring keys as folders. */
import type { Command } from 'commander'
import { InvalidArgumentError } from '../errors.js'
import { safeDestination } from '../paths.js'
import { collect, mapResults } from '../results.js'
import { getToFile } from '../stages/get.js'
import { basename } from 'node:path'
import { act, EXIT_OK, globals, openBucket, Output, parseS3Url, reportResults } from './common.js'

export function register(program: Command): void {
  program
    .command('get')
    .description('download an object to a file, or every object under a prefix into a folder (keys become paths; keys that would escape the folder are refused)')
    .argument('<url>', 's3://bucket/key, or s3://bucket/prefix/ (a trailing / or --recursive downloads the prefix)')
    .argument('[destination]', 'local file or folder (default: the current folder)', '.')
    .option('-r, --recursive', 'download every key under the prefix')
    .addHelpText('after', '\nExamples:\n  bucketflow get s3://cats/cute/1.png cat.png\n  bucketflow get s3://cats/cute/ mirror/\n\nExit code 1 when some objects failed (e.g. a key like ../x that would escape the folder); the rest are still downloaded.')
    .action(act(async (url: string, destination: string, opts: { recursive?: boolean }, cmd: Command) => {
      const g = globals(cmd)
      const out = new Output(g)
      const { bucket: name, key } = parseS3Url(url)
      const bucket = openBucket(name, g)
      const recursive = opts.recursive || key === '' || key.endsWith('/')
      if (!recursive) {
        const target = destination.endsWith('/') || destination === '.' ? safeDestination(destination, basename(key), name) : destination
        await bucket.get(key, target)
        out.data(`get s3://${name}/${key} -> ${target}`, { key, path: target })
        return EXIT_OK
      }
      const keys = await bucket.list(key)
      if (keys.length === 0) throw new InvalidArgumentError(`Nothing under s3://${name}/${key}`, { argument: 'url' })
      const progress = out.progress(keys.length)
      const results = await collect(
        (async function* () {
          const stage = mapResults(
            keys,
            (k) => k,
            async (k, signal) => {
              const path = safeDestination(destination, k.slice(key.length), name)
              await getToFile(bucket, k, path, { signal })
              return path
            },
            { concurrency: bucket.concurrency, bucket: name },
          )
          for await (const r of stage) {
            progress.tick()
            yield r
          }
        })(),
      )
      progress.stop()
      return reportResults(out, results, 'get', (path) => `-> ${path}`)
    }))
}
