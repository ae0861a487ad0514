/**
 * Client cost of downloading many small objects into a folder (`getObjects` with `destination`).
 *
 *   S3_ENDPOINT=http://127.0.0.1:PORT npx tsx bench/get-files.ts [--objects 400] [--size 4096]
 *     [--concurrency 16] [--runs 5] [--folders 8]
 *
 * Puts `--objects` objects of `--size` bytes under `--folders` key prefixes into a new bucket of
 * the radosgw at S3_ENDPOINT (credentials from the usual AWS_* variables), then, `--runs` times,
 * downloads them all into a new empty local folder at `--concurrency` and checks every result
 * and file size. Per run it measures wall time and this process's CPU (`process.cpuUsage()`,
 * user + system): the server runs in its own process, so the CPU is the client's alone. Prints
 * each run and the medians: objects per second and client CPU milliseconds per object. The
 * bucket and the local folders are removed at the end. Only 127.0.0.1 endpoints are accepted.
 *
 * Profile one run with `node --cpu-prof --import tsx bench/get-files.ts --runs 1`.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Bucket } from '../src/index.js'

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback
  if (!Number.isInteger(value) || value < 1) throw new Error(`Expected --${name} to be an integer >= 1, got ${process.argv[i + 1]}`)
  return value
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const endpoint = process.env.S3_ENDPOINT
if (!endpoint || !/^https?:\/\/127\.0\.0\.1(:\d+)?\/?$/.test(endpoint)) {
  throw new Error(`Expected S3_ENDPOINT to be a local radosgw (http://127.0.0.1:PORT), got ${endpoint ?? 'nothing'}`)
}
const objects = arg('objects', 400)
const size = arg('size', 4096)
const concurrency = arg('concurrency', 16)
const runs = arg('runs', 5)
const folders = arg('folders', 8)

const bucket = await Bucket.create(`bench-get-files-${process.pid}-${Date.now().toString(36)}`, { endpoint, concurrency })
const keys = Array.from({ length: objects }, (_, i) => `d${i % folders}/obj-${String(i).padStart(6, '0')}.bin`)
const locals: string[] = []
try {
  const puts = await bucket.put(
    keys.map((_, i) => Buffer.alloc(size, i % 251)),
    keys,
  )
  const failedPut = puts.find((r) => !r.ok)
  if (failedPut && !failedPut.ok) throw failedPut.error
  // One warm-up run (connections, JIT), not counted.
  const rates: number[] = []
  const cpus: number[] = []
  for (let run = 0; run <= runs; run++) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-get-files-'))
    locals.push(dir)
    const cpu0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    const results = await bucket.get(keys, dir)
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9
    const cpu = process.cpuUsage(cpu0)
    for (const r of results) {
      if (!r.ok) throw r.error
      const written = (await stat(r.value)).size
      if (written !== size) throw new Error(`${r.value}: expected ${size} bytes, found ${written}`)
    }
    if (results.length !== objects) throw new Error(`Expected ${objects} results, got ${results.length}`)
    await rm(dir, { recursive: true, force: true })
    if (run === 0) continue
    const rate = objects / seconds
    const cpuMs = (cpu.user + cpu.system) / 1000 / objects
    rates.push(rate)
    cpus.push(cpuMs)
    console.log(`run ${run}: ${rate.toFixed(0)} objects/s, ${cpuMs.toFixed(3)} ms client CPU per object`)
  }
  console.log(
    `median of ${runs}: ${median(rates).toFixed(0)} objects/s, ${median(cpus).toFixed(3)} ms client CPU per object (${objects} x ${size} B, concurrency ${concurrency})`,
  )
} finally {
  for (const dir of locals) await rm(dir, { recursive: true, force: true })
  await bucket.delete({ force: true })
}
