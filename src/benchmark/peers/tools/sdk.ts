/**
 * The plain AWS SDK peers: the same calls a user would write without a library, run one at a
 * time (`serial`, the naive loop) or in `Promise.all` batches of the concurrency. The client gets
 * only what talking to an S3-compatible server needs: endpoint, path style, and request/response
 * checksums WHEN_REQUIRED.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { type Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CopyObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type StorageClass } from '@aws-sdk/client-s3'
import { localPath, printKeys, sourceFiles } from './files.js'
import type { PhaseTask } from './types.js'

/** Runs `fn` over `items`: the strategy is the only difference between the SDK peers. */
export type Each = <T>(items: readonly T[], fn: (item: T) => Promise<void>) => Promise<void>

/** One request at a time. */
export const serial: Each = async (items, fn) => {
  for (const item of items) await fn(item)
}

/** `Promise.all` over consecutive batches of `size` (each batch waits for its slowest request). */
export function batches(size: number): Each {
  return async (items, fn) => {
    for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn))
  }
}

export function sdkClient(task: PhaseTask): S3Client {
  return new S3Client({
    endpoint: task.s3.endpoint,
    region: task.s3.region,
    credentials: { accessKeyId: task.s3.accessKeyId, secretAccessKey: task.s3.secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
}

/** Every key under the prefix, ListObjectsV2 page by page. */
export async function listKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = []
  let token: string | undefined
  do {
    const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }))
    for (const o of out.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key)
    token = out.IsTruncated ? out.NextContinuationToken : undefined
  } while (token)
  return keys
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** `CopySource` for a key: bucket/key with the key URL-encoded segment by segment. */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`
}

/** Flip the first byte (for the corrupting control peer). */
function flip(bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength === 0) return bytes
  const out = Buffer.from(bytes)
  out[0] = out[0]! ^ 0xff
  return out
}

/**
 * Run a phase with the plain SDK. `corrupt` flips the first byte of everything it moves: the
 * control peer that proves verification catches a wrong result.
 */
export async function runSdk(task: PhaseTask, each: Each, options: { corrupt?: boolean } = {}): Promise<void> {
  const client = sdkClient(task)
  const tweak = options.corrupt ? flip : (b: Uint8Array) => b
  const { bucket, prefix } = task
  try {
    if (task.workload === 'W3' && task.phase === 'put') {
      // No length is known up front, and PutObject needs one: read the whole stream first.
      const body = tweak(await readStdin())
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: task.key, Body: body, ContentLength: body.byteLength }))
    } else if (task.workload === 'W3' && task.phase === 'get') {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: task.key }))
      let first = true
      const maybeFlip = new Transform({
        transform(chunk: Buffer, _enc, done) {
          const c = first && options.corrupt ? Buffer.from(tweak(chunk)) : chunk
          first = false
          done(null, c)
        },
      })
      await pipeline(out.Body as Readable, maybeFlip, process.stdout)
    } else if (task.phase === 'put') {
      await each(await sourceFiles(task.dir), async (name) => {
        const body = tweak(await readFile(join(task.dir, name)))
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: prefix + name, Body: body }))
      })
    } else if (task.phase === 'get') {
      await each(await listKeys(client, bucket, prefix), async (key) => {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
        const bytes = await out.Body!.transformToByteArray()
        const path = localPath(task, key)
        await mkdir(dirname(path), { recursive: true })
        await writeFile(path, tweak(bytes))
      })
    } else if (task.phase === 'list') {
      await printKeys(await listKeys(client, bucket, prefix))
    } else if (task.phase === 'class') {
      await each(await listKeys(client, bucket, prefix), async (key) => {
        await client.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: key,
            CopySource: copySource(bucket, key),
            StorageClass: task.storageClass as StorageClass,
            MetadataDirective: 'COPY',
          }),
        )
      })
    } else {
      throw new Error(`unsupported phase ${task.workload} ${task.phase}`)
    }
  } finally {
    client.destroy()
  }
}
