/**
 * Ship a log to S3 as it is written, and follow it from another process.
 *
 *   some-app | npx tsx examples/log-shipper.ts ship s3://logs/app/     # stdin -> rotating objects
 *   npx tsx examples/log-shipper.ts follow s3://logs/app/              # tail -f of the rotation
 *
 * The shipper closes an object every ROTATE_MS (default 1000) or 64 MiB, whichever comes first,
 * so what the app writes is visible in S3 within a second, never splitting a line. Objects are
 * gzip-compressed and partitioned by day in UTC (`app/dt=2026-12-01/20261201T235907.123Z-000001.log.gz`);
 * with SPOOL=/some/folder every line is on disk before it is taken, and a shipper restarted on the
 * same folder stores what a crashed one left. The follower prints each new object's lines in
 * order, decompressed, across the day partitions. Stop either with Ctrl-C (the shipper flushes
 * first). `bucketflow ship` is the same as a command.
 */
import { Bucket, lines } from 'bucketflow'

const [mode, url] = process.argv.slice(2)
const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(url ?? '')
if ((mode !== 'ship' && mode !== 'follow') || !m) {
  console.error('usage: log-shipper.ts ship|follow s3://bucket/prefix/')
  process.exit(2)
}
const bucket = new Bucket(m[1]!)
const prefix = m[2]!

if (mode === 'ship') {
  const log = bucket.createLogStream(prefix, {
    rotateMs: Number(process.env.ROTATE_MS ?? 1000),
    rotateBytes: 64 * 1024 * 1024,
    key: 'dt={yyyy}-{MM}-{dd}/{ts}-{seq}.log',
    compression: 'gzip',
    ...(process.env.SPOOL ? { spool: process.env.SPOOL } : {}),
  })
  process.once('SIGINT', () => process.stdin.destroy())
  for await (const line of lines(process.stdin)) {
    if (!log.write(`${line}\n`)) await new Promise((resolve) => log.once('drain', resolve))
  }
  log.end()
  const result = await log.done
  console.error(
    `shipped ${result.lines} lines (${result.bytes} bytes, ${result.size} stored) in ${result.objects} objects (${result.firstKey} .. ${result.lastKey})`,
  )
} else {
  const controller = new AbortController()
  process.once('SIGINT', () => controller.abort())
  process.once('SIGTERM', () => controller.abort())
  const t = bucket.tail(prefix, { follow: 'rotation', from: 'start', pollMs: 250, signal: controller.signal })
  for await (const line of t.lines()) process.stdout.write(`${line}\n`)
}
