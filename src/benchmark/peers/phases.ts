/**
 * Fixtures, and for each timed phase: the task a tool gets, what it reads and writes, how its
 * result is verified (byte-exact, against digests computed from the generated data) and how
 * its objects are cleaned up. Nothing here is timed.
 * @packageDocumentation
 */
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { objectBytes, digest, streamChunks, streamDigest, type Digest } from './data.js'
import type { Measurement } from './measure.js'
import type { PhaseTask, S3Target } from './tools/types.js'
import type { Admin } from './s3-admin.js'
import { objectName, type PhaseId, type Workload, type WorkloadId } from './workloads.js'

/** Storage class W5 moves objects to (they start in STANDARD). */
export const W5_TARGET_CLASS = 'STANDARD_IA'

/** Expected results, computed once from the generated data. */
export interface Fixtures {
  /** W1/W2: local source folder and the digest of every file by name. */
  files: Partial<Record<WorkloadId, { dir: string; digests: Map<string, Digest> }>>
  stream?: { size: number; sha256: string }
  /** W4: sha256 of the sorted keys joined by newlines. */
  keys?: { count: number; sha256: string }
}

export function fixturePrefix(w: WorkloadId): string {
  return `fixture/${w.toLowerCase()}/`
}

function keysDigest(keys: readonly string[]): string {
  return createHash('sha256')
    .update([...keys].sort().join('\n'))
    .digest('hex')
}

