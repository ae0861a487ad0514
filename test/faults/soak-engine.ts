/**
 * The fault-injection soak: mixed operations through bucketflow's public API, against radosgw
 * behind the fault proxy injecting faults at a seeded rate, with a model of what every key must
 * hold. It counts what a user must never see: a write reported done that is not there (lost), a
 * read that returned other bytes (silently corrupt), a failure that is not a typed per-item
 * error, a multipart upload left behind (orphan), a file written outside its destination folder.
 *
 * Used by test/faults/soak.test.ts (2,000 operations in CI) and bench/soak.ts (longer runs).
 *
 * Not injected:
 * - a corrupted body in answer to a ranged read of part of an object: S3 offers nothing to check
 *   an arbitrary byte range against (no checksum comes with a range), so no client can detect
 *   it; ranged reads are checked by their length, and go through a second proxy that injects
 *   every other fault. Ranges that make up a whole object (parallel downloads) are verified as a
 *   whole, and get corrupted bodies like every other read.
 * Every other operation gets every fault that applies to it (see `applicableFaults`).
 */
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3'
import { Bucket, BucketflowError, compareKeys, InvalidArgumentError, listPages, multipartEtag, type DownloadInfo } from '../../src/index.js'
import { applicableFaults, FaultProxy, prng, type FaultKind, type ProxiedRequest, type S3Op } from '../support/proxy.js'

export interface SoakTarget {
  endpoint: string
  region: string
  accessKeyId: string
  secretAccessKey: string
}

export interface SoakOptions {
  s3: SoakTarget
  /** Operations to run. */
  ops: number
  /** Probability of a fault per request. */
  faultRate: number
  seed: number
  /** Operations in flight at once. Default 16. */
  concurrency?: number
  /** The client's idle timeout (stalls are held longer than this). Default 1500 ms. */
  idleTimeout?: number
  /** The client's attempts per request. Default 5. */
  maxAttempts?: number
  /** Progress lines. */
  log?: (line: string) => void
}

export interface SoakReport {
  /** Failures, one line each (op, key, code, message), for the log. */
  failures: string[]
  /** Mean latency by operation, ms. */
  meanMs: Record<string, number>
  seed: number
  ops: number
  ok: number
  failed: number
  byOp: Record<string, { ok: number; failed: number; refused: number }>
  /** Faults injected, by kind. */
  faults: Record<string, number>
  /** Requests sent (each attempt), SDK-level retries among them. */
  requests: number
  retries: number
  /** Broken download bodies resumed; downloads fetched again after failing verification. */
  resumes: number
  refetches: number
  /** Failures by error code (all typed). */
  failuresByCode: Record<string, number>
  /** Items refused as they must be (keys leading outside the destination folder). */
  refusedAsExpected: number
  /** Problems: each must be empty. */
  untyped: string[]
  lost: string[]
  corrupt: string[]
  orphans: string[]
  outside: string[]
  latencyMs: { p50: number; p99: number; max: number }
  durationMs: number
}

const KiB = 1024
const MiB = 1024 * KiB
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
const UNTYPED_CODES = new Set(['Error', 'TypeError', 'RangeError', 'UnknownError', 'BucketflowError', 'ERR_STREAM_PREMATURE_CLOSE'])

type OpName = 'put' | 'put-file' | 'get' | 'get-file' | 'get-range' | 'stream' | 'parallel' | 'head' | 'copy' | 'delete' | 'list' | 'multipart' | 'log'

const WEIGHTS: [OpName, number][] = [
  ['put', 20],
  ['put-file', 3],
  ['get', 20],
  ['get-file', 4],
  ['get-range', 10],
  ['stream', 6],
  ['parallel', 1.5],
  ['head', 14],
  ['copy', 9],
  ['delete', 3],
  ['list', 4],
  ['multipart', 0.75],
  ['log', 0.75],
]

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

async function streamed(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of r) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

