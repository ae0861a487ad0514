/** `bucketflow cp` and `bucketflow mv`: server-side copies and moves between S3 URLs. */
import type { Command } from 'commander'
import type { StorageClass } from '../bucket-ref.js'
import type { CopyOptions } from '../stages/copy.js'
import { act, globals, Output, parseS3Url, reportResults } from './common.js'
import { resolveTargets } from './targets.js'

function plan(keys: string[], srcKey: string, dstKey: string, recursive: boolean): string[] {
  if (!recursive) return [dstKey === '' || dstKey.endsWith('/') ? dstKey + keys[0]!.split('/').at(-1)! : dstKey]
  const base = dstKey === '' || dstKey.endsWith('/') ? dstKey : `${dstKey}/`
  return keys.map((k) => base + k.slice(srcKey.length))
}

function registerOne(program: Command, verb: 'cp' | 'mv'): void {
  program
    .command(verb)
    .description(verb === 'cp' ? 'copy objects server-side (same or another bucket; same key with --storage-class changes the class)' : 'move objects server-side (copy, then delete the source)')
    .argument('<source>', 's3://bucket/key or, with --recursive, s3://bucket/prefix/')
    .argument('[destination]', 's3://bucket/key-or-prefix (cp default: the source itself)')
    .option('-r, --recursive', 'every key under the source prefix')
    .option('--storage-class <class>', 'storage class of the copies')
    .addHelpText('after', `\nExamples:\n  bucketflow ${verb} s3://cats/cute/1.png s3://backup/cute/1.png\n  bucketflow ${verb} -r s3://cats/cute/ s3://cats/adorable/${verb === 'cp' ? '\n  bucketflow cp s3://cats/big.tar --storage-class STANDARD_IA' : ''}`)
    .action(act(async (source: string, destination: string | undefined, opts: { recursive?: boolean; storageClass?: StorageClass }, cmd: Command) => {
      const g = globals(cmd)
      const out = new Output(g)
      const recursive = opts.recursive ?? false
      const { bucket, keys } = await resolveTargets([source], recursive, g)
      const src = parseS3Url(source)
      const dst = destination ? parseS3Url(destination, 'destination') : src
      const dstKeys = plan(keys, src.key, dst.key, recursive)
      const copyOptions: CopyOptions = {}
      if (dst.bucket !== bucket.name) copyOptions.destinationBucket = dst.bucket
      if (opts.storageClass) copyOptions.storageClass = opts.storageClass
      const results = verb === 'cp' ? await bucket.cp(keys, dstKeys, copyOptions) : await bucket.mv(keys, dstKeys, copyOptions)
      return reportResults(out, results, verb, (v) => `-> s3://${v.bucket}/${v.key}`)
    }))
}

export function register(program: Command): void {
  registerOne(program, 'cp')
  registerOne(program, 'mv')
}
