/**
 * Measurements of the load generator itself (bucketflow/bench), not of a store:
 *
 *   npx tsx bench/load.ts null [--seconds 10] [--runs 3] [-c 16] [--size 4KiB] [--ops get,stat,put] [--warmup 3]
 *     Small requests against a null S3 server (bench/null-s3.ts, its own process): requests per
 *     second, client CPU per request, and requests per second per core of client CPU. The goal
 *     is >= 5,000 small GETs per second per core.
 *
 *   npx tsx bench/load.ts memory [--seconds 60] [-c 16] [--exact-limit 20000]
 *     One long GET run against the null server, samples streamed to Parquet: resident memory
 *     once a second. With the statistics past their exact limit, memory must stay flat however
 *     many samples the run makes.
 *
 *   node --expose-gc --import tsx bench/load.ts bookkeeping [--samples 3000000] [--exact-limit 1000000]
 *     The generator's own memory per sample, without a network: synthetic samples through the
 *     same statistics and Parquet writer a run uses; retained heap (after GC) and RSS every
 *     250,000 samples. Flat past the exact limit: the bound of a long run.
 *
 * Figures are medians of the runs; the machine's other load is printed with them.
 *
 * Where a GET's client CPU goes (the generator's own share against the stage, the transport,
 * signing, undici and Node's plumbing): profile one run and read it with bench/cpu-profile.ts,
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/load-prof --import tsx bench/load.ts null --ops get --runs 1 --seconds 10
 *   npx tsx bench/cpu-profile.ts /tmp/load-prof/CPU.*.0.001.cpuprofile --seconds 10
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Bucket } from '../src/index.js'
import { benchmark, parseSize, SampleWriter, type BenchOperation, type BenchSample } from '../src/benchmark/index.js'
import { SampleStats } from '../src/benchmark/stats.js'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1]! : fallback
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** Start bench/null-s3.ts in its own process (so its CPU is not the client's). */
async function nullServer(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./null-s3.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /NULL_S3=(\S+)/.exec(out)
      if (m) resolve(m[1]!)
    })
    child.once('exit', (code) => reject(new Error(`null server exited (${code})`)))
  })
  return { url, stop: () => child.kill() }
}

function openBucket(url: string, concurrency: number): Bucket {
  return new Bucket('null-bench', {
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'null', secretAccessKey: 'null' },
    concurrency: Math.max(8, Math.ceil(concurrency / 2)),
  })
}

