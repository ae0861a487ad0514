import { Bucket } from './src/index.js'
const b = await Bucket.create('cap-integ-' + Date.now(), { endpoint: process.env.EP ?? 'http://127.0.0.1:33791', credentials: { accessKeyId: 'bucketflow-test-key', secretAccessKey: 'bucketflow-test-secret-0123456789' }, concurrency: 32 })
await b.put(Buffer.alloc(1000), 'x')
for (const C of [8, 32]) {
  let t = Date.now(); await b.head(Array(400).fill('x'), { concurrency: C }); console.log('C', C, 'HEAD/s', Math.round(400 / ((Date.now() - t) / 1000)))
  t = Date.now(); await b.put(Array(200).fill(Buffer.alloc(1000)), Array.from({ length: 200 }, (_, i) => `p/${C}/${i}`), { concurrency: C }); console.log('C', C, 'PUT/s', Math.round(200 / ((Date.now() - t) / 1000)))
  t = Date.now(); await b.get(Array.from({ length: 200 }, (_, i) => `p/${C}/${i}`), { concurrency: C }); console.log('C', C, 'GET/s', Math.round(200 / ((Date.now() - t) / 1000)))
}
await b.delete({ force: true }); b.client.destroy()
