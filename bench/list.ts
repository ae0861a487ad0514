/**
 * Listing and indexing benchmark.
 *
 *   npx tsx bench/list.ts [--keys 100000] [--rows 1000000,5000000] [--rounds 3] [--latency 0]
 *                         [--skip-listing] [--skip-parquet]
 *
 * 1. Listing: on a bucket of `--keys` 0-byte objects in radosgw (seeded once, reused after; the
 *    endpoint comes from AWS_ENDPOINT_URL_S3), keys/s of the serial paginator (listPages) and of
 *    listPartitioned at concurrency 4, 8 and 16, in interleaved rounds (median reported), with the
 *    ratio to serial and the client CPU per listing. With `--latency MS`, the same again through a
 *    proxy that adds MS to every response (an AWS-like round trip; clearly a simulation).
 * 2. Indexing: rows/s and peak RSS of synthetic listing pages -> Arrow (toRecordBatches) ->
 *    Parquet (writeParquet, ZSTD, to a temporary file) for each `--rows`, each size in a fresh
 *    process, with RSS sampled along the way to show it stays flat. No server involved. Also the
 *    hand-built Arrow buffers against arrow's own `vectorFromArray`.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Dictionary, Int32, Int64, type RecordBatch, Table, TimestampMillisecond, Utf8, vectorFromArray } from 'apache-arrow'
import { Bucket, listPages, type ObjectEntry } from '../src/index.js'
import { writeParquet } from '../src/arrow/parquet.js'
import { ListingBatchBuilder, toRecordBatches } from '../src/arrow/record-batches.js'
import { listPartitioned } from '../src/stages/partition/index.js'
import { startLatencyProxy } from './list-latency-proxy.js'
import { benchBucketName, benchKey, seedBenchBucket } from './list-seed.js'

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback
}
const flag = (name: string) => process.argv.includes(`--${name}`)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const MiB = 1024 * 1024

// ---------------------------------------------------------------------------------------------
// Synthetic listing pages: the bench key set, realistic dates, sizes, ETags and storage classes.

function syntheticEntry(i: number): ObjectEntry {
  const h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) >>> 0
  return {
    kind: 'object',
    key: benchKey(i),
    size: h % 50_000_000,
    lastModified: new Date(1_704_067_200_000 + (h % 31_536_000) * 1000),
    etag: `"${h.toString(16).padStart(8, '0')}${(h ^ 0x5bd1e995).toString(16).padStart(8, '0')}${i.toString(16).padStart(16, '0')}"`,
    storageClass: i % 50 === 0 ? 'GLACIER' : i % 7 === 0 ? 'STANDARD_IA' : 'STANDARD',
  }
}

function* syntheticPages(rows: number, pageSize = 1000): Generator<{ objects: ObjectEntry[] }> {
  for (let at = 0; at < rows; at += pageSize) {
    const n = Math.min(pageSize, rows - at)
    const objects = new Array<ObjectEntry>(n)
    for (let i = 0; i < n; i++) objects[i] = syntheticEntry(at + i)
    yield { objects }
  }
}

// ---------------------------------------------------------------------------------------------
// Child process: one pages -> Arrow -> Parquet run, reporting JSON on stdout.

async function parquetChild(rows: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bf-bench-list-'))
  const file = join(dir, 'index.parquet')
  const samples: { rows: number; rssMiB: number }[] = []
  let done = 0
  const every = Math.max(1, Math.floor(rows / 20))
  let next = every
  async function* counted() {
    for (const page of syntheticPages(rows)) {
      yield page
      done += page.objects.length
      if (done >= next) {
        samples.push({ rows: done, rssMiB: process.memoryUsage.rss() / MiB })
        next += every
      }
    }
  }
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const result = await writeParquet(toRecordBatches(counted()), file, { compression: 'zstd' })
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  await rm(dir, { recursive: true, force: true })
  process.stdout.write(
    `${JSON.stringify({
      rows: result.rows,
      bytes: result.bytes,
      rowGroups: result.rowGroups,
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      samples,
    })}\n`,
  )
}

function runChild(rows: number): Promise<{
  rows: number
  bytes: number
  rowGroups: number
  seconds: number
  cpuSeconds: number
  peakRssMiB: number
  samples: { rows: number; rssMiB: number }[]
}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child-parquet', String(rows)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`child exited with ${code}`))
      resolve(JSON.parse(out.trim().split('\n').at(-1)!))
    })
  })
}

/** Pages -> Arrow only: the hand-built buffers against arrow's vectorFromArray, rows/s. */
function arrowBuilders(rows: number): { handBuilt: number; vectorFromArray: number; source: number } {
  const pages = [...syntheticPages(rows)]
  const time = (fn: () => void) => {
    const t0 = performance.now()
    fn()
    return rows / ((performance.now() - t0) / 1000)
  }
  const source = time(() => {
    for (const _ of syntheticPages(rows));
  })
  const builder = new ListingBatchBuilder()
  let sink = 0
  const handBuilt = time(() => {
    for (const p of pages) sink += builder.build(p.objects).numRows
  })
  const dict = new Dictionary(new Utf8(), new Int32())
  const vectorFromArrayRate = time(() => {
    for (const p of pages) {
      const o = p.objects
      const t = new Table({
        Key: vectorFromArray(
          o.map((e) => e.key),
          new Utf8(),
        ),
        LastModified: vectorFromArray(
          o.map((e) => e.lastModified!.getTime()),
          new TimestampMillisecond('UTC'),
        ),
        ETag: vectorFromArray(
          o.map((e) => e.etag),
          new Utf8(),
        ),
        Size: vectorFromArray(
          o.map((e) => BigInt(e.size)),
          new Int64(),
        ),
        StorageClass: vectorFromArray(
          o.map((e) => e.storageClass),
          dict,
        ),
      })
      sink += (t.batches[0] as RecordBatch).numRows
    }
  })
  if (sink < 0) console.log(sink)
  return { handBuilt, vectorFromArray: vectorFromArrayRate, source }
}

