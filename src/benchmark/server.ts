/**
 * The S3 server the benchmark runs against: the one named by S3_ENDPOINT (with
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), or a radosgw started for the run with
 * scripts/local-s3.sh and stopped at the end.
 * @packageDocumentation
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { isAwsEndpoint } from '../client.js'
import type { S3Target } from './peers/types.js'
import { onPath } from './peers/tools.js'

const run = promisify(execFile)

/** The package's scripts/local-s3.sh (two folders up from src/benchmark or dist/benchmark). */
export const LOCAL_S3_SCRIPT = fileURLToPath(new URL('../../scripts/local-s3.sh', import.meta.url))

export interface BenchServer extends S3Target {
  /** The radosgw folder (scripts/local-s3.sh), when known: enables garbage collection. */
  dir?: string
  /** True when this run started the server (and stops it). */
  started: boolean
  /** "radosgw started for this run" or "S3_ENDPOINT". */
  source: string
}

/** Parse `NAME=value` lines (what scripts/local-s3.sh prints). */
export function parseEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim())
    if (m) out[m[1]!] = m[2]!
  }
  return out
}

/** Refuse AWS itself: the benchmark moves gigabytes. */
export function checkEndpoint(endpoint: string): void {
  if (isAwsEndpoint(endpoint)) throw new Error(`The benchmark runs against a local or private S3 server, not AWS (got ${endpoint})`)
}

/**
 * The folder of the radosgw last started by scripts/local-s3.sh, when it serves `endpoint`
 * (so its deleted objects can be garbage-collected).
 */
async function localServerDir(endpoint: string): Promise<string | undefined> {
  try {
    const dir = (await readFile(join(process.env.TMPDIR ?? '/tmp', 'bucketflow-s3.last'), 'utf8')).trim()
    return parseEnv(await readFile(join(dir, 'env'), 'utf8')).AWS_ENDPOINT_URL_S3 === endpoint ? dir : undefined
  } catch {
    return undefined
  }
}

/** Use `given`, else S3_ENDPOINT, else start a radosgw. */
export async function openServer(given: (S3Target & { dir?: string }) | undefined, log: (line: string) => void): Promise<BenchServer> {
  if (given) {
    checkEndpoint(given.endpoint)
    return { ...given, started: false, source: 'given' }
  }
  const env = process.env
  if (env.S3_ENDPOINT) {
    checkEndpoint(env.S3_ENDPOINT)
    const dir = env.BUCKETFLOW_S3_DIR ?? (await localServerDir(env.S3_ENDPOINT))
    return {
      endpoint: env.S3_ENDPOINT,
      region: env.AWS_REGION ?? 'us-east-1',
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'bucketflow-test-key',
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'bucketflow-test-secret-0123456789',
      ...(dir ? { dir } : {}),
      started: false,
      source: 'S3_ENDPOINT',
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'bucketflow-bench-s3-'))
  log(`starting radosgw (scripts/local-s3.sh) in ${dir}`)
  let stdout: string
  try {
    ;({ stdout } = await run('bash', [LOCAL_S3_SCRIPT, 'start', dir], { maxBuffer: 1 << 20, timeout: 15 * 60_000 }))
  } catch (err) {
    await run('bash', [LOCAL_S3_SCRIPT, 'stop', dir]).catch(() => undefined)
    throw new Error(`Could not start the local S3 server: ${(err as { stderr?: string }).stderr ?? String(err)}`)
  }
  const e = parseEnv(stdout)
  return {
    endpoint: e.AWS_ENDPOINT_URL_S3!,
    region: e.AWS_REGION ?? 'us-east-1',
    accessKeyId: e.AWS_ACCESS_KEY_ID!,
    secretAccessKey: e.AWS_SECRET_ACCESS_KEY!,
    dir,
    started: true,
    source: 'radosgw started for this run',
  }
}

export async function closeServer(server: BenchServer): Promise<void> {
  if (server.started && server.dir) await run('bash', [LOCAL_S3_SCRIPT, 'stop', server.dir]).catch(() => undefined)
}

/**
 * Free the space of deleted objects now: radosgw hands large deleted objects to a garbage
 * collector that waits hours by default, and memstore keeps every byte in RAM.
 */
export async function collectGarbage(server: BenchServer): Promise<void> {
  if (!server.dir || !existsSync(join(server.dir, 'ceph.conf')) || !onPath('radosgw-admin')) return
  await run('radosgw-admin', ['-c', join(server.dir, 'ceph.conf'), '-n', 'client.rgw.local', '--admin-socket=', 'gc', 'process', '--include-all'], { timeout: 120_000 }).catch(
    () => undefined,
  )
}