/** Run the soak; the caller asserts on the report. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => undefined)
  const random = prng(options.seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1))
  const credentials = { accessKeyId: options.s3.accessKeyId, secretAccessKey: options.s3.secretAccessKey }
  const name = `soak-${options.seed.toString(36)}-${Date.now().toString(36)}`.toLowerCase().slice(0, 60)
  const direct = await Bucket.create(name, { endpoint: options.s3.endpoint, region: options.s3.region, credentials, concurrency: 32 })
  const proxy = await FaultProxy.start(options.s3.endpoint)
  const rangeProxy = await FaultProxy.start(options.s3.endpoint)
  const idleTimeout = options.idleTimeout ?? 3000
  const client = (endpoint: string) =>
    new Bucket(name, { endpoint, region: options.s3.region, credentials, concurrency: 8, idleTimeout, maxAttempts: options.maxAttempts ?? 5 })
  const via = client(proxy.url)
  const viaRange = client(rangeProxy.url)
  let sends = 0
  let attempts = 0
  for (const b of [via, viaRange]) {
    b.client.middlewareStack.add(
      (next) => async (args) => {
        sends++
        return next(args)
      },
      { step: 'initialize', name: 'soakSends' },
    )
    b.client.middlewareStack.add(
      (next) => async (args) => {
        attempts++
        return next(args)
      },
      { step: 'deserialize', name: 'soakAttempts' },
    )
  }
  // Files on tmpfs where there is one: the soak measures the library, not a busy disk.
  const work = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'bf-soak-'))
  const root = join(work, 'root')
  const elsewhere = join(work, 'elsewhere')
  await mkdir(root)
  await mkdir(elsewhere)
  await symlink(elsewhere, join(root, 'trap'))

  // The model: what each key must hold once a write succeeded (its content is regenerated
  // from a seed when a range needs it, so a long run holds only MD5s in memory).
  const model = new Map<string, Content>()
  /** Keys reads may pick (not trap/, not being deleted), with their index for O(1) removal. */
  const pickable: string[] = []
  const slot = new Map<string, number>()
  const addKey = (key: string, content: Content) => {
    model.set(key, content)
    if (!slot.has(key) && !key.startsWith('trap/')) {
      slot.set(key, pickable.length)
      pickable.push(key)
    }
  }
  const dropKey = (key: string) => {
    model.delete(key)
    const i = slot.get(key)
    if (i === undefined) return
    const last = pickable.pop()!
    if (last !== key) {
      pickable[i] = last
      slot.set(last, i)
    }
    slot.delete(key)
  }
  /** Keys whose state is unknown after a failed delete: left out of the final check. */
  const uncertain = new Set<string>()
  const logs = new Map<string, { sha: string; size: number }>()
  const seeded: string[] = []
  const report: SoakReport = {
    failures: [],
    meanMs: {},
    seed: options.seed,
    ops: 0,
    ok: 0,
    failed: 0,
    byOp: {},
    faults: {},
    requests: 0,
    retries: 0,
    resumes: 0,
    refetches: 0,
    failuresByCode: {},
    refusedAsExpected: 0,
    untyped: [],
    lost: [],
    corrupt: [],
    orphans: [],
    outside: [],
    latencyMs: { p50: 0, p99: 0, max: 0 },
    durationMs: 0,
  }
  const newContent = (size: number, multipart = false): { content: Content; data: Buffer } => {
    const seed = Math.floor(random() * 2 ** 32) >>> 0
    const data = generate(seed, size)
    const md5 = createHash('md5').update(data).digest('hex')
    return { content: { size, seed, md5, etag: multipart ? partsEtag(data, 5 * MiB) : md5 }, data }
  }
  const started = Date.now()
  try {
    // ---- seed (directly, no faults) ----
    const seeds: { key: string; size: number; multipart?: boolean }[] = []
    for (let i = 0; i < 30; i++) seeds.push({ key: `seed/s-${String(i).padStart(2, '0')}`, size: int(0, 16 * KiB) })
    for (let i = 0; i < 4; i++) seeds.push({ key: `seed/m-${i}`, size: int(MiB + 1, 1.5 * MiB) })
    for (let i = 0; i < 2; i++) seeds.push({ key: `seed/mp-${i}`, size: int(5 * MiB + 1, 5 * MiB + 200 * KiB), multipart: true })
    for (let i = 0; i < 3; i++) seeds.push({ key: `trap/t-${i}`, size: 100 })
    await Promise.all(
      seeds.map(async (s) => {
        const { content, data } = newContent(s.size, s.multipart)
        if (s.multipart) await direct.putStream(Readable.from([data]), s.key, { partSize: 5 * MiB })
        else await direct.put(data, s.key)
        addKey(s.key, content)
        if (s.key.startsWith('seed/')) seeded.push(s.key)
      }),
    )
    seeded.sort()
    log(`seeded ${seeds.length} objects in ${Date.now() - started} ms`)

    // Every kind at least once (on the first request it applies to), then at random.
    if (options.faultRate > 0) {
      const once: [S3Op, FaultKind, string?][] = [
        ['CompleteMultipartUpload', 'error-200', '\n'],
        ['CompleteMultipartUpload', 'error-200-unprocessed'],
        ['CopyObject', 'error-200'],
        ['CopyObject', 'error-200-unprocessed', '\r\n  '],
        ['GetObject', 'corrupt-body'],
        ['GetObject', 'truncate'],
        ['GetObject', 'stall-body'],
        ['GetObject', 'drop-etag'],
        ['PutObject', 'corrupt-request'],
        ['UploadPart', 'corrupt-request'],
        ['PutObject', 'reset-after'],
        ['HeadObject', 'stall'],
        ['ListObjects', 'list-drop-entry'],
        ['ListObjects', 'list-stale-token'],
        ['ListObjects', 'list-no-token'],
        ['DeleteObject', 'status-503'],
        ['GetObject', 'status-500'],
        ['PutObject', 'reset'],
      ]
      for (const [op, fault, trailing] of once) {
        // Listing faults on a listing of the seeded keys (a stale token needs a page with a token).
        const listing = (r: ProxiedRequest) => r.query.get('prefix') === 'seed/' && (fault !== 'list-stale-token' || r.query.has('continuation-token'))
        proxy.addRule({
          match: (r) => r.op === op && (op !== 'ListObjects' || listing(r)),
          fault,
          times: 1,
          stallMs: idleTimeout * 2,
          ...(trailing ? { trailing } : {}),
        })
      }
    }
    proxy.randomFaults({ seed: options.seed + 1, rate: options.faultRate, stallMs: idleTimeout * 2 })
    rangeProxy.randomFaults({
      seed: options.seed + 2,
      rate: options.faultRate,
      stallMs: idleTimeout * 2,
      kinds: applicableFaults('GetObject').filter((k) => k !== 'corrupt-body'),
    })
    const total = WEIGHTS.reduce((n, [, w]) => n + w, 0)
    const chooseOp = (): OpName => {
      let x = random() * total
      for (const [op, w] of WEIGHTS) {
        if ((x -= w) < 0) return op
      }
      return 'get'
    }
    const any = () => pick(pickable)
    const latencies: number[] = []
    const sums: Record<string, number> = {}
    let counter = 0
    const onInfo = (i: DownloadInfo) => {
      report.resumes += i.resumes
      report.refetches += i.attempts - 1
    }
    /** A read's bytes against the model (a key deleted meanwhile is not checked). */
    const check = (what: string, key: string, got: Buffer, want: Content | undefined) => {
      if (want === undefined) return
      if (got.length !== want.size || createHash('md5').update(got).digest('hex') !== want.md5) {
        report.corrupt.push(`${what} ${key}: ${got.length} bytes, expected ${want.size}`)
      }
    }
    const fail = (op: OpName, err: unknown, key: string) => {
      const entry = (report.byOp[op] ??= { ok: 0, failed: 0, refused: 0 })
      entry.failed++
      report.failed++
      const code = err instanceof BucketflowError ? err.code : undefined
      if (report.failures.length < 1000) report.failures.push(`${op} ${key}: ${code} ${err instanceof Error ? err.message : String(err)}`)
      report.failuresByCode[code ?? 'untyped'] = (report.failuresByCode[code ?? 'untyped'] ?? 0) + 1
      if (!(err instanceof BucketflowError) || UNTYPED_CODES.has(err.code)) {
        report.untyped.push(`${op} ${key}: ${err instanceof Error ? `${err.name} ${(err as { code?: string }).code} ${err.message}` : String(err)}`)
      }
    }

    const runOp = async (op: OpName, n: number): Promise<void> => {
      const entry = (report.byOp[op] ??= { ok: 0, failed: 0, refused: 0 })
      const t0 = Date.now()
      let key = ''
      try {
        switch (op) {
          case 'put': {
            key = `w/put-${n}`
            const { content, data } = newContent(pick([0, 1, int(2, 1000), int(1000, 16 * KiB)]))
            await via.put(data, key)
            addKey(key, content)
            break
          }
          case 'put-file': {
            key = `w/file-${n}`
            const { content, data } = newContent(int(1, 64 * KiB))
            const path = join(work, `src-${n}`)
            await writeFile(path, data)
            try {
              await via.put(path, key)
            } finally {
              await rm(path)
            }
            addKey(key, content)
            break
          }
          case 'get': {
            key = any()
            const want = model.get(key)
            check('get', key, await via.get(key, { onVerified: onInfo }), want)
            break
          }
          case 'get-file': {
            // The array form into a folder with a link inside it that leads elsewhere.
            const keys = [any(), random() < 0.4 ? pick(['trap/t-0', 'trap/t-1', 'trap/t-2']) : any()]
            key = keys.join(',')
            const wants = keys.map((k) => model.get(k))
            const results = await via.get(keys, root, { concurrency: 2 })
            let failed: unknown
            for (const [i, r] of results.entries()) {
              const k = keys[i]!
              if (k.startsWith('trap/')) {
                if (r.ok) report.outside.push(`get-file ${k} was written through the link`)
                else if (r.error instanceof InvalidArgumentError) {
                  entry.refused++
                  report.refusedAsExpected++
                } else failed ??= r.error
              } else if (!r.ok) failed ??= r.error
              else check('get-file', k, await readFile(r.value as string), wants[i])
            }
            if (failed) throw failed
            break
          }
          case 'get-range': {
            key = any()
            const want = model.get(key)!
            const size = want.size
            const range = pick([
              { start: int(0, size + 10), end: int(0, size + 10) },
              { start: -int(1, size + 10) },
              { start: int(0, size), end: -int(0, 10) },
              { offset: int(0, size + 5), length: int(0, 5000) },
            ])
            const got = await viaRange.get(key, { ...range, onVerified: onInfo })
            if (model.get(key) === want) {
              const [s, e] = sliceOf(range, size)
              const slice = generate(want.seed, size).subarray(s, e)
              if (!got.equals(slice)) report.corrupt.push(`get-range ${key} ${JSON.stringify(range)}: ${got.length} bytes`)
            }
            break
          }
          case 'stream': {
            key = any()
            const want = model.get(key)
            check('stream', key, await streamed(via.stream(key, { onVerified: onInfo })), want)
            break
          }
          case 'parallel': {
            key = pick(['seed/m-0', 'seed/m-1', 'seed/m-2', 'seed/m-3', 'seed/mp-0', 'seed/mp-1'])
            const want = model.get(key)
            const partSize = key.startsWith('seed/mp-') ? 5 * MiB : MiB
            if (random() < 0.5) check('parallel stream', key, await streamed(via.stream(key, { partSize, concurrency: 3, onVerified: onInfo })), want)
            else {
              const out = await via.get(key, join(work, `p-${n}.bin`), { partSize, concurrency: 3, onVerified: onInfo })
              check('parallel file', key, await readFile(out), want)
              await rm(out)
            }
            break
          }
          case 'head': {
            key = any()
            const want = model.get(key)
            const h = await via.head(key)
            if (want !== undefined && model.get(key) === want && h.size !== want.size) report.corrupt.push(`head ${key}: size ${h.size}, expected ${want.size}`)
            break
          }
          case 'copy': {
            // A single-part source (a copy of a multipart object may get another kind of ETag).
            let src = any()
            for (let i = 0; i < 10 && model.get(src)?.etag.includes('-'); i++) src = any()
            key = `w/copy-${n}`
            const want = model.get(src)
            if (!want || want.etag.includes('-')) throw new Error(`no single-part source to copy (${src})`)
            await via.cp(src, key)
            addKey(key, want)
            break
          }
          case 'delete': {
            // The heaviest written objects first (the long soak must not fill the server).
            const written = pickable.filter((k) => k.startsWith('w/'))
            const heavy = written.filter((k) => k.startsWith('w/mp-'))
            key = heavy.length > 0 ? pick(heavy) : written.length > 0 ? pick(written) : ''
            if (key === '') break
            dropKey(key)
            uncertain.add(key)
            await via.rm(key)
            uncertain.delete(key)
            break
          }
          case 'list': {
            key = 'seed/'
            const keys = await via.list('seed/', { pageSize: 12 }).toArray()
            if (keys.join('\n') !== seeded.join('\n')) report.lost.push(`list seed/: ${keys.length} keys, expected ${seeded.length}`)
            break
          }
          case 'multipart': {
            key = `w/mp-${n}`
            const { content, data } = newContent(int(5 * MiB + 1, 5 * MiB + 200 * KiB), true)
            const chunks: Buffer[] = []
            for (let at = 0; at < data.length; at += 256 * KiB) chunks.push(data.subarray(at, at + 256 * KiB))
            await via.putStream(Readable.from(chunks), key, { partSize: 5 * MiB, queueSize: 2 })
            addKey(key, content)
            break
          }
          case 'log': {
            const prefix = `logs/l-${n}/`
            key = prefix
            const lines = Array.from({ length: int(20, 120) }, (_, i) => `line ${i} of ${n} ${'x'.repeat(int(0, 80))}\n`)
            const sink = via.createLogStream(prefix, { rotateBytes: 2 * KiB, rotateMs: 60_000 })
            for (const line of lines) if (!sink.write(line)) await new Promise((r) => sink.once('drain', r))
            sink.end()
            await sink.done
            const all = Buffer.from(lines.join(''))
            logs.set(prefix, { sha: sha(all), size: all.length })
            break
          }
        }
        entry.ok++
        report.ok++
      } catch (err) {
        fail(op, err, key)
      } finally {
        const ms = Date.now() - t0
        latencies.push(ms)
        sums[op] = (sums[op] ?? 0) + ms
        report.ops++
      }
    }

    // ---- the operations, `concurrency` at a time ----
    const concurrency = options.concurrency ?? 16
    let next = 0
    let lastLog = Date.now()
    const worker = async () => {
      while (next < options.ops) {
        const n = next++
        const op = chooseOp()
        await runOp(op, n)
        counter++
        if (Date.now() - lastLog > 10_000) {
          lastLog = Date.now()
          log(`${counter}/${options.ops} operations, ${report.failed} failed, ${Math.round((Date.now() - started) / 1000)} s`)
        }
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    proxy.stopRandomFaults()
    rangeProxy.stopRandomFaults()
    latencies.sort((a, b) => a - b)
    report.latencyMs = { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? 0 }
    report.faults = { ...proxy.injected } as Record<string, number>
    for (const [k, v] of Object.entries(rangeProxy.injected)) report.faults[k] = (report.faults[k] ?? 0) + v
    for (const [op, sum] of Object.entries(sums)) {
      const e = report.byOp[op]!
      report.meanMs[op] = Math.round(sum / (e.ok + e.failed))
    }
    report.requests = attempts
    report.retries = attempts - sends

    // ---- verification, directly against the server: the listing's ETags are the MD5s of the
    // bytes (or of their 5 MiB parts), and each log's objects together are the lines written.
    const listed = new Map<string, { etag: string; size: number }>()
    for await (const page of listPages(direct, {})) for (const o of page.objects) listed.set(o.key, { etag: o.etag.replace(/"/g, ''), size: o.size })
    for (const [key, want] of model) {
      if (uncertain.has(key)) continue
      const got = listed.get(key)
      if (!got) report.lost.push(`${key}: not in the bucket`)
      else if (got.etag !== want.etag || got.size !== want.size)
        report.lost.push(`${key}: stored ETag ${got.etag} (${got.size} bytes), expected ${want.etag} (${want.size})`)
    }
    const logList = [...logs.entries()]
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = w; i < logList.length; i += 8) {
          const [prefix, want] = logList[i]!
          const parts: Buffer[] = []
          for (const k of [...listed.keys()].filter((k) => k.startsWith(prefix)).sort(compareKeys)) parts.push(await direct.get(k))
          const all = Buffer.concat(parts)
          if (sha(all) !== want.sha) report.lost.push(`log ${prefix}: ${all.length} bytes stored, ${want.size} written`)
        }
      }),
    )
    const uploads = await direct.client.send(new ListMultipartUploadsCommand({ Bucket: name }))
    report.orphans = (uploads.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`)
    report.outside.push(...(await readdir(elsewhere)).map((f) => `elsewhere/${f}`))
  } finally {
    report.durationMs = Date.now() - started
    via.client.destroy()
    viaRange.client.destroy()
    await proxy.close()
    await rangeProxy.close()
    await direct.delete({ force: true }).catch(() => undefined)
    direct.client.destroy()
    await rm(work, { recursive: true, force: true })
  }
  return report
}

/** What the model knows of a key's content. */
interface Content {
  size: number
  /** Seed of the generated bytes (see `generate`). */
  seed: number
  md5: string
  /** The ETag it must have in a listing (MD5, or the 5 MiB parts' for multipart objects). */
  etag: string
}

/** `size` pseudo-random bytes from a seed (xorshift32): the same seed gives the same bytes. */
function generate(seed: number, size: number): Buffer {
  const words = new Uint32Array(Math.ceil(size / 4))
  let x = seed || 0x9e3779b9
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    words[i] = x >>> 0
  }
  return Buffer.from(words.buffer, 0, size)
}

/** The [start, end) a range selects of `size` bytes, Python style. */
function sliceOf(range: { start?: number; end?: number; offset?: number; length?: number }, size: number): [number, number] {
  let start: number
  let end: number | undefined
  if (range.offset !== undefined || range.length !== undefined) {
    start = range.offset ?? 0
    end = range.length === undefined ? undefined : start >= 0 ? start + range.length : start + range.length >= 0 ? undefined : start + range.length
  } else {
    start = range.start ?? 0
    end = range.end
  }
  const norm = (v: number) => (v < 0 ? Math.max(0, size + v) : Math.min(v, size))
  const s = norm(start)
  const e = end === undefined ? size : norm(end)
  return [s, Math.max(s, e)]
}

/** One line per figure, for logs and the bench. */
export function formatReport(r: SoakReport): string {
  const faults = Object.entries(r.faults)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')
  const codes = Object.entries(r.failuresByCode)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')
  const ops = Object.entries(r.byOp)
    .map(([k, v]) => `${k} ${v.ok}/${v.ok + v.failed}`)
    .join(', ')
  return [
    `seed ${r.seed}: ${r.ops} operations in ${(r.durationMs / 1000).toFixed(1)} s, ${r.ok} ok, ${r.failed} failed (typed: ${codes || 'none'})`,
    `operations ok/total: ${ops}`,
    `faults injected (${Object.values(r.faults).reduce((a, b) => a + b, 0)}): ${faults}`,
    `requests ${r.requests}, SDK retries ${r.retries}, resumed bodies ${r.resumes}, downloads fetched again after verification ${r.refetches}, refused as expected ${r.refusedAsExpected}`,
    `latency p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms; mean by operation: ${Object.entries(r.meanMs)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `lost ${r.lost.length}, corrupt ${r.corrupt.length}, untyped failures ${r.untyped.length}, orphaned uploads ${r.orphans.length}, outside destinations ${r.outside.length}`,
  ].join('\n')
}

export type { FaultKind }

function partsEtag(data: Buffer, partSize: number): string {
  const parts: string[] = []
  for (let at = 0; at < data.length; at += partSize)
    parts.push(
      createHash('md5')
        .update(data.subarray(at, at + partSize))
        .digest('hex'),
    )
  return multipartEtag(parts)!
}