async function nullRuns(): Promise<void> {
  const seconds = Number(flag('--seconds', '10'))
  const runs = Number(flag('--runs', '3'))
  const concurrency = Number(flag('-c', '16'))
  const size = parseSize(flag('--size', '4KiB'))
  const ops = flag('--ops', 'get,stat,put').split(',') as BenchOperation[]
  const warmup = Number(flag('--warmup', '3'))
  const server = await nullServer()
  const bucket = openBucket(server.url, concurrency)
  const dir = await mkdtemp(join(tmpdir(), 'bf-load-'))
  console.log(
    `null server ${server.url}; ${runs} runs of ${seconds} s at concurrency ${concurrency}, ${size} B objects; load average ${loadavg()[0]!.toFixed(2)}`,
  )
  try {
    for (const op of ops) {
      // Warm up (JIT, sockets): not counted.
      await benchmark(bucket, { workload: op, duration: warmup * 1000, concurrency, sizes: size, objects: 200, prefix: `load/${op}-warmup/` })
      const rows: { rate: number; perOp: number; perCore: number; cores: number }[] = []
      for (let r = 0; r < runs; r++) {
        const s = await benchmark(bucket, {
          workload: op,
          duration: seconds * 1000,
          concurrency,
          sizes: size,
          objects: 200,
          prefix: `load/${op}-${r}/`,
          results: join(dir, `${op}-${r}.parquet`),
        })
        const l = s.levels[0]!
        const cpu = l.cpu!
        rows.push({ rate: l.total.opsPerSecond, perOp: cpu.perOpMs, perCore: 1000 / cpu.perOpMs, cores: cpu.cores })
        console.log(
          `  ${op} run ${r + 1}: ${l.total.opsPerSecond.toFixed(0)} ops/s, ${cpu.perOpMs.toFixed(3)} ms CPU per op (${(1000 / cpu.perOpMs).toFixed(0)} ops per CPU-second), ${cpu.cores.toFixed(2)} cores busy, ${l.total.failed} errors`,
        )
      }
      console.log(
        `${op}: median ${median(rows.map((x) => x.rate)).toFixed(0)} ops/s, ${median(rows.map((x) => x.perOp)).toFixed(3)} ms CPU per op = ${median(rows.map((x) => x.perCore)).toFixed(0)} ${op}s per second per core`,
      )
    }
  } finally {
    server.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

async function memory(): Promise<void> {
  const seconds = Number(flag('--seconds', '60'))
  const concurrency = Number(flag('-c', '16'))
  const exactLimit = Number(flag('--exact-limit', '20000'))
  const server = await nullServer()
  const bucket = openBucket(server.url, concurrency)
  const dir = await mkdtemp(join(tmpdir(), 'bf-load-mem-'))
  const file = join(dir, 'memory.parquet')
  const marks: { t: number; ops: number; rss: number; heap: number }[] = []
  try {
    const s = await benchmark(bucket, {
      workload: 'get',
      duration: seconds * 1000,
      concurrency,
      sizes: 1024,
      objects: 100,
      exactLimit,
      results: file,
      onProgress: (p) => {
        const m = process.memoryUsage()
        marks.push({ t: p.elapsed / 1000, ops: p.ops, rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20 })
        if (marks.length % 10 === 0)
          console.log(`  ${(p.elapsed / 1000) | 0} s: ${p.ops} samples, RSS ${(m.rss / 2 ** 20).toFixed(0)} MiB, heap ${(m.heapUsed / 2 ** 20).toFixed(0)} MiB`)
      },
    })
    const l = s.levels[0]!
    const after = marks.filter((m) => m.ops > exactLimit * 2)
    const third = Math.floor(after.length / 3)
    const early = after.slice(0, Math.max(1, third))
    const late = after.slice(-Math.max(1, third))
    console.log(`${l.samples} samples in ${l.seconds.toFixed(0)} s; Parquet ${(await stat(file)).size} bytes`)
    if (after.length >= 3) {
      console.log(
        `past ${exactLimit * 2} samples: RSS ${Math.max(...early.map((m) => m.rss)).toFixed(0)} MiB (first third, max) -> ${Math.max(...late.map((m) => m.rss)).toFixed(0)} MiB (last third, max) while samples grew ${early[0]!.ops} -> ${late.at(-1)!.ops}`,
      )
    }
    console.log(`peak RSS ${l.cpu!.maxRssMiB.toFixed(0)} MiB`)
  } finally {
    server.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

async function bookkeeping(): Promise<void> {
  const total = Number(flag('--samples', '3000000'))
  const exactLimit = Number(flag('--exact-limit', '1000000'))
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) console.log('(run with node --expose-gc for retained heap figures)')
  const dir = await mkdtemp(join(tmpdir(), 'bf-load-book-'))
  const file = join(dir, 'book.parquet')
  const stats = new SampleStats({ exactLimit })
  const writer = new SampleWriter(file, 'run', 'mixed')
  const ops: BenchOperation[] = ['get', 'put', 'stat']
  const t0 = 1_800_000_000_000
  const started = performance.now()
  try {
    for (let i = 0; i < total; i++) {
      if (writer.full) await writer.ready()
      const s: BenchSample = {
        op: ops[i % 3]!,
        size: 4096,
        objects: 1,
        start: t0 + i * 0.05,
        ttfb: i % 3 === 0 ? 1 + (i % 997) / 100 : null,
        duration: 2 + (i % 1009) / 50,
        outcome: i % 1000 === 0 ? 'SlowDown' : 'ok',
        client: 'c',
        concurrency: 16,
        worker: i % 16,
      }
      stats.add(s)
      writer.push(s)
      if ((i + 1) % 250_000 === 0) {
        gc?.()
        const m = process.memoryUsage()
        console.log(
          `  ${i + 1} samples: heap ${(m.heapUsed / 2 ** 20).toFixed(1)} MiB, RSS ${(m.rss / 2 ** 20).toFixed(0)} MiB, external ${(m.external / 2 ** 20).toFixed(1)} MiB`,
        )
      }
    }
    const result = await writer.end()
    const secs = (performance.now() - started) / 1000
    console.log(
      `${total} samples in ${secs.toFixed(1)} s (${(total / secs).toFixed(0)} per second of bookkeeping), Parquet ${result?.bytes} bytes, ${result?.rowGroups} row groups; exact percentiles kept: ${stats.op('get').latency.exact}`,
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const mode = process.argv[2]
if (mode === 'null') await nullRuns()
else if (mode === 'memory') await memory()
else if (mode === 'bookkeeping') await bookkeeping()
else {
  console.error('usage: npx tsx bench/load.ts null|memory|bookkeeping [options] (see the header of bench/load.ts)')
  process.exitCode = 2
}
