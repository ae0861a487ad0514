/**
 * The benchmark engine: in one run against one S3 server, every tool does every phase of every
 * workload it supports, each in its own child process, interleaved (the order of tools rotates
 * from run to run), several runs; a sample counts only when its result verified byte-exact.
 *
 * @example
 * ```ts
 * // internal to the CLI's `bench peers`: runBenchmark is this module's export
 * const report = await runBenchmark({ runs: 1, scale: 0.05, only: ['W1'], external: false })
 * ```
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { hasGnuTime, median, measure, type Measurement } from './measure.js'
import { DEFAULT_PEERS, PEERS, findPeer, isNodePeer } from './tools/index.js'
import { runQuiet } from './tools/tools.js'
import type { Invocation, Peer, PreparedTool, S3Target } from './tools/types.js'
import { supports } from './tools/types.js'
import { planPhase, prepareFixtures } from './phases.js'
import { Admin } from './s3-admin.js'
import { closeServer, collectGarbage, openServer, type BenchServer } from './server.js'
import { MiB, phaseAmount, workloads, type PhaseId, type Unit, type Workload, type WorkloadId } from './workloads.js'

export interface BenchOptions {
  /** Runs; medians are taken over them. Default 3. */
  runs?: number
  /** Workloads to run. Default all. */
  only?: readonly WorkloadId[]
  /** Multiplies counts (and W3's size). Default 1. */
  scale?: number
  /** Requests or parts in flight for every tool with such a knob. Default 16. */
  concurrency?: number
  /** Part size for every tool with such a knob. Default 8 MiB. */
  partSize?: number
  /** Tools to run, by name. Default: every peer except hidden control peers. */
  tools?: readonly string[]
  /** Run external tools (rclone, aws-cli). Default true. */
  external?: boolean
  /** Install missing external tools with apt-get when root on Debian. Default true. */
  install?: boolean
  /** The S3 server; default S3_ENDPOINT, else a radosgw started for the run. */
  s3?: S3Target & { dir?: string }
  /** Measure each tool's start-up cost (start and exit, up to 3 times; a tool that cannot start is skipped). Default true. */
  startup?: boolean
  /** Seconds one sample may take before it is killed and failed. Default 1200. */
  sampleTimeout?: number
  log?: (line: string) => void
  signal?: AbortSignal
}

/** One timed phase of one tool in one run. */
export interface Sample {
  run: number
  workload: WorkloadId
  phase: PhaseId
  tool: string
  ok: boolean
  /** Why the sample does not count (failed command or failed verification). */
  error?: string
  wall: number
  cpu: number | null
  maxRssMiB: number | null
  /** In the workload's unit; null when the sample failed. */
  throughput: number | null
}

export interface ToolInfo {
  name: string
  kind: 'node' | 'external'
  description: string
  available: boolean
  version?: string
  note?: string
  /** Median cost of starting the tool and exiting (node peers: node plus loading the peer's code). */
  startup?: { wall: number; cpu: number | null; maxRssMiB: number | null }
}

/** Medians over the runs for one tool in one phase. */
export interface SummaryRow {
  workload: WorkloadId
  phase: PhaseId
  tool: string
  unit: Unit
  runs: number
  okRuns: number
  throughput: number | null
  /** Lowest and highest throughput of the verified runs. */
  min: number | null
  max: number | null
  wall: number | null
  cpu: number | null
  maxRssMiB: number | null
  /** bucketflow's throughput divided by this tool's (above 1: bucketflow is faster). */
  ratio: number | null
  /** The first failure, when some runs failed. */
  error?: string
}

export interface BenchReport {
  version: 1
  startedAt: string
  finishedAt: string
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string; loadAverage: { start: number[]; end: number[] } }
  settings: { runs: number; scale: number; concurrency: number; partSizeMiB: number; only: WorkloadId[]; runtime: 'node' | 'tsx'; cpuMeasure: string }
  /** bucketflow's version, and the git commit of the checkout it ran from ("+dirty" with local changes). */
  code: { version: string; commit?: string }
  server: { endpoint: string; source: string; bucket: string }
  workloads: Workload[]
  tools: ToolInfo[]
  samples: Sample[]
  summary: SummaryRow[]
  notes: string[]
}

