/**
 * bucketflow itself, used the way its README shows: the Bucket array forms and stages, through
 * the package's public entry point.
 */
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Bucket, freezeObjects, getObjects, listPartitioned, type Result, type StorageClass } from '../../../index.js'
import { localPath, printKeys, sourceFiles } from './files.js'
import type { PhaseTask } from './types.js'

function check<T>(result: Result<T>): void {
  if (!result.ok) throw result.error
}

/** `verify: false` is the `bucketflow-noverify` peer: the cost of checking downloads, measured. */
export async function run(task: PhaseTask, options: { verify?: boolean } = {}): Promise<void> {
  const verify = options.verify ?? true
  const bucket = new Bucket(task.bucket, {
    endpoint: task.s3.endpoint,
    region: task.s3.region,
    credentials: { accessKeyId: task.s3.accessKeyId, secretAccessKey: task.s3.secretAccessKey },
    concurrency: task.concurrency,
  })
  try {
    if (task.workload === 'W3' && task.phase === 'put') {
      await bucket.putStream(process.stdin, task.key, { partSize: task.partSize, queueSize: task.concurrency })
    } else if (task.workload === 'W3' && task.phase === 'get') {
      await pipeline(bucket.stream(task.key, { verify }), process.stdout)
    } else if (task.phase === 'put') {
      const names = await sourceFiles(task.dir)
      const results = await bucket.put(
        names.map((n) => join(task.dir, n)),
        names.map((n) => task.prefix + n),
      )
      results.forEach(check)
    } else if (task.phase === 'get') {
      const items = async function* () {
        for await (const key of bucket.list(task.prefix)) yield { key, destination: localPath(task, key) }
      }
      for await (const r of getObjects(bucket, { ordered: false, verify })(items())) check(r)
    } else if (task.phase === 'list') {
      const keys: string[] = []
      for await (const page of listPartitioned(bucket, { prefix: task.prefix })) for (const o of page.objects) keys.push(o.key)
      await printKeys(keys)
    } else if (task.phase === 'class') {
      const stage = freezeObjects(bucket, { storageClass: task.storageClass as StorageClass, ordered: false })
      for await (const r of stage(bucket.list(task.prefix))) check(r)
    } else {
      throw new Error(`unsupported phase ${task.workload} ${task.phase}`)
    }
  } finally {
    bucket.client.destroy()
  }
}
