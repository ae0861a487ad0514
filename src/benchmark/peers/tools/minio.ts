/**
 * minio-js (npm `minio`), the other JavaScript S3 client people pick, used through its own
 * idiomatic API: `fPutObject` / `fGetObject` for files, `listObjectsV2` (a stream of entries) for
 * listings, `putObject` with a stream of unknown length (its own multipart upload, parts of the
 * part size) and `getObject` (a Readable) for the streamed object. minio-js has no call for many
 * objects, so W1/W2 run `concurrency` workers, each taking the next file or key (what a user
 * writes with p-map). Loopback only: the endpoint is the benchmark's local server.
 *
 * minio is a development dependency of bucketflow; this module is imported only inside the
 * peer's child process, after the engine checked that `minio` resolves.
 */
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Client } from 'minio'
import { localPath, printKeys, sourceFiles } from './files.js'
import type { PhaseTask } from './types.js'

/** `concurrency` workers over `items`, each taking the next one when done (no batch barrier). */
async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
}

function client(task: PhaseTask): Client {
  const url = new URL(task.s3.endpoint)
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost' && url.hostname !== '[::1]') {
    throw new Error(`the minio-js peer runs against a loopback server only, got ${task.s3.endpoint}`)
  }
  const useSSL = url.protocol === 'https:'
  return new Client({
    endPoint: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: task.s3.accessKeyId,
    secretKey: task.s3.secretAccessKey,
    region: task.s3.region,
    pathStyle: true,
    partSize: task.partSize,
  })
}

/** Every key under the prefix, from minio-js's listObjectsV2 stream. */
async function listKeys(c: Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = []
  for await (const item of c.listObjectsV2(bucket, prefix, true)) {
    const name = (item as { name?: string }).name
    if (name !== undefined) keys.push(name)
  }
  return keys
}

export async function run(task: PhaseTask): Promise<void> {
  const c = client(task)
  const { bucket, prefix } = task
  if (task.workload === 'W3' && task.phase === 'put') {
    await c.putObject(bucket, task.key, process.stdin)
  } else if (task.workload === 'W3' && task.phase === 'get') {
    await pipeline(await c.getObject(bucket, task.key), process.stdout)
  } else if (task.phase === 'put') {
    await pool(await sourceFiles(task.dir), task.concurrency, async (name) => {
      await c.fPutObject(bucket, prefix + name, join(task.dir, name))
    })
  } else if (task.phase === 'get') {
    await pool(await listKeys(c, bucket, prefix), task.concurrency, async (key) => {
      const path = localPath(task, key)
      await mkdir(dirname(path), { recursive: true })
      await c.fGetObject(bucket, key, path)
    })
  } else if (task.phase === 'list') {
    await printKeys(await listKeys(c, bucket, prefix))
  } else {
    throw new Error(`unsupported phase ${task.workload} ${task.phase}`)
  }
}
