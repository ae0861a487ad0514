/**
 * S3 Inventory reading benchmark: rows/s and peak RSS of `readInventory` over a synthetic CSV
 * report (gzip data files, quoted values, URL-encoded keys) stored in the local S3 server, for each
 * `--rows` in a fresh process, with RSS sampled along the way to show it stays flat in the number
 * of rows (the bound: `concurrency` data files plus one batch).
 *
 *   npx tsx bench/inventory.ts [--rows 200000,1000000] [--files 8] [--concurrency 4]
 *
 * Each size is written by one process and read by a fresh one, so the reader's RSS is its own.
 *
 * The endpoint and credentials come from the standard AWS environment (AWS_ENDPOINT_URL_S3, ...).
 */
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { Bucket, encodeManifestKey, readInventory } from '../src/index.js'

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback
}
const MiB = 1024 * 1024

const MANIFEST = 'inv/source/c/2024-05-01T01-00Z/manifest.json'

/** Write a synthetic report into a new bucket; print the bucket's name. */
async function seed(rows: number, files: number): Promise<void> {
  const bucket = await Bucket.create(`bench-inv-${randomBytes(4).toString('hex')}`)
  const per = Math.ceil(rows / files)
  const entries = []
  let gz = 0
  for (let f = 0; f < files; f++) {
    const lines: string[] = []
    for (let i = f * per; i < Math.min(rows, (f + 1) * per); i++) {
      const key = `data/${String(i % 97).padStart(2, '0')}/day=${1 + (i % 28)}/part ${i}+x.json`
      lines.push(
        `"source","${encodeManifestKey(key)}","${i % 100_000}","2024-05-01T01:00:00.000Z","${createHash('md5').update(String(i)).digest('hex')}","STANDARD"`,
      )
    }
    const bytes = gzipSync(`${lines.join('\n')}\n`)
    gz += bytes.length
    const key = `inv/source/c/data/${f}.csv.gz`
    await bucket.put(bytes, key)
    entries.push({ key, size: bytes.length, MD5checksum: createHash('md5').update(bytes).digest('hex') })
  }
  const manifest = {
    sourceBucket: 'source',
    destinationBucket: `arn:aws:s3:::${bucket.name}`,
    version: '2016-11-30',
    creationTimestamp: '1714525200000',
    fileFormat: 'CSV',
    fileSchema: 'Bucket, Key, Size, LastModifiedDate, ETag, StorageClass',
    files: entries,
  }
  await bucket.put(JSON.stringify(manifest), MANIFEST, { literal: true })
  console.log(JSON.stringify({ bucket: bucket.name, gzMiB: gz / MiB }))
}

/** Read the report in a fresh process (RSS sampled every 20 ms), then delete the bucket. */
async function read(name: string, rows: number, concurrency: number): Promise<void> {
  const bucket = new Bucket(name)
  try {
    const base = process.memoryUsage().rss
    let peak = base
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
    const t0 = performance.now()
    let n = 0
    for await (const batch of readInventory(bucket, MANIFEST, { concurrency })) n += batch.numRows
    const secs = (performance.now() - t0) / 1000
    clearInterval(timer)
    peak = Math.max(peak, process.memoryUsage().rss)
    if (n !== rows) throw new Error(`read ${n} rows, wrote ${rows}`)
    console.log(JSON.stringify({ rows, secs, rowsPerSec: rows / secs, baseMiB: base / MiB, peakMiB: peak / MiB }))
  } finally {
    await bucket.delete({ force: true })
  }
}

function run(args: string[]): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    let s = ''
    p.stdout.on('data', (d: Buffer) => (s += d.toString()))
    p.on('error', reject)
    p.on('close', (code) => (code === 0 ? resolve(s.trim().split('\n').at(-1)!) : reject(new Error(`child exited ${code}`))))
  })
}

if (process.argv.includes('--seed')) {
  await seed(Number(arg('seed', '0')), Number(arg('files', '8')))
} else if (process.argv.includes('--read')) {
  await read(arg('read', ''), Number(arg('rows', '0')), Number(arg('concurrency', '4')))
} else {
  const sizes = arg('rows', '200000,1000000').split(',').map(Number)
  console.log('| rows | data files (gzip) | rows/s | RSS at start | peak RSS |\n|---|---|---|---|---|')
  for (const rows of sizes) {
    const seeded = JSON.parse(await run(['--seed', String(rows), '--files', arg('files', '8')])) as { bucket: string; gzMiB: number }
    const r = JSON.parse(await run(['--read', seeded.bucket, '--rows', String(rows), '--concurrency', arg('concurrency', '4')])) as {
      rowsPerSec: number
      baseMiB: number
      peakMiB: number
    }
    console.log(
      `| ${rows.toLocaleString('en-US')} | ${arg('files', '8')} (${seeded.gzMiB.toFixed(1)} MiB) | ${Math.round(r.rowsPerSec).toLocaleString('en-US')} | ${r.baseMiB.toFixed(0)} MiB | ${r.peakMiB.toFixed(0)} MiB |`,
    )
  }
}
