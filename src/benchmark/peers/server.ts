/**
 * The S3 server the benchmark runs against: the one named by S3_ENDPOINT (with
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), or a radosgw started for the run with
 * scripts/local-s3.sh and stopped at the end.
 * @packageDocumentation
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { isAwsEndpoint } from '../../index.js'
import { lastRadosgwDir, startRadosgw, stopRadosgw } from '../../radosgw.js'
import type { S3Target } from './tools/types.js'
import { onPath } from './tools/tools.js'

const run = promisify(execFile)

export interface BenchServer extends S3Target {
  /** The radosgw folder (scripts/local-s3.sh), when known: enables garbage collection. */
  dir?: string
  /** True when this run started the server (and stops it). */
  started: boolean
  /** "radosgw started for this run" or "S3_ENDPOINT". */
  source: string
}

/** Refuse AWS itself: the peer benchmark moves gigabytes. */
export function checkEndpoint(endpoint: string): void {
  if (isAwsEndpoint(endpoint)) throw new Error(`The peer benchmark runs against a local or private S3 server, not AWS (got ${endpoint})`)
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
    const dir = env.BUCKETFLOW_S3_DIR ?? (await lastRadosgwDir(env.S3_ENDPOINT))
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
  const e = await startRadosgw(dir)
  return {
    endpoint: e.endpoint,
    region: e.region,
    accessKeyId: e.accessKeyId,
    secretAccessKey: e.secretAccessKey,
    dir,
    started: true,
    source: 'radosgw started for this run',
  }
}

export async function closeServer(server: BenchServer): Promise<void> {
  if (server.started && server.dir) await stopRadosgw(server.dir)
}

/**
 * Free the space of deleted objects now: radosgw hands large deleted objects to a garbage
 * collector that waits hours by default, and memstore keeps every byte in RAM.
 */
export async function collectGarbage(server: BenchServer): Promise<void> {
  if (!server.dir || !existsSync(join(server.dir, 'ceph.conf')) || !onPath('radosgw-admin')) return
  await run('radosgw-admin', ['-c', join(server.dir, 'ceph.conf'), '-n', 'client.rgw.local', '--admin-socket=', 'gc', 'process', '--include-all'], {
    timeout: 120_000,
  }).catch(() => undefined)
}
