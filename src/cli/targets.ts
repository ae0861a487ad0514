/** Expand command-line S3 URLs into keys: one key each, or every key under a prefix. */
import type { Bucket } from '../bucket.js'
import { InvalidArgumentError } from '../errors.js'
import { openBucket, parseS3Url, type GlobalOptions } from './common.js'

/** Keys of one bucket named by URLs; with `recursive`, each URL is a prefix to expand. */
export async function resolveTargets(urls: string[], recursive: boolean, opts: GlobalOptions): Promise<{ bucket: Bucket; keys: string[] }> {
  const parsed = urls.map((u) => parseS3Url(u))
  const names = new Set(parsed.map((p) => p.bucket))
  if (names.size !== 1) throw new InvalidArgumentError(`Expected every URL to name the same bucket, got ${[...names].join(', ')}`, { argument: 'url' })
  const bucket = openBucket(parsed[0]!.bucket, opts)
  const keys: string[] = []
  for (const { key } of parsed) {
    if (recursive) keys.push(...(await bucket.list(key)))
    else if (key === '' || key.endsWith('/')) throw new InvalidArgumentError(`s3://${bucket.name}/${key} is a prefix; pass --recursive to act on every key under it`, { argument: 'url' })
    else keys.push(key)
  }
  return { bucket, keys }
}
