/**
 * Log shipping throughput and memory: `createLogStream` (and `bucketflow ship`) storing
 * generated log lines into S3, plain, gzip and zstd, without and with the disk spool (and the
 * spool's fsync policies). Each run is its own child process, so CPU time and peak RSS are
 * measured apart; the table shows medians of `--runs` runs.
 *
 *   npx tsx bench/ship.ts [--size 256MiB] [--runs 3] [--only spool-gzip,memory-gzip] [--no-cli]
 *
 * `cli-spool-gzip` builds dist/ first and runs `bucketflow ship --spool --gzip` under
 * /usr/bin/time, fed from a file of the same lines.
 *
 * "per core" is bytes of lines per CPU-second of the shipping process (user + system, every
 * thread: zlib compresses on libuv's pool), so it holds on a machine whose cores are shared;
 * wall-clock MiB/s depends on the S3 server and the load. The source (pre-generated lines handed
 * over in 64 KiB chunks cut at newlines, as `bucketflow ship` hands over stdin) is measured on
 * its own (`source`) so its share can be told apart.
 *
 * Uses the S3 server at S3_ENDPOINT (with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), or starts
 * one with scripts/local-s3.sh and stops it afterwards. Objects are deleted after each run.
 */
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createWriteStream as createFileStream } from 'node:fs'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Bucket } from '../src/bucket.js'
import { parseEnv } from '../src/radosgw.js'
import { DEFAULT_PART_SIZE, DEFAULT_QUEUE_SIZE } from '../src/upload/multipart.js'
import { createLogStream, type LogStreamOptions } from '../src/sinks/rotating.js'

const run = promisify(execFile)
const here = fileURLToPath(import.meta.url)
const root = resolve(here, '../..')
const MiB = 1024 * 1024

interface Variant {
  name: string
  /** 'source': generate and drop; 'library': createLogStream in the child; 'cli': `bucketflow ship` fed from a file. */
  kind: 'source' | 'library' | 'cli'
  options: LogStreamOptions & { spool?: string }
  cliArgs?: string[]
}

const VARIANTS: Variant[] = [
  { name: 'source', kind: 'source', options: {} },
  { name: 'memory-plain', kind: 'library', options: {} },
  { name: 'memory-gzip', kind: 'library', options: { compression: 'gzip' } },
  { name: 'memory-zstd', kind: 'library', options: { compression: 'zstd' } },
  { name: 'spool-plain', kind: 'library', options: { spool: 'x' } },
  { name: 'spool-gzip', kind: 'library', options: { spool: 'x', compression: 'gzip' } },
  { name: 'spool-zstd', kind: 'library', options: { spool: 'x', compression: 'zstd' } },
  { name: 'spool-gzip-fsync-always', kind: 'library', options: { spool: 'x', compression: 'gzip', fsync: 'always' } },
  { name: 'spool-gzip-fsync-never', kind: 'library', options: { spool: 'x', compression: 'gzip', fsync: 'never' } },
  { name: 'spool-gzip-level6', kind: 'library', options: { spool: 'x', compression: 'gzip', compressionLevel: 6 } },
  { name: 'cli-spool-gzip', kind: 'cli', options: {}, cliArgs: ['--gzip'] },
]

interface Report {
  variant: string
  bytes: number
  lines: number
  seconds: number
  cpuSeconds: number
  /** Of cpuSeconds, system time (file writes, fdatasync, sockets). */
  systemSeconds?: number
  baselineRss: number
  peakRss: number
  stored: number
  objects: number
  peakSpool: number
  bound: number
}

function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|K|KB|KiB|M|MB|MiB|G|GB|GiB)?$/i.exec(text.trim())
  if (!m) throw new Error(`Cannot read size ${JSON.stringify(text)} (e.g. 256MiB, 1GiB)`)
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
    const value = inline ?? (argv[i + 1]?.startsWith('--') === false ? argv[++i]! : 'true')
    out.set(name, value)
  }
  return out
}

