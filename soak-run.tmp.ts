import { formatReport, runSoak } from './test/faults/soak-engine.js'
const ops = Number(process.argv[2] ?? 500), rate = Number(process.argv[3] ?? 0.05), seed = Number(process.argv[4] ?? 1)
const r = await runSoak({ s3: { endpoint: 'http://127.0.0.1:33791', region: 'us-east-1', accessKeyId: 'bucketflow-test-key', secretAccessKey: 'bucketflow-test-secret-0123456789' }, ops, faultRate: rate, seed, log: console.log, concurrency: Number(process.env.C ?? 16), idleTimeout: Number(process.env.IDLE ?? 1500) })
console.log(formatReport(r)); for (const f of r.failures.slice(0, 40)) console.log('  F', f); for (const c of [...r.corrupt, ...r.lost, ...r.untyped, ...r.orphans, ...r.outside]) console.log('  !', c)