// ---------------------------------------------------------------------------------------------
// Listing.

interface Run {
  method: string
  seconds: number
  keys: number
  cpu: number
}

async function listOnce(bucket: Bucket, method: string, expected: number): Promise<Run> {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  let keys = 0
  if (method === 'serial') {
    for await (const page of listPages(bucket)) keys += page.objects.length
  } else {
    const concurrency = Number(method.slice(2))
    for await (const page of listPartitioned(bucket, { concurrency })) keys += page.objects.length
  }
  const seconds = (performance.now() - t0) / 1000
  const c = process.cpuUsage(cpu0)
  if (keys !== expected) throw new Error(`${method} listed ${keys} keys, expected ${expected}`)
  return { method, seconds, keys, cpu: (c.user + c.system) / 1e6 }
}

async function listingTable(bucket: Bucket, count: number, rounds: number, label: string): Promise<void> {
  const methods = ['serial', 'c=4', 'c=8', 'c=16']
  const runs = new Map<string, Run[]>(methods.map((m) => [m, []]))
  for (let r = 0; r < rounds; r++) {
    for (const m of methods) runs.get(m)!.push(await listOnce(bucket, m, count))
  }
  const serial = median(runs.get('serial')!.map((x) => x.seconds))
  console.log(`\n${label}: ${fmt(count)} keys, median of ${rounds} interleaved rounds`)
  console.log('method                 keys/s   ratio   wall s (all rounds)          client CPU s')
  for (const m of methods) {
    const rs = runs.get(m)!
    const s = median(rs.map((x) => x.seconds))
    const name = m === 'serial' ? 'serial listPages' : `listPartitioned ${m}`
    console.log(
      `${name.padEnd(22)} ${fmt(count / s).padStart(7)}  ${(serial / s).toFixed(2).padStart(5)}x   ${rs
        .map((x) => x.seconds.toFixed(2))
        .join(' ')
        .padEnd(28)} ${median(rs.map((x) => x.cpu)).toFixed(2)}`,
    )
  }
}

async function main(): Promise<void> {
  const count = Number(arg('keys', '100000'))
  const rowsList = arg('rows', '1000000,5000000').split(',').map(Number)
  const rounds = Number(arg('rounds', '3'))
  const latency = Number(arg('latency', '0'))
  console.log(
    `bucketflow listing bench (Node ${process.version}, ${(await import('node:os')).cpus().length} CPUs, load average ${(await import('node:os'))
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')})`,
  )

  if (!flag('skip-listing')) {
    const t0 = performance.now()
    const bucket = await seedBenchBucket(count, { concurrency: 16 })
    console.log(`bucket ${bucket.name} ready (${((performance.now() - t0) / 1000).toFixed(1)} s, seeding only what was missing)`)
    await listingTable(bucket, count, rounds, 'Listing against radosgw on 127.0.0.1')
    if (latency > 0) {
      const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL
      if (!endpoint) throw new Error('AWS_ENDPOINT_URL_S3 is not set')
      const proxy = await startLatencyProxy(endpoint, latency)
      try {
        const slow = new Bucket(benchBucketName(count), { endpoint: proxy.endpoint, concurrency: 16 })
        await listingTable(slow, count, rounds, `Listing with ${latency} ms added to every response (simulated network round trip)`)
      } finally {
        await proxy.close()
      }
    }
  }

  if (!flag('skip-parquet')) {
    const b = arrowBuilders(200_000)
    console.log('\nPages -> Arrow record batches (200,000 synthetic rows, 1000-row pages, in memory)')
    console.log(`  synthetic page generator alone   ${fmt(b.source).padStart(11)} rows/s`)
    console.log(`  hand-built buffers (toRecordBatches) ${fmt(b.handBuilt).padStart(7)} rows/s`)
    console.log(
      `  arrow vectorFromArray per column ${fmt(b.vectorFromArray).padStart(11)} rows/s  (${(b.handBuilt / b.vectorFromArray).toFixed(1)}x slower than hand-built)`,
    )
    console.log('\nPages -> Arrow -> Parquet (ZSTD, 100,000-row groups, to a local file; one process per size)')
    console.log('rows         rows/s   CPU s   wall s   file MB  row groups  peak RSS MiB   RSS MiB at 10% / 50% / 100% of rows')
    for (const rows of rowsList) {
      const r = await runChild(rows)
      const at = (f: number) => r.samples[Math.min(r.samples.length - 1, Math.max(0, Math.round(f * r.samples.length) - 1))]?.rssMiB ?? 0
      console.log(
        `${fmt(rows).padEnd(10)} ${fmt(r.rows / r.seconds).padStart(8)}  ${r.cpuSeconds.toFixed(1).padStart(6)}  ${r.seconds.toFixed(1).padStart(7)}  ${(r.bytes / 1e6).toFixed(1).padStart(8)}  ${String(r.rowGroups).padStart(10)}  ${r.peakRssMiB.toFixed(0).padStart(12)}   ${[0.1, 0.5, 1].map((f) => at(f).toFixed(0)).join(' / ')}`,
      )
    }
  }
}

if (flag('child-parquet')) await parquetChild(Number(arg('child-parquet', '1000000')))
else await main()