const fmt = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`

/**
 * Realistic log lines (~170 bytes: time, level, service, a random request id, path, status,
 * latency, user, message), `size` bytes in all, in one buffer.
 */
function generateLines(size: number): { data: Buffer; lines: number } {
  const levels = ['INFO', 'INFO', 'INFO', 'WARN', 'DEBUG', 'ERROR']
  const paths = ['/api/v1/users', '/api/v1/orders', '/healthz', '/api/v2/search', '/static/app.js', '/api/v1/cart/items']
  // Written straight into one buffer, random ids from one pool: little garbage to collect later.
  const data = Buffer.allocUnsafe(size + 512)
  const ids = randomBytes(1 << 20).toString('hex')
  let bytes = 0
  let i = 0
  let t = Date.UTC(2026, 11, 1)
  while (bytes < size) {
    t += i % 3
    const id = ids.substr(((i * 2654435761) >>> 0) % (ids.length - 16), 16)
    const line = `${new Date(t).toISOString()} ${levels[i % 6]} web-${i % 7} req=${id} ${paths[i % 6]}?page=${i % 97} status=${i % 13 ? 200 : 500} latency_ms=${((i * 7919) % 30011) / 100} user=${1000 + ((i * 7919) % 5000)} msg="handled request ${i}"\n`
    bytes += data.write(line, bytes, 'latin1')
    i++
  }
  return { data: data.subarray(0, bytes), lines: i }
}

/** Chunks of ~64 KiB cut after a newline, cycling through `pool` until `total` bytes. */
function* chunksOf(pool: Buffer, total: number): Generator<Buffer> {
  let sent = 0
  let at = 0
  while (sent < total) {
    let end = Math.min(at + 64 * 1024, pool.length)
    if (end < pool.length) end = pool.lastIndexOf(0x0a, end - 1) + 1
    const chunk = pool.subarray(at, end)
    at = end >= pool.length ? 0 : end
    sent += chunk.length
    yield chunk
  }
}

/** The memory bound stated in createLogStream's documentation, for these options. */
function statedBound(options: LogStreamOptions): number {
  const sink = (options.partSize ?? DEFAULT_PART_SIZE) * ((options.queueSize ?? DEFAULT_QUEUE_SIZE) + 1)
  const line = options.maxLineBytes ?? MiB
  // zlib gzip: 256 KiB of state; zstd without zlib: a 4 MiB frame and its output.
  const codec = options.compression === 'gzip' ? MiB / 4 : options.compression === 'zstd' ? 8 * MiB : 0
  // With a spool: the Writable's 1 MiB buffer and two streamed objects, and the upload side
  // (a 1 MiB read buffer, a codec, a sink) for objects built from their files.
  return options.spool ? MiB + line + 2 * (sink + codec) + MiB + codec + sink : 2 * (sink + codec) + line
}

async function child(variant: Variant, size: number): Promise<void> {
  const { data, lines: poolLines } = generateLines(Math.min(size, 64 * MiB))
  const linesTotal = Math.round((poolLines * size) / data.length)
  const bucket = new Bucket(process.env.BENCH_BUCKET!)
  const prefix = process.env.BENCH_PREFIX!
  const options: LogStreamOptions = { ...variant.options }
  let spool: string | undefined
  if (options.spool) options.spool = spool = await mkdtemp(join(tmpdir(), 'bucketflow-bench-spool-'))
  global.gc?.()
  const baselineRss = process.memoryUsage.rss()
  let peakRss = baselineRss
  let peakSpool = 0
  const log = variant.kind === 'library' ? createLogStream(bucket, prefix, options) : undefined
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss())
    if (log) peakSpool = Math.max(peakSpool, log.spoolBytes)
  }, 20)
  const cpu0 = process.cpuUsage()
  const started = performance.now()
  let written = 0
  let stored = 0
  let objects = 0
  let lines = linesTotal
  if (!log) {
    for (const chunk of chunksOf(data, size)) written += chunk.length
  } else {
    for (const chunk of chunksOf(data, size)) {
      written += chunk.length
      if (!log.write(chunk)) await once(log, 'drain')
    }
    log.end()
    const result = await log.done
    if (result.bytes !== written) throw new Error(`${variant.name}: stored ${result.bytes} bytes of lines, wrote ${written}`)
    stored = result.size
    objects = result.objects
    lines = result.lines
  }
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpu0)
  clearInterval(sampler)
  peakRss = Math.max(peakRss, process.memoryUsage.rss())
  if (spool) await rm(spool, { recursive: true, force: true })
  const report: Report = {
    variant: variant.name,
    bytes: written,
    lines,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    systemSeconds: cpu.system / 1e6,
    baselineRss,
    peakRss,
    stored,
    objects,
    peakSpool,
    bound: log ? statedBound(options) : 0,
  }
  process.stdout.write(`REPORT ${JSON.stringify(report)}\n`)
}

function filterNoise(text: string): string {
  return text
    .split('\n')
    .filter((l) => !/NodeVersion|node >=22|published after|require node|receiving updates|security updates|a\.co\/|trace-warnings|^\s*$/.test(l))
    .join('\n')
}

function runChild(variant: Variant, size: number, env: NodeJS.ProcessEnv): Promise<Report> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', here, '--child', variant.name, '--size', String(size)], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()))
    proc.on('error', reject)
    proc.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('REPORT '))
      if (code !== 0 || !line) return reject(new Error(`${variant.name} child failed (exit ${code}):\n${filterNoise(err)}`))
      resolvePromise(JSON.parse(line.slice('REPORT '.length)) as Report)
    })
  })
}

/** `bucketflow ship --spool` fed from a file of lines, under /usr/bin/time for its CPU and peak RSS. */
async function runCli(variant: Variant, size: number, env: NodeJS.ProcessEnv, input: string): Promise<Report> {
  const spool = await mkdtemp(join(tmpdir(), 'bucketflow-bench-spool-'))
  const main = join(root, 'dist/cli/main.js')
  const url = `s3://${env.BENCH_BUCKET}/${env.BENCH_PREFIX}`
  const started = performance.now()
  try {
    const { stdout, stderr } = await run(
      'bash',
      [
        '-c',
        `/usr/bin/time -f 'TIME %U %S %M' ${process.execPath} ${main} --json ship ${url} --spool ${spool} ${(variant.cliArgs ?? []).join(' ')} < ${input}`,
      ],
      { cwd: root, env, maxBuffer: 1 << 20 },
    )
    const seconds = (performance.now() - started) / 1000
    const t = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(stderr)
    if (!t) throw new Error(`no timing from /usr/bin/time:\n${filterNoise(stderr)}`)
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as { bytes: number; lines: number; size: number; objects: number }
    if (summary.bytes !== size) throw new Error(`cli stored ${summary.bytes} bytes of lines, fed ${size}`)
    return {
      variant: variant.name,
      bytes: summary.bytes,
      lines: summary.lines,
      seconds,
      cpuSeconds: Number(t[1]) + Number(t[2]),
      baselineRss: 0,
      peakRss: Number(t[3]) * 1024,
      stored: summary.size,
      objects: summary.objects,
      peakSpool: 0,
      bound: statedBound({ spool: 'x', compression: 'gzip' }),
    }
  } finally {
    await rm(spool, { recursive: true, force: true })
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

async function main(): Promise<void> {
  const a = args()
  const size = parseSize(a.get('size') ?? '256MiB')
  const only = a.get('child')
  if (only) {
    const variant = VARIANTS.find((v) => v.name === only)
    if (!variant) throw new Error(`unknown variant ${only}`)
    return child(variant, size)
  }
  const runs = Number(a.get('runs') ?? 3)
  const selected = a.has('only')
    ? VARIANTS.filter((v) => a.get('only')!.split(',').includes(v.name))
    : VARIANTS.filter((v) => v.kind !== 'cli' || a.get('no-cli') !== 'true')

  const script = join(root, 'scripts/local-s3.sh')
  let serverDir: string | undefined
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }
  if (process.env.S3_ENDPOINT) env.AWS_ENDPOINT_URL_S3 = process.env.S3_ENDPOINT
  else {
    serverDir = await mkdtemp(join(tmpdir(), 'bucketflow-bench-s3-'))
    console.log('starting a local S3 server (scripts/local-s3.sh) ...')
    const { stdout } = await run('bash', [script, 'start', serverDir], { maxBuffer: 1 << 20 })
    Object.assign(env, parseEnv(stdout))
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
  const bucket = await Bucket.create(`bench-ship-${randomBytes(4).toString('hex')}`)
  env.BENCH_BUCKET = bucket.name
  let input: string | undefined
  const byVariant = new Map<string, Report[]>()
  const load = (await readFile('/proc/loadavg', 'utf8').catch(() => '')).split(' ').slice(0, 3).join(' ')
  console.log(`shipping ${fmt(size)} of log lines per run, ${runs} runs per variant, endpoint ${env.AWS_ENDPOINT_URL_S3}, load average ${load}`)
  try {
    if (selected.some((v) => v.kind === 'cli')) {
      // The command as installed (compiled), not through tsx.
      await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root })
      input = join(await mkdtemp(join(tmpdir(), 'bucketflow-bench-input-')), 'lines.log')
      const { data } = generateLines(Math.min(size, 64 * MiB))
      const out = createFileStream(input)
      for (const chunk of chunksOf(data, size)) if (!out.write(chunk)) await once(out, 'drain')
      out.end()
      await once(out, 'close')
    }
    for (let r = 0; r < runs; r++) {
      for (const variant of selected) {
        const prefix = `bench/${variant.name}/${r}/`
        try {
          const report =
            variant.kind === 'cli'
              ? await runCli(variant, (await stat(input!)).size, { ...env, BENCH_PREFIX: prefix }, input!)
              : await runChild(variant, size, { ...env, BENCH_PREFIX: prefix })
          byVariant.set(variant.name, [...(byVariant.get(variant.name) ?? []), report])
          console.log(
            `  run ${r + 1} ${variant.name}: ${(report.bytes / MiB / report.cpuSeconds).toFixed(0)} MiB/s per core, ${(report.bytes / MiB / report.seconds).toFixed(0)} MiB/s wall, peak RSS ${fmt(report.peakRss)}`,
          )
        } finally {
          await bucket.rm(await bucket.list(prefix).toArray()).catch(() => undefined)
        }
      }
    }
  } finally {
    await bucket.delete({ force: true }).catch((e: unknown) => console.error('could not delete the bench bucket:', e))
    if (input) await rm(resolve(input, '..'), { recursive: true, force: true })
    if (serverDir) await run('bash', [script, 'stop', serverDir]).catch((e: unknown) => console.error('could not stop the server:', e))
  }
  const rows = [...byVariant].map(([name, reports]) => {
    const perCore = median(reports.map((r) => r.bytes / MiB / r.cpuSeconds))
    const wall = median(reports.map((r) => r.bytes / MiB / r.seconds))
    const linesPerCore = median(reports.map((r) => r.lines / r.cpuSeconds))
    const r0 = reports[0]!
    return {
      variant: name,
      'MiB/s per core': perCore.toFixed(0),
      'lines/s per core': `${(linesPerCore / 1000).toFixed(0)}k`,
      'MiB/s wall': wall.toFixed(0),
      'CPU s': median(reports.map((r) => r.cpuSeconds)).toFixed(2),
      ratio: r0.stored ? (r0.bytes / r0.stored).toFixed(2) : '-',
      'peak RSS': fmt(median(reports.map((r) => r.peakRss))),
      'RSS - baseline': r0.baselineRss ? fmt(median(reports.map((r) => r.peakRss - r.baselineRss))) : '-',
      'stated bound': r0.bound ? fmt(r0.bound) : '-',
      'peak spool': r0.peakSpool ? fmt(median(reports.map((r) => r.peakSpool))) : '-',
    }
  })
  console.table(rows)
  const goal = byVariant.get('spool-gzip')
  if (goal) {
    const v = median(goal.map((r) => r.bytes / MiB / r.cpuSeconds))
    console.log(
      `goal: a spooled, gzip-compressed shipper >= 100 MiB/s of lines per core: ${v.toFixed(0)} MiB/s per core (${v >= 100 ? 'met' : 'not met'}; load average at start ${load})`,
    )
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