const here = fileURLToPath(import.meta.url)
const fromTypeScript = here.endsWith('.ts')

/** How to start a node peer's child process: compiled JS, or TypeScript through tsx. */
function nodeInvocation(peer: string, arg: string): Invocation {
  const child = join(dirname(here), fromTypeScript ? 'child.ts' : 'child.js')
  const loader = fromTypeScript ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : []
  return { file: process.execPath, args: [...loader, child, peer, arg], env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } }
}

/** True when `specifier` (a package) can be imported from here. */
function resolvable(specifier: string): boolean {
  try {
    createRequire(import.meta.url).resolve(specifier)
    return true
  } catch {
    return false
  }
}

function validate(name: string, value: number, min: number, integer = true): void {
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new Error(`Expected ${name} to be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${String(value)}`)
  }
}

function rotate<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return []
  const k = by % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}

function firstLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).slice(-3).join(' | ').slice(0, 300)
}

/** Run the benchmark and return its report (not written anywhere: see report.ts). */
export async function runBenchmark(options: BenchOptions = {}): Promise<BenchReport> {
  const runs = options.runs ?? 3
  const scale = options.scale ?? 1
  const concurrency = options.concurrency ?? 16
  const partSize = options.partSize ?? 8 * MiB
  validate('runs', runs, 1)
  validate('scale', scale, 0.0001, false)
  validate('concurrency', concurrency, 1)
  validate('partSize', partSize, 5 * MiB)
  const log = options.log ?? (() => {})
  const signal = options.signal
  const names = options.tools ?? DEFAULT_PEERS
  const peers: Peer[] = []
  for (const n of names) {
    const p = findPeer(n)
    if (!p) throw new Error(`Unknown tool ${JSON.stringify(n)}; known: ${PEERS.map((p) => p.name).join(', ')}`)
    if (options.external === false && p.kind === 'external') continue
    peers.push(p)
  }
  const ws = workloads(scale, options.only)
  const startedAt = new Date().toISOString()
  const loadAtStart = loadavg().map((x) => Number(x.toFixed(2)))
  const tmp = await mkdtemp(join(tmpdir(), 'bucketflow-bench-'))
  const notes: string[] = []
  let server: BenchServer | undefined
  try {
    server = await openServer(options.s3, log)
    const s3: S3Target = { endpoint: server.endpoint, region: server.region, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }
    log(`S3 server: ${server.endpoint} (${server.source})`)

    // Tools: find or install the external ones, and measure every tool's start-up.
    const tools: ToolInfo[] = []
    const prepared = new Map<string, PreparedTool>()
    for (const p of peers) {
      const info: ToolInfo = { name: p.name, kind: p.kind, description: p.description, available: true }
      if (p.kind === 'external') {
        const ready = await p.prepare({ s3, concurrency, partSize, tmp, install: options.install ?? true, log })
        if (typeof ready === 'string') {
          info.available = false
          info.note = ready
          log(`skipping ${p.name}: ${ready}`)
        } else {
          prepared.set(p.name, ready)
          info.version = ready.version
          if (ready.note) info.note = ready.note
        }
      } else if (p.requires !== undefined && !resolvable(p.requires)) {
        info.available = false
        info.note = `not installed: ${p.requires} is a development dependency of bucketflow (run from a checkout, or install it beside bucketflow)`
        log(`skipping ${p.name}: ${info.note}`)
      }
      if (info.available && options.startup !== false) {
        const inv = p.kind === 'external' ? prepared.get(p.name)!.startup : nodeInvocation(p.name, '--startup')
        const ms: Measurement[] = []
        for (let i = 0; i < Math.min(3, runs); i++) ms.push(await measure(inv, { stdout: 'ignore', tmp, timeoutMs: 60_000, ...(signal ? { signal } : {}) }))
        const good = ms.filter((m) => m.ok)
        if (good.length === 0) {
          info.available = false
          info.note = `does not start: ${firstLine(ms[0]?.stderr ?? '')}`
          log(`skipping ${p.name}: ${info.note}`)
        } else {
          info.startup = {
            wall: median(good.map((m) => m.wall))!,
            cpu: median(good.flatMap((m) => (m.cpu === null ? [] : [m.cpu]))),
            maxRssMiB: median(good.flatMap((m) => (m.maxRssMiB === null ? [] : [m.maxRssMiB]))),
          }
        }
      }
      tools.push(info)
    }
    const active = peers.filter((p) => tools.find((t) => t.name === p.name)?.available)

    const admin = new Admin(s3, `bucketflow-bench-${randomBytes(4).toString('hex')}`)
    await admin.createBucket()
    const samples: Sample[] = []
    try {
      const fixtures = await prepareFixtures(admin, ws, tmp, partSize, log)
      const ctx = { admin, fixtures, s3, tmp, concurrency, partSize }
      for (let run = 0; run < runs; run++) {
        for (const w of ws) {
          for (const phase of w.phases) {
            for (const peer of rotate(
              active.filter((p) => supports(p, w.id, phase)),
              run,
            )) {
              if (signal?.aborted) throw signal.reason ?? new Error('aborted')
              const s = await runSample(ctx, w, phase, peer, run)
              samples.push(s)
              const rate = s.throughput === null ? '' : `${s.throughput.toFixed(1)} ${w.unit}`
              log(
                `run ${run + 1}/${runs} ${w.id} ${phase.padEnd(5)} ${peer.name.padEnd(11)} ${s.wall.toFixed(2).padStart(7)} s  ${rate.padEnd(16)} ${s.ok ? 'ok' : `FAILED: ${s.error}`}`,
              )
            }
          }
        }
      }
    } finally {
      await admin.destroy().catch((err: unknown) => log(`cleanup of bucket ${admin.bucket} failed: ${String(err)}`))
      await collectGarbage(server)
    }

    async function runSample(c: Parameters<typeof planPhase>[0], w: Workload, phase: PhaseId, peer: Peer, run: number): Promise<Sample> {
      const base = { run, workload: w.id, phase, tool: peer.name }
      const plan = await planPhase(c, w, phase, peer.name, run)
      const tool = prepared.get(peer.name)
      const inv = isNodePeer(peer) ? nodeInvocation(peer.name, Buffer.from(JSON.stringify(plan.task)).toString('base64url')) : tool!.invocation(plan.task)
      try {
        const m = await measure(inv, {
          stdout: plan.stdout,
          tmp,
          timeoutMs: (options.sampleTimeout ?? 1200) * 1000,
          ...(plan.stdin ? { stdin: plan.stdin } : {}),
          ...(signal ? { signal } : {}),
        })
        const cost = { wall: m.wall, cpu: m.cpu, maxRssMiB: m.maxRssMiB }
        if (!m.ok) return { ...base, ...cost, ok: false, error: `exit ${m.exitCode ?? 'signal'}: ${firstLine(m.stderr) || 'no message'}`, throughput: null }
        const parse = (out: string) => (tool ? tool.parseList(out, plan.task) : out.split('\n').filter(Boolean))
        const problem = await plan.verify(m, parse).catch((err: unknown) => `verification failed: ${String(err)}`)
        if (problem) return { ...base, ...cost, ok: false, error: `verification: ${problem}`, throughput: null }
        return { ...base, ...cost, ok: true, throughput: phaseAmount(w) / m.wall }
      } finally {
        await plan.cleanup().catch((err: unknown) => log(`cleanup after ${peer.name} ${w.id} ${phase} failed: ${String(err)}`))
        if (plan.large) await collectGarbage(server!)
      }
    }

    notes.push(
      `Concurrency ${concurrency} for every tool with a knob: bucketflow concurrency and queueSize, SDK batch size, lib-storage queueSize, minio-js workers (its multipart upload sends one part at a time), rclone --transfers/--checkers/--s3-upload-concurrency, aws-cli s3.max_concurrent_requests. The naive SDK loop has one request in flight.`,
      `Part size ${partSize / MiB} MiB wherever it is a knob (bucketflow, lib-storage, minio-js partSize, rclone --s3-chunk-size, aws-cli multipart_chunksize).`,
      "Every tool runs as its own child process; wall time is spawn to exit (start-up included: see each tool's start-up cost), CPU is user+sys and RSS the peak, from the process's rusage.",
      'A sample counts only when its result verified byte-exact (sha256 of what came back vs what went in; listings and storage classes compared in full); failed samples are reported, never timed.',
      `The server runs on the same machine (${cpus().length} cores) and competes with the client for CPU; tools are interleaved and rotated from run to run, and figures are medians.`,
    )
    const loadEnd = loadavg().map((x) => Number(x.toFixed(2)))
    notes.push(
      `Load average (1 min) ${loadAtStart[0]} at the start and ${loadEnd[0]} at the end, on ${cpus().length} CPUs: other work on the machine shares them.`,
    )
    if (fromTypeScript) notes.push('Node peers ran TypeScript through tsx (extra start-up and memory); `npm run bench` runs compiled JavaScript.')
    for (const t of tools) if (t.note) notes.push(`${t.name}: ${t.note}`)

    return {
      version: 1,
      startedAt,
      finishedAt: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? '',
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        loadAverage: { start: loadAtStart, end: loadEnd },
      },
      settings: {
        runs,
        scale,
        concurrency,
        partSizeMiB: partSize / MiB,
        only: ws.map((w) => w.id),
        runtime: fromTypeScript ? 'tsx' : 'node',
        cpuMeasure: (await hasGnuTime()) ? 'GNU time (rusage of the child)' : 'process.resourceUsage() (node peers only)',
      },
      code: await codeVersion(),
      server: { endpoint: server.endpoint, source: server.source, bucket: admin.bucket },
      workloads: ws,
      tools,
      samples,
      summary: summarize(ws, active, samples),
      notes,
    }
  } finally {
    if (server) await closeServer(server)
    await rm(tmp, { recursive: true, force: true })
  }
}