const stripQuotes = (etag: string | undefined) => (etag ?? '').replace(/"/g, '')

/**
 * Generate local files and upload the objects the get/list phases read: W1/W2 objects, the
 * W3 stream, W4's keys (empty objects).
 */
export async function prepareFixtures(admin: Admin, ws: readonly Workload[], tmp: string, partSize: number, log: (line: string) => void): Promise<Fixtures> {
  const fx: Fixtures = { files: {} }
  for (const w of ws) {
    if (w.id === 'W1' || w.id === 'W2') {
      const dir = join(tmp, `src-${w.id.toLowerCase()}`)
      await mkdir(dir, { recursive: true })
      const digests = new Map<string, Digest>()
      const bodies: { key: string; body: Buffer }[] = []
      for (let i = 0; i < w.count; i++) {
        const bytes = objectBytes(i + (w.id === 'W2' ? 1_000_000 : 0), w.size)
        const name = objectName(i)
        digests.set(name, digest(bytes))
        await writeFile(join(dir, name), bytes)
        bodies.push({ key: fixturePrefix(w.id) + name, body: bytes })
      }
      log(`fixture ${w.id}: ${w.count} files in ${dir}, uploading to ${fixturePrefix(w.id)}`)
      await admin.putMany(bodies, 16)
      fx.files[w.id] = { dir, digests }
      const problem = await verifyObjects(admin, fixturePrefix(w.id), digests)
      if (problem) throw new Error(`fixture ${w.id} did not upload correctly: ${problem}`)
    } else if (w.id === 'W3') {
      fx.stream = streamDigest(w.size)
      log(`fixture W3: uploading a ${w.size / 2 ** 20} MiB stream to ${fixturePrefix('W3')}`)
      await admin.putStream(`${fixturePrefix('W3')}stream.bin`, streamChunks(w.size), partSize)
      const got = await admin.hash(`${fixturePrefix('W3')}stream.bin`)
      if (got.sha256 !== fx.stream.sha256) throw new Error('fixture W3 did not upload correctly')
    } else if (w.id === 'W5') {
      // The first object stored in a storage class makes radosgw create that class's pool
      // (seconds): do it here, not in the first timed sample.
      const key = `${fixturePrefix('W5')}warm-up`
      await admin.putMany([{ key, body: objectBytes(3_000_000, w.size) }])
      await admin.setStorageClass(key, W5_TARGET_CLASS)
      await admin.deletePrefix(fixturePrefix('W5'))
    } else if (w.id === 'W4') {
      const keys = Array.from({ length: w.count }, (_, i) => fixturePrefix('W4') + objectName(i))
      log(`fixture W4: creating ${w.count} keys under ${fixturePrefix('W4')}`)
      const empty = new Uint8Array(0)
      const started = Date.now()
      await admin.putMany(
        (function* () {
          for (const [i, key] of keys.entries()) {
            if (i > 0 && i % 5000 === 0) log(`  ${i}/${keys.length} keys (${((Date.now() - started) / 1000).toFixed(0)} s)`)
            yield { key, body: empty }
          }
        })(),
        32,
      )
      fx.keys = { count: keys.length, sha256: keysDigest(keys) }
      const listed = (await admin.list(fixturePrefix('W4'))).map((o) => o.Key ?? '')
      if (keysDigest(listed) !== fx.keys.sha256) throw new Error('fixture W4 keys did not all appear')
    }
  }
  return fx
}

/** Objects under `prefix` must be exactly `digests` (by name): sizes, and MD5 ETags or sha256 of the bytes. */
async function verifyObjects(admin: Admin, prefix: string, digests: Map<string, Digest>): Promise<string | undefined> {
  const objects = await admin.list(prefix)
  if (objects.length !== digests.size) return `expected ${digests.size} objects under ${prefix}, found ${objects.length}`
  for (const o of objects) {
    const name = (o.Key ?? '').slice(prefix.length)
    const want = digests.get(name)
    if (!want) return `unexpected object ${o.Key}`
    if (o.Size !== want.size) return `${o.Key}: ${o.Size} bytes, expected ${want.size}`
    const etag = stripQuotes(o.ETag)
    if (etag && !etag.includes('-')) {
      if (etag !== want.md5) return `${o.Key}: content differs (MD5 ETag ${etag}, expected ${want.md5})`
    } else {
      const got = await admin.hash(o.Key!)
      if (got.sha256 !== want.sha256) return `${o.Key}: content differs (sha256)`
    }
  }
  return undefined
}

/** Files under `dir` must be exactly `digests` (by relative path), byte for byte. */
async function verifyFiles(dir: string, digests: Map<string, Digest>): Promise<string | undefined> {
  const found = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)))
  if (found.length !== digests.size) return `expected ${digests.size} files in ${dir}, found ${found.length}`
  for (const name of found) {
    const want = digests.get(name)
    if (!want) return `unexpected file ${name}`
    const got = digest(await readFile(join(dir, name)))
    if (got.size !== want.size || got.sha256 !== want.sha256)
      return `${name}: content differs (sha256 ${got.sha256.slice(0, 12)}..., expected ${want.sha256.slice(0, 12)}...)`
  }
  return undefined
}

/** One timed phase of one tool: its task, its I/O, and how to check and clean up after it. */
export interface PhasePlan {
  task: PhaseTask
  stdin?: () => Iterable<Buffer>
  stdout: 'ignore' | 'text' | 'hash'
  /** Resolves to a problem, or undefined when the result is exact. */
  verify(m: Measurement, parseList: (stdout: string) => string[]): Promise<string | undefined>
  cleanup(): Promise<void>
  /** The objects this phase left on the server are large: collect garbage after cleanup. */
  large: boolean
}

export interface PlanContext {
  admin: Admin
  fixtures: Fixtures
  s3: S3Target
  tmp: string
  concurrency: number
  partSize: number
}

