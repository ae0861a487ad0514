/**
 * Timing one child process: wall time (spawn to exit, as the parent sees it), CPU seconds
 * (user + sys) and peak RSS from the child's rusage via GNU time (`/usr/bin/time -f`); without
 * GNU time, node children report their own `process.resourceUsage()` and external tools' CPU
 * and RSS are unknown.
 * @packageDocumentation
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Invocation } from './tools/types.js'
import { childEnv, runQuiet } from './tools/tools.js'

/** Environment variable naming the file a node child writes its own resource usage to. */
export const RUSAGE_ENV = 'BUCKETFLOW_BENCH_RUSAGE'

const GNU_TIME = '/usr/bin/time'

/** What one child process cost. */
export interface Measurement {
  /** Exit code 0 (and not killed). */
  ok: boolean
  exitCode: number | null
  /** Seconds from spawn to exit. */
  wall: number
  /** CPU seconds, user + sys; null when unknown. */
  cpu: number | null
  user: number | null
  sys: number | null
  /** Peak resident set size in MiB; null when unknown. */
  maxRssMiB: number | null
  /** The last few KiB of stderr. */
  stderr: string
  /** Standard output, when captured as text. */
  stdout: string
  stdoutBytes: number
  /** sha256 of standard output, when hashed. */
  stdoutSha256: string
  timedOut: boolean
}

export interface MeasureOptions {
  /** Chunks fed to the child's standard input (then closed). */
  stdin?: () => Iterable<Buffer> | AsyncIterable<Buffer>
  /** What to do with standard output. */
  stdout: 'ignore' | 'text' | 'hash'
  /** Folder for the rusage file. */
  tmp: string
  timeoutMs: number
  signal?: AbortSignal
}

let gnuTime: Promise<boolean> | undefined

/** True when GNU time is at /usr/bin/time. */
export function hasGnuTime(): Promise<boolean> {
  gnuTime ??= runQuiet(GNU_TIME, ['-f', '%M', 'true']).then((r) => r.ok)
  return gnuTime
}

let serial = 0

/** Run `inv` to completion and measure it. Never throws for a failing child: see `ok`. */
export async function measure(inv: Invocation, opts: MeasureOptions): Promise<Measurement> {
  const usageFile = join(opts.tmp, `rusage-${process.pid}-${serial++}`)
  const timed = await hasGnuTime()
  const file = timed ? GNU_TIME : inv.file
  const args = timed ? ['-f', '%e %U %S %M', '-o', usageFile, inv.file, ...inv.args] : inv.args
  const env = childEnv(timed ? inv.env : { ...inv.env, [RUSAGE_ENV]: usageFile })
  const started = performance.now()
  const child = spawn(file, args, {
    env,
    stdio: [opts.stdin ? 'pipe' : 'ignore', opts.stdout === 'ignore' ? 'ignore' : 'pipe', 'pipe'],
    detached: true,
  })
  let timedOut = false
  const kill = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  const timer = setTimeout(() => {
    timedOut = true
    kill()
  }, opts.timeoutMs)
  opts.signal?.addEventListener('abort', kill, { once: true })

  let stderr = ''
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (s: string) => {
    stderr = (stderr + s).slice(-4096)
  })
  const hash = createHash('sha256')
  const text: string[] = []
  let stdoutBytes = 0
  child.stdout?.on('data', (chunk: Buffer) => {
    stdoutBytes += chunk.byteLength
    if (opts.stdout === 'hash') hash.update(chunk)
    else text.push(chunk.toString('utf8'))
  })
  if (opts.stdin && child.stdin) {
    // A child that stops reading (or dies) ends the feed; its exit code tells what happened.
    pipeline(Readable.from(opts.stdin(), { objectMode: false }), child.stdin).catch(() => undefined)
  }
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, sig) => resolve([code, sig]))
  }).finally(() => {
    clearTimeout(timer)
    opts.signal?.removeEventListener('abort', kill)
  })
  const wall = (performance.now() - started) / 1000

  let user: number | null = null
  let sys: number | null = null
  let maxRssMiB: number | null = null
  try {
    const raw = await readFile(usageFile, 'utf8')
    if (timed) {
      // GNU time writes "Command exited with non-zero status N" before the format line on failure.
      const fields = (raw.trim().split('\n').at(-1) ?? '').split(' ').map(Number)
      if (fields.length === 4 && fields.every(Number.isFinite)) {
        user = fields[1]!
        sys = fields[2]!
        maxRssMiB = fields[3]! / 1024
      }
    } else {
      const u = JSON.parse(raw) as { user: number; sys: number; maxRssKiB: number }
      user = u.user
      sys = u.sys
      maxRssMiB = u.maxRssKiB / 1024
    }
  } catch {
    // unknown
  }
  await rm(usageFile, { force: true })
  return {
    ok: exitCode === 0 && signal === null && !timedOut,
    exitCode,
    wall,
    cpu: user !== null && sys !== null ? user + sys : null,
    user,
    sys,
    maxRssMiB,
    stderr: timedOut ? `${stderr}\n(timed out after ${opts.timeoutMs / 1000} s)` : stderr,
    stdout: text.join(''),
    stdoutBytes,
    stdoutSha256: opts.stdout === 'hash' ? hash.digest('hex') : '',
    timedOut,
  }
}

/** Median of the numbers (null for none). */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
