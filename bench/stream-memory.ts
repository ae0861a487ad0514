/**
 * Memory of a streamed upload of unknown length: bucketflow's multipart sink against
 * @aws-sdk/lib-storage's `Upload`, same part size and queue size, each in its own child
 * process so their peak RSS is measured apart. Prints peak RSS next to the sink's payload
 * bound `partSize * (queueSize + 1)`, and the same for the generated source drained into a
 * null Writable (what the source and Node cost by themselves).
 *
 *   npx tsx bench/stream-memory.ts [--size 2GiB] [--part-size 8MiB] [--queue-size 4]
 *
 * Uses the S3 server at S3_ENDPOINT (with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), or starts
 * one with scripts/local-s3.sh and stops it afterwards. Every uploaded object is deleted right
 * after its run, and, for a local radosgw whose folder is known (the one started here, or
 * BUCKETFLOW_S3_DIR from the server's env file), its garbage collector is run at once:
 * radosgw frees a deleted object's data only at GC time (hours later by default), and the
 * memstore OSD keeps that data in RAM until then.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import { HeadObjectCommand } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { Bucket } from '../src/bucket.js'
import { createClient } from '../src/client.js'
import { createWriteStream } from '../src/upload/multipart.js'
import { parseEnv } from '../src/radosgw.js'

const run = promisify(execFile)
const here = fileURLToPath(import.meta.url)
const root = resolve(here, '../..')
const MiB = 1024 * 1024

/** `source-only` drains the generated stream into a null Writable: the source's own share of RSS. */
type Impl = 'source-only' | 'bucketflow' | 'lib-storage'

interface ChildReport {
  impl: Impl
  bytes: number
  seconds: number
  baselineRss: number
  peakRss: number
  /** bucketflow only: the sink's own peak of payload held. */
  peakBuffered?: number
}

function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|K|KB|KiB|M|MB|MiB|G|GB|GiB)?$/i.exec(text.trim())
  if (!m) throw new Error(`Cannot read size ${JSON.stringify(text)} (e.g. 2GiB, 512MiB, 100000)`)
  const unit = (m[2] ?? 'B').toLowerCase()
  const mult = unit.startsWith('g') ? 1024 ** 3 : unit.startsWith('m') ? MiB : unit.startsWith('k') ? 1024 : 1
  return Math.round(Number(m[1]) * mult)
}

function args(): Map<string, string> {
  const out = new Map<string, string>()
  const argv = process.argv.slice(2)
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (!a.startsWith('--')) continue
    const [name, inline] = a.slice(2).split('=', 2) as [string, string | undefined]
    out.set(name, inline ?? argv[++i] ?? '')
  }
  return out
}

const fmt = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`

/** A stream of unknown length: fresh 64 KiB buffers, `total` bytes in all. */
function generated(total: number): Readable {
  const pool = randomBytes(4 * MiB)
  const CHUNK = 64 * 1024
  return Readable.from(
    (function* () {
      let n = 0
      for (let sent = 0; sent < total; sent += CHUNK) {
        const size = Math.min(CHUNK, total - sent)
        const chunk = Buffer.allocUnsafe(size)
        const at = (n * CHUNK) % (pool.length - CHUNK)
        pool.copy(chunk, 0, at, at + size)
        if (size >= 8) chunk.writeDoubleLE(n, 0)
        n++
        yield chunk
      }
    })(),
    { objectMode: false },
  )
}

async function vmHwm(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8').catch(() => '')
  const m = /VmHWM:\s+(\d+) kB/.exec(status)
  return m ? Number(m[1]) * 1024 : 0
}

async function child(impl: Impl, size: number, partSize: number, queueSize: number): Promise<void> {
  const bucket = process.env.BENCH_BUCKET!
  const key = process.env.BENCH_KEY!
  const client = createClient({ concurrency: queueSize })
  const baselineRss = process.memoryUsage.rss()
  let peakRss = baselineRss
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss())
  }, 10)
  const started = performance.now()
  let peakBuffered: number | undefined
  if (impl === 'source-only') {
    await pipeline(generated(size), new Writable({ write: (_chunk, _enc, cb) => cb() }))
  } else if (impl === 'bucketflow') {
    const sink = createWriteStream({ client, name: bucket }, key, { partSize, queueSize })
    await pipeline(generated(size), sink)
    await sink.done
    peakBuffered = sink.peakBufferedBytes
  } else {
    await new Upload({ client, params: { Bucket: bucket, Key: key, Body: generated(size) }, partSize, queueSize, leavePartsOnError: false }).done()
  }
  const seconds = (performance.now() - started) / 1000
  clearInterval(sampler)
  peakRss = Math.max(peakRss, process.memoryUsage.rss(), await vmHwm())
  if (impl !== 'source-only') {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
    if (head.ContentLength !== size) throw new Error(`${impl}: stored ${head.ContentLength} bytes, expected ${size}`)
  }
  const report: ChildReport = { impl, bytes: size, seconds, baselineRss, peakRss, ...(peakBuffered === undefined ? {} : { peakBuffered }) }
  process.stdout.write(`REPORT ${JSON.stringify(report)}\n`)
  client.destroy()
}

function runChild(impl: Impl, size: number, partSize: number, queueSize: number, env: NodeJS.ProcessEnv): Promise<ChildReport> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', here, '--child', impl, '--size', String(size), '--part-size', String(partSize), '--queue-size', String(queueSize)],
      { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    let err = ''
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()))
    proc.on('error', reject)
    proc.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('REPORT '))
      if (code !== 0 || !line)
        return reject(
          new Error(
            `${impl} child failed (exit ${code}):\n${err
              .split('\n')
              .filter((l) => !/NodeVersion|node >=22|published after|require node|receiving updates|security updates|a\.co\/|trace-warnings|^\s*$/.test(l))
              .join('\n')}`,
          ),
        )
      resolvePromise(JSON.parse(line.slice('REPORT '.length)) as ChildReport)
    })
  })
}

/** Make radosgw free the data of deleted objects now (memstore holds it in RAM until GC). */
async function collectGarbage(serverDir: string | undefined): Promise<void> {
  if (!serverDir) return
  const conf = join(serverDir, 'ceph.conf')
  await run('timeout', ['120', 'radosgw-admin', '-c', conf, '-n', 'client.rgw.local', 'gc', 'process', '--include-all']).catch((e: unknown) =>
    console.error(`radosgw-admin gc process failed (deleted data stays in the server's RAM until its GC runs): ${(e as Error).message}`),
  )
}