/** Set up (untimed) and describe one phase of `w` for `tool` in run `run`. */
export async function planPhase(ctx: PlanContext, w: Workload, phase: PhaseId, tool: string, run: number): Promise<PhasePlan> {
  const { admin, fixtures } = ctx
  const own = `${w.id.toLowerCase()}/${tool}/r${run}/`
  const task: PhaseTask = {
    workload: w.id,
    phase,
    s3: ctx.s3,
    bucket: admin.bucket,
    prefix: '',
    dir: '',
    key: '',
    storageClass: W5_TARGET_CLASS,
    concurrency: ctx.concurrency,
    partSize: ctx.partSize,
  }
  const nothing = async () => {}
  if (w.id === 'W3') {
    const stream = fixtures.stream!
    if (phase === 'put') {
      task.key = `${own}stream.bin`
      return {
        task,
        stdin: () => streamChunks(w.size),
        stdout: 'ignore',
        large: true,
        async verify() {
          const size = await admin.size(task.key)
          if (size === undefined) return `no object ${task.key}`
          if (size !== stream.size) return `${task.key}: ${size} bytes, expected ${stream.size}`
          const got = await admin.hash(task.key)
          return got.sha256 === stream.sha256 ? undefined : `${task.key}: content differs (sha256)`
        },
        cleanup: () => admin.deletePrefix(own),
      }
    }
    task.key = `${fixturePrefix('W3')}stream.bin`
    return {
      task,
      stdout: 'hash',
      large: false,
      async verify(m) {
        if (m.stdoutBytes !== stream.size) return `got ${m.stdoutBytes} bytes, expected ${stream.size}`
        return m.stdoutSha256 === stream.sha256 ? undefined : 'content differs (sha256)'
      },
      cleanup: nothing,
    }
  }
  if (w.id === 'W1' || w.id === 'W2') {
    const files = fixtures.files[w.id]!
    if (phase === 'put') {
      task.prefix = own
      task.dir = files.dir
      return { task, stdout: 'ignore', large: w.id === 'W2', verify: () => verifyObjects(admin, own, files.digests), cleanup: () => admin.deletePrefix(own) }
    }
    task.prefix = fixturePrefix(w.id)
    task.dir = join(ctx.tmp, `get-${w.id.toLowerCase()}-${tool}-r${run}`)
    await rm(task.dir, { recursive: true, force: true })
    await mkdir(task.dir, { recursive: true })
    return {
      task,
      stdout: 'ignore',
      large: false,
      verify: () => verifyFiles(task.dir, files.digests),
      cleanup: () => rm(task.dir, { recursive: true, force: true }),
    }
  }
  if (w.id === 'W4') {
    const keys = fixtures.keys!
    task.prefix = fixturePrefix('W4')
    return {
      task,
      stdout: 'text',
      large: false,
      async verify(m, parseList) {
        const got = parseList(m.stdout)
        if (got.length !== keys.count) return `listed ${got.length} keys, expected ${keys.count}`
        return keysDigest(got) === keys.sha256 ? undefined : 'listed keys differ from the keys stored'
      },
      cleanup: nothing,
    }
  }
  // W5: fresh STANDARD objects for every sample.
  task.prefix = own
  await admin.putMany(
    Array.from({ length: w.count }, (_, i) => ({ key: own + objectName(i), body: objectBytes(2_000_000 + i, w.size), storageClass: 'STANDARD' })),
    16,
  )
  const before = new Map((await admin.list(own)).map((o) => [o.Key ?? '', stripQuotes(o.ETag)]))
  if (before.size !== w.count) throw new Error(`W5 setup: expected ${w.count} objects under ${own}, found ${before.size}`)
  return {
    task,
    stdout: 'ignore',
    large: false,
    async verify() {
      const after = await admin.list(own)
      if (after.length !== before.size) return `expected ${before.size} objects, found ${after.length}`
      for (const o of after) {
        if (before.get(o.Key ?? '') !== stripQuotes(o.ETag)) return `${o.Key}: content changed (ETag)`
        if ((o.StorageClass ?? 'STANDARD') !== W5_TARGET_CLASS) return `${o.Key}: storage class ${o.StorageClass ?? 'STANDARD'}, expected ${W5_TARGET_CLASS}`
      }
      return undefined
    },
    cleanup: () => admin.deletePrefix(own),
  }
}
