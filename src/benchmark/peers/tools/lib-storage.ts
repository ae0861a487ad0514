/** `@aws-sdk/lib-storage` Upload: the SDK's own answer to a stream of unknown length (W3 put). */
import { Upload } from '@aws-sdk/lib-storage'
import { sdkClient } from './sdk.js'
import type { PhaseTask } from './types.js'

export async function run(task: PhaseTask): Promise<void> {
  if (task.workload !== 'W3' || task.phase !== 'put') throw new Error(`unsupported phase ${task.workload} ${task.phase}`)
  const client = sdkClient(task)
  try {
    const upload = new Upload({
      client,
      params: { Bucket: task.bucket, Key: task.key, Body: process.stdin },
      partSize: task.partSize,
      queueSize: task.concurrency,
      leavePartsOnError: false,
    })
    await upload.done()
  } finally {
    client.destroy()
  }
}
