/**
 * Child program for a test: which modules does `import 'bucketflow'` resolve, and which does
 * `createControlClient()` add? Prints one JSON line per phase: { phase, s3Control }.
 */
import { register } from 'node:module'
import { MessageChannel } from 'node:worker_threads'

const { port1, port2 } = new MessageChannel()
register('./module-probe-hooks.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] })

function resolved(): Promise<string[]> {
  return new Promise((resolve) => {
    port1.once('message', (urls: string[]) => resolve(urls))
    port1.postMessage('list')
  })
}

const index = (await import('../../src/index.js')) as typeof import('../../src/index.js')
const before = await resolved()
console.log(JSON.stringify({ phase: 'import', s3Control: before.some((u) => u.includes('client-s3-control')), modules: before.length }))
await index.createControlClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } })
const after = await resolved()
console.log(JSON.stringify({ phase: 'createControlClient', s3Control: after.some((u) => u.includes('client-s3-control')), modules: after.length }))
port1.close()