/** The package version and, in a git checkout, its commit. */
async function codeVersion(): Promise<{ version: string; commit?: string }> {
  const root = fileURLToPath(new URL('../../../', import.meta.url))
  let version = ''
  try {
    version = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    // not found
  }
  const head = await runQuiet('git', ['-C', root, 'rev-parse', '--short', 'HEAD'])
  if (!head.ok) return { version }
  const dirty = (await runQuiet('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'])).stdout.trim() !== ''
  return { version, commit: `${head.stdout.trim()}${dirty ? '+dirty' : ''}` }
}

/** Medians per tool and phase, and ratios bucketflow / tool. */
export function summarize(ws: readonly Workload[], peers: readonly Peer[], samples: readonly Sample[]): SummaryRow[] {
  const rows: SummaryRow[] = []
  for (const w of ws) {
    for (const phase of w.phases) {
      const group: SummaryRow[] = []
      for (const p of peers) {
        if (!supports(p, w.id, phase)) continue
        const mine = samples.filter((s) => s.workload === w.id && s.phase === phase && s.tool === p.name)
        if (mine.length === 0) continue
        const ok = mine.filter((s) => s.ok)
        const nums = (f: (s: Sample) => number | null) => ok.flatMap((s) => (f(s) === null ? [] : [f(s)!]))
        const failed = mine.find((s) => !s.ok)
        group.push({
          workload: w.id,
          phase,
          tool: p.name,
          unit: w.unit,
          runs: mine.length,
          okRuns: ok.length,
          throughput: median(nums((s) => s.throughput)),
          min: ok.length ? Math.min(...nums((s) => s.throughput)) : null,
          max: ok.length ? Math.max(...nums((s) => s.throughput)) : null,
          wall: median(nums((s) => s.wall)),
          cpu: median(nums((s) => s.cpu)),
          maxRssMiB: median(nums((s) => s.maxRssMiB)),
          ratio: null,
          ...(failed?.error ? { error: failed.error } : {}),
        })
      }
      const bf = group.find((r) => r.tool === 'bucketflow')?.throughput ?? null
      for (const r of group) r.ratio = bf !== null && r.throughput ? bf / r.throughput : null
      rows.push(...group)
    }
  }
  return rows
}
