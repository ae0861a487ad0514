/**
 * S3 Inventory reading benchmark: rows/s and peak RSS of `readInventory` over a synthetic CSV
 * report (gzip data files, quoted values, URL-encoded keys) stored in the local S3 server, for each
 * `--rows` in a fresh process, with RSS sampled along the way to show it stays flat in the number
 * of rows (the bound: `concurrency` data files plus one batch).
 *
 *   npx tsx bench/inventory.ts [--rows 200000,1000000] [--files 8] [--concurrency 4]
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

async function child(rows: number, files: number, concurrency: number): Promise<void> {
  const bucket = await Bucket.create(`bench-inv-${randomBytes(4).toString('hex')}`)
  try {
    const per = Math.ceil(rows / files)
    const entries = []
    let gz = 0
    for (let f = 0; f < files; f++) {
      const lines: string[] = []
      for (let i = f * per; i < Math.min(rows, (f + 1) * per); i++) {
        const key = `data/${String(i % 97).padStart(2, '0')}/day=${1 + (i % 28)}/part ${i}+x.json`
        lines.push(`"source","${encodeManifestKey(key)}","${i % 100_000}","2024-05-01T01:00:00.000Z","${createHash('md5').update(String(i)).digest('hex')}","STANDARD"`)
      }
      const bytes = gzipSync(`${lines.join('\n')}\n`)
      gz += bytes.length
      const key = `inv/source/c/data/${f}.csv.gz`
      await bucket.put(bytes, key)
      entries.push({ key, size: bytes.length, MD5checksum: createHash('md5').update(bytes).digest('hex') })
    }
    const manifest = { sourceBucket: 'source', destinationBucket: `arn:aws:s3:::${bucket.name}`, version: '2016-11-30', creationTimestamp: '1714525200000', fileFormat: 'CSV', fileSchema: 'Bucket, Key, Size, LastModifiedDate, ETag, StorageClass', files: entries }
    await bucket.put(JSON.stringify(manifest), 'inv/source/c/2024-05-01T01-00Z/manifest.json', { literal: true })
    global.gc?.()
    const base = process.memoryUsage().rss
    let peak = base
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
    const t0 = performance.now()
    let n = 0
    for await (const batch of readInventory(bucket, 'inv/source/c/2024-05-01T01-00Z/manifest.json', { concurrency })) n += batch.numRows
    const secs = (performance.now() - t0) / 1000
    clearInterval(timer)
    peak = Math.max(peak, process.memoryUsage().rss)
    if (n !== rows) throw new Error(`read ${n} rows, wrote ${rows}`)
    console.log(JSON.stringify({ rows, files, gzMiB: gz / MiB, secs, rowsPerSec: rows / secs, baseMiB: base / MiB, peakMiB: peak / MiB }))
  } finally {
    await bucket.delete({ force: true })
  }
}

if (process.argv.includes('--child')) {
  await child(Number(arg('child', '0')), Number(arg('files', '8')), Number(arg('concurrency', '4')))
} else {
  const sizes = arg('rows', '200000,1000000').split(',').map(Number)
  console.log('| rows | data files (gzip) | rows/s | RSS before | peak RSS |\n|---|---|---|---|---|')
  for (const rows of sizes) {
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', String(rows), '--files', arg('files', '8'), '--concurrency', arg('concurrency', '4')], { stdio: ['ignore', 'pipe', 'inherit'] })
      let s = ''
      p.stdout.on('data', (d: Buffer) => (s += d.toString()))
      p.on('error', reject)
      p.on('close', (code) => (code === 0 ? resolve(s) : reject(new Error(`child exited ${code}`))))
    })
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as { rows: number; files: number; gzMiB: number; rowsPerSec: number; baseMiB: number; peakMiB: number }
    console.log(`| ${r.rows.toLocaleString('en-US')} | ${r.files} (${r.gzMiB.toFixed(1)} MiB) | ${Math.round(r.rowsPerSec).toLocaleString('en-US')} | ${r.baseMiB.toFixed(0)} MiB | ${r.peakMiB.toFixed(0)} MiB |`)
  }
}
