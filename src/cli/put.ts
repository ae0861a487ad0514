/** `bucketflow put <local...> s3://bucket/prefix`: upload files, folders, or stdin ('-'). */
import { readdir, stat } from 'node:fs/promises'
import { basename, join, relative, sep } from 'node:path'
import type { Command } from 'commander'
import { InvalidArgumentError } from '../errors.js'
import { collect } from '../results.js'
import { putObjects, type PutItem } from '../stages/put.js'
import type { StorageClass } from '../bucket-ref.js'
import { EXIT_OK, formatBytes, globals, openBucket, Output, parseS3Url, reportResults, act } from './common.js'

async function* walk(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield* walk(path)
    else if (entry.isFile()) yield path
  }
}

/** Pair local paths with keys: a file to `prefix + name` (or the exact key), a folder's files to `prefix + relative path`. */
export async function planUploads(paths: string[], key: string): Promise<{ path: string; key: string; size: number }[]> {
  const plan: { path: string; key: string; size: number }[] = []
  const intoPrefix = key === '' || key.endsWith('/') || paths.length > 1
  for (const p of paths) {
    const info = await stat(p).catch(() => undefined)
    if (!info) throw new InvalidArgumentError(`No such file or folder: ${p}`, { argument: 'source' })
    if (info.isDirectory()) {
      const base = key === '' || key.endsWith('/') ? key : `${key}/`
      for await (const file of walk(p)) {
        plan.push({ path: file, key: base + relative(p, file).split(sep).join('/'), size: (await stat(file)).size })
      }
    } else {
      plan.push({ path: p, key: intoPrefix ? `${key && !key.endsWith('/') ? `${key}/` : key}${basename(p)}` : key, size: info.size })
    }
  }
  return plan
}

export function register(program: Command): void {
  program
    .command('put')
    .description('upload local files or folders (recursively), or stdin with "-", to S3')
    .argument('<sources...>', 'local files or folders, or - for stdin; the last argument is the s3:// destination')
    .option('--storage-class <class>', 'storage class of the new objects')
    .option('--content-type <type>', 'content type of the new objects')
    .addHelpText('after', '\nExamples:\n  bucketflow put photos/ s3://cats/photos/\n  bucketflow put report.csv s3://data/reports/2024.csv\n  tar c logs | bucketflow put - s3://backups/logs.tar')
    .action(act(async (args: string[], opts: { storageClass?: StorageClass; contentType?: string }, cmd: Command) => {
      const g = globals(cmd)
      const out = new Output(g)
      if (args.length < 2) throw new InvalidArgumentError('Expected at least one source and an s3:// destination', { argument: 'sources' })
      const dest = parseS3Url(args.at(-1)!, 'destination')
      const bucket = openBucket(dest.bucket, g)
      const sources = args.slice(0, -1)
      const extra = { ...(opts.storageClass ? { storageClass: opts.storageClass } : {}), ...(opts.contentType ? { contentType: opts.contentType } : {}) }
      if (sources.length === 1 && sources[0] === '-') {
        if (dest.key === '' || dest.key.endsWith('/')) throw new InvalidArgumentError('Uploading stdin needs a full key, not a prefix', { argument: 'destination' })
        const r = await bucket.put(process.stdin, dest.key, extra)
        out.data(`put s3://${bucket.name}/${r.key} ${formatBytes(r.size)}`, r)
        return EXIT_OK
      }
      const plan = await planUploads(sources, dest.key)
      const progress = out.progress(plan.length)
      const items: PutItem[] = plan.map((p) => ({ source: p.path, key: p.key }))
      const sizes = new Map(plan.map((p) => [p.key, p.size]))
      const results = await collect(
        (async function* () {
          for await (const r of putObjects(bucket, extra)(items)) {
            progress.tick(sizes.get(r.key) ?? 0)
            yield r
          }
        })(),
      )
      progress.stop()
      return reportResults(out, results, 'put', (v) => formatBytes(v.size))
    }))
}
