import { Bucket } from '/tmp/newcomer/dist/index.js'
const b = new Bucket('newcomer-a', { endpoint: 'http://127.0.0.1:44902' })
try { await b.get('data/mid.bin', 'keep.txt/x.bin', { signal: AbortSignal.timeout(1500) }) } catch (e) { console.log(e.name, e.code, e.message) }
await b.close()