async function main(): Promise<void> {
  const a = args()
  const size = parseSize(a.get('size') ?? '2GiB')
  const partSize = parseSize(a.get('part-size') ?? '8MiB')
  const queueSize = Number(a.get('queue-size') ?? 4)
  const impl = a.get('child') as Impl | undefined
  if (impl) return child(impl, size, partSize, queueSize)

  const script = join(root, 'scripts/local-s3.sh')
  let serverDir: string | undefined
  const env: NodeJS.ProcessEnv = { ...process.env }
  let gcDir: string | undefined
  if (process.env.S3_ENDPOINT) {
    env.AWS_ENDPOINT_URL_S3 = process.env.S3_ENDPOINT
    gcDir = process.env.BUCKETFLOW_S3_DIR
    if (!gcDir) console.log('note: BUCKETFLOW_S3_DIR is not set, so deleted bench objects stay in a radosgw memstore until its GC runs')
  } else {
    serverDir = await mkdtemp(join(tmpdir(), 'bucketflow-bench-s3-'))
    console.log('starting a local S3 server (scripts/local-s3.sh) ...')
    const { stdout } = await run('bash', [script, 'start', serverDir], { maxBuffer: 1 << 20 })
    Object.assign(env, parseEnv(stdout))
    gcDir = serverDir
  }
  env.AWS_ACCESS_KEY_ID ??= 'bucketflow-test-key'
  env.AWS_SECRET_ACCESS_KEY ??= 'bucketflow-test-secret-0123456789'
  env.AWS_REGION ??= 'us-east-1'
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: env.AWS_ENDPOINT_URL_S3,
    AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY,
    AWS_REGION: env.AWS_REGION,
  })
  const bucket = await Bucket.create(`bench-stream-${randomBytes(4).toString('hex')}`)
  env.BENCH_BUCKET = bucket.name
  const bound = partSize * (queueSize + 1)
  const reports: ChildReport[] = []
  try {
    console.log(`uploading ${fmt(size)} of unknown length, partSize ${fmt(partSize)}, queueSize ${queueSize}, endpoint ${env.AWS_ENDPOINT_URL_S3}`)
    for (const which of ['source-only', 'bucketflow', 'lib-storage'] as const) {
      const key = `bench/${which}.bin`
      try {
        reports.push(await runChild(which, size, partSize, queueSize, { ...env, BENCH_KEY: key }))
      } finally {
        await bucket.rm(key).catch(() => undefined)
        await bucket.abortUploads({ prefix: 'bench/' }).catch(() => undefined)
        await collectGarbage(gcDir)
      }
    }
  } finally {
    await bucket.delete({ force: true }).catch((e: unknown) => console.error('could not delete the bench bucket:', e))
    if (serverDir) await run('bash', [script, 'stop', serverDir]).catch((e: unknown) => console.error('could not stop the server:', e))
  }
  const rows = reports.map((r) => ({
    impl: r.impl,
    size: fmt(r.bytes),
    seconds: r.seconds.toFixed(1),
    'MiB/s': (r.bytes / MiB / r.seconds).toFixed(0),
    'baseline RSS': fmt(r.baselineRss),
    'peak RSS': fmt(r.peakRss),
    'peak - baseline': fmt(r.peakRss - r.baselineRss),
    'payload bound': fmt(bound),
    'sink peak payload': r.peakBuffered === undefined ? '-' : fmt(r.peakBuffered),
  }))
  console.table(rows)
  const [src, bf, ls] = reports
  if (src && bf && ls) {
    const above = (r: ChildReport) => fmt(r.peakRss - r.baselineRss)
    console.log(
      `peak RSS above baseline: bucketflow ${above(bf)}, lib-storage ${above(ls)}; the generated source alone ${above(src)}; ` +
        `bucketflow's payload bound partSize * (queueSize + 1) = ${fmt(bound)}`,
    )
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
