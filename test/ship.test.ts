import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { closeSync, openSync, readSync } from 'node:fs'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import zlib from 'node:zlib'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Bucket } from '../src/bucket.js'
import { segmentContent } from '../src/sinks/spool.js'
import { cli } from './support/cli.js'
import { FaultProxy } from './support/proxy.js'
import { s3Options, useBucket } from './support/s3.js'

const MAIN = resolve(import.meta.dirname, '../src/cli/main.ts')
const dirs: string[] = []
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'bucketflow-ship-'))
  dirs.push(d)
  return d
}

/** Line n of the numbered input: its number first, then a payload of varying length. */
const line = (n: number) => `${String(n).padStart(8, '0')} level=${['info', 'warn', 'error'][n % 3]} msg="request ${n} handled" ${'p'.repeat(n % 61)}`

/** This process's environment, pointed at the run's S3 server. */
function s3Env(): NodeJS.ProcessEnv {
  const s3 = inject('s3')
  return {
    ...process.env,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
  }
}

/** A `bucketflow ship` child process fed numbered lines, that a test can kill -9. */
class Ship {
  readonly child: ChildProcessWithoutNullStreams
  stderr = ''
  stdout = ''
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** The next line number to write. */
  next = 1
  #feeding = false

  constructor(args: string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'ship', ...args], {
      env: s3Env(),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    this.child.stdout.on('data', (d: Buffer) => (this.stdout += d.toString()))
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()))
    this.child.stdin.on('error', () => undefined) // EPIPE once the child is killed
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })))
  }

  /** Write numbered lines until `stop()` or `until` lines were written, with backpressure. */
  feed(until = Infinity, batch = 200): Promise<void> {
    this.#feeding = true
    return (async () => {
      while (this.#feeding && this.next <= until && this.child.exitCode === null && this.child.signalCode === null) {
        const lines: string[] = []
        for (let i = 0; i < batch && this.next <= until; i++) lines.push(line(this.next++))
        if (!this.child.stdin.write(`${lines.join('\n')}\n`)) {
          await new Promise<void>((resolve) => {
            this.child.stdin.once('drain', resolve)
            this.child.once('close', resolve)
          })
        }
      }
    })()
  }

  stop(): void {
    this.#feeding = false
  }

  async kill9(): Promise<void> {
    this.stop()
    this.child.kill('SIGKILL')
    const { signal } = await this.exited
    expect(signal).toBe('SIGKILL')
  }
}

/** Every object's lines (decompressed when .gz), as line numbers, in key order. */
async function shipped(bucket: Bucket, prefix: string): Promise<{ key: string; numbers: number[] }[]> {
  const out = []
  for (const key of await bucket.list(prefix).toArray()) {
    const bytes = await bucket.get(key)
    const text = (key.endsWith('.gz') ? zlib.gunzipSync(bytes) : bytes).toString()
    expect(text.endsWith('\n'), key).toBe(true)
    const lines = text.slice(0, -1).split('\n')
    const numbers = lines.map((l) => Number(l.slice(0, 8)))
    // Every line whole and unchanged.
    const broken = lines.find((l, i) => l !== line(numbers[i]!))
    expect(broken, key).toBeUndefined()
    out.push({ key, numbers })
  }
  return out
}

/** The highest line number that is in the spool or in S3 right now (acknowledged by the shipper). */
async function acknowledged(bucket: Bucket, prefix: string, spool: string): Promise<number> {
  let max = 0
  for (const name of (await readdir(spool)).filter((n) => n.endsWith('.seg'))) {
    try {
      for await (const piece of segmentContent(join(spool, name), true)) {
        const text = piece.toString()
        const lastNl = text.lastIndexOf('\n', text.length - 2)
        const lastLine = text.slice(lastNl + 1)
        if (/^\d{8} /.test(lastLine)) max = Math.max(max, Number(lastLine.slice(0, 8)))
      }
    } catch {
      // Removed (uploaded) while being read.
    }
  }
  for (const o of await shipped(bucket, prefix)) max = Math.max(max, ...o.numbers)
  return max
}

/** Every line from 1 to some J >= atLeast, exactly once, in order (objects in key order). */
function expectExactlyOnce(objects: { key: string; numbers: number[] }[], atLeast: number): number {
  const all = objects.flatMap((o) => o.numbers)
  expect(all.length).toBeGreaterThanOrEqual(atLeast)
  const expected = Array.from({ length: all.length }, (_, i) => i + 1)
  // Compare cheaply first, then show the difference if any.
  if (all.some((n, i) => n !== i + 1)) expect(all).toEqual(expected)
  return all.length
}

async function segmentsIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.seg'))
}

describe('bucketflow ship', () => {
  const bucket = useBucket('ship')
  let proxy: FaultProxy
  beforeAll(async () => {
    proxy = await FaultProxy.start(s3Options().endpoint!)
  })
  afterAll(async () => {
    await proxy?.close()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  it('ships stdin to gzip objects under a key template and prints a summary (JSON with --json)', async () => {
    const b = bucket()
    const input = Array.from({ length: 3000 }, (_, i) => line(i + 1))
    const run = await cli(['ship', `s3://${b.name}/basic/`, '--gzip', '--rotate-bytes', '64KiB', '--key', 'dt={yyyy}-{MM}-{dd}/{ts}-{seq}.log'], {
      input: `${input.join('\n')}\nlast line without newline`,
    })
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toMatch(/^ship: \d+ objects \([\d.]+ KiB stored\), 3001 lines \([\d.]+ KiB\), 0 lines dropped\n$/)
    const keys = await b.list('basic/').toArray()
    expect(keys.length).toBeGreaterThanOrEqual(3)
    expect(keys.every((k) => /^basic\/dt=\d{4}-\d{2}-\d{2}\/\d{8}T\d{6}\.\d{3}Z-\d{6}\.log\.gz$/.test(k))).toBe(true)
    const text = Buffer.concat(await Promise.all(keys.map(async (k) => zlib.gunzipSync(await b.get(k))))).toString()
    expect(text).toBe(`${input.join('\n')}\nlast line without newline`)

    const json = await cli(['--json', 'ship', `s3://${b.name}/json/`], { input: 'a\nb\n' })
    expect(json.code, json.stderr).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({ objects: 1, lines: 2, bytes: 4, dropped: { writes: 0, bytes: 0, lines: 0 }, recovered: 0 })
    expect(json.stderr).toBe('')

    // A URL without the final '/' names the same folder (as in aws s3), not a key prefix.
    const bare = await cli(['--json', 'ship', `s3://${b.name}/bare`], { input: 'c\n' })
    expect(bare.code, bare.stderr).toBe(0)
    expect(JSON.parse(bare.stdout).firstKey).toMatch(/^bare\/\d{8}T\d{6}\.\d{3}Z-\d{6}\.log$/)
    expect((await b.list('bare/').toArray()).length).toBe(1)
  })

  it('refuses bad options with exit 2 before any request', async () => {
    const b = bucket()
    for (const [args, why] of [
      [['--gzip', '--zstd'], /either --gzip or --zstd/],
      [['--key', '{HH}/{ts}-{seq}.log'], /Invalid key template/],
      [['--fsync', 'always'], /fsync is an option of the spool/],
    ] as [string[], RegExp][]) {
      const run = await cli(['ship', `s3://${b.name}/never/`, ...args], { input: 'x\n' })
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stderr, args.join(' ')).toMatch(why)
    }
    const schemaFile = join(await tempDir(), 'schema.json')
    await writeFile(schemaFile, '{"x": "list<int>"}')
    const badSchema = await cli(['ship', `s3://${b.name}/never/`, '--parquet', '--schema', schemaFile], { input: '' })
    expect(badSchema.code).toBe(2)
    expect(badSchema.stderr).toMatch(/Unknown type "list<int>"/)
    expect(await b.list('never/').toArray()).toEqual([])
  })

  it('reads a file given as standard input from where its offset stands, to its last byte, and refuses a folder', async () => {
    const b = bucket()
    // 40,000 lines (about 3.5 MiB): lines span the 1 MiB reads; the last one has no newline.
    const lines = Array.from({ length: 40_000 }, (_, i) => line(i + 1))
    const text = `${lines.join('\n')}\nthe end without newline`
    const file = join(await tempDir(), 'app.log')
    await writeFile(file, text)
    // `{ head -n 100 >/dev/null; bucketflow ship ...; } < app.log`: the first 100 lines were read
    // through the same open file, so ship must start after them.
    const fd = openSync(file, 'r')
    const skipped = Buffer.byteLength(`${lines.slice(0, 100).join('\n')}\n`)
    expect(readSync(fd, Buffer.alloc(skipped), 0, skipped, null)).toBe(skipped)
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--json', 'ship', `s3://${b.name}/file/`, '--gzip', '--rotate-bytes', '1MiB'], {
      env: s3Env(),
      stdio: [fd, 'pipe', 'pipe'],
    })
    closeSync(fd)
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(code, stderr).toBe(0)
    expect(JSON.parse(stdout)).toMatchObject({ lines: 40_000 - 100 + 1, bytes: Buffer.byteLength(text) - skipped })
    const keys = await b.list('file/').toArray()
    expect(keys.length).toBeGreaterThanOrEqual(3)
    const stored = Buffer.concat(await Promise.all(keys.map(async (k) => zlib.gunzipSync(await b.get(k))))).toString()
    expect(stored).toBe(text.slice(skipped))

    // A folder on standard input (`ship < /tmp`) is refused, not shipped as nothing.
    const folder = openSync(await tempDir(), 'r')
    const refused = spawn(process.execPath, ['--import', 'tsx', MAIN, 'ship', `s3://${b.name}/folder/`], { env: s3Env(), stdio: [folder, 'ignore', 'pipe'] })
    closeSync(folder)
    let refusal = ''
    refused.stderr!.on('data', (d: Buffer) => (refusal += d.toString()))
    expect(await new Promise<number | null>((resolve) => refused.on('close', resolve))).toBe(2)
    expect(refusal).toMatch(/Standard input is a folder/)
    expect(await b.list('folder/').toArray()).toEqual([])
  })

  it.each([
    { when: 'waiting for its spool', count: 40_000, delayMs: 1500, args: ['--max-spool-bytes', '1MiB', '--rotate-bytes', '1MiB'] },
    { when: 'reading', count: 400_000, delayMs: 0, args: ['--rotate-bytes', '4MiB'] },
  ])(
    'on SIGINT while $when, with a file on stdin, stores every byte it took: what is stored and what is left unread make the file',
    async ({ when, count, delayMs, args }) => {
      const b = bucket()
      const lines = Array.from({ length: count }, (_, i) => line(i + 1))
      const text = `${lines.join('\n')}\n`
      const dir = await tempDir()
      const file = join(dir, 'app.log')
      await writeFile(file, text)
      // Late answers make the spool fill, so ship stops taking input; without them it is reading.
      const prefix = `sigint-file-${when.replace(/\W/g, '-')}/`
      if (delayMs > 0)
        proxy.addRule({ match: (r) => r.key.startsWith(prefix) && ['PutObject', 'UploadPart', 'CompleteMultipartUpload'].includes(r.op), delayMs })
      const fd = openSync(file, 'r')
      try {
        const command = ['ship', `s3://${b.name}/${prefix}`, '--endpoint', proxy.url, '--spool', join(dir, 'spool'), ...args]
        const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...command], { env: s3Env(), stdio: [fd, 'ignore', 'pipe'] })
        let stderr = ''
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
        const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
        while (proxy.of('PutObject', (r) => r.key.startsWith(prefix)).length === 0) await sleep(20)
        if (delayMs > 0) await sleep(500)
        child.kill('SIGINT')
        expect(await exited, stderr).toBe(0)
        // The child's reads moved the offset of the file both hold open: the rest is what it left.
        const rest: Buffer[] = []
        for (;;) {
          const buffer = Buffer.alloc(1 << 20)
          const n = readSync(fd, buffer, 0, buffer.length, null)
          if (n === 0) break
          rest.push(buffer.subarray(0, n))
        }
        const keys = await b.list(prefix).toArray()
        const stored = Buffer.concat(await Promise.all(keys.map((k) => b.get(k)))).toString()
        expect(stored.length).toBeGreaterThan(0)
        expect(stored.length).toBeLessThan(text.length)
        expect(stored + Buffer.concat(rest).toString()).toBe(text)
      } finally {
        closeSync(fd)
        proxy.clearRules()
      }
    },
  )

  it('on SIGTERM stores what it read (the partial last line too) and exits 0', async () => {
    const b = bucket()
    const ship = new Ship([`s3://${b.name}/term/`, '--rotate-ms', '200'])
    const lines = Array.from({ length: 40 }, (_, i) => line(i + 1))
    // One small write (atomic on a pipe): the shipper reads the partial line with the others.
    ship.child.stdin.write(`${lines.join('\n')}\nheld without newline`)
    // The whole lines are stored on time; the partial one waits for its newline.
    while ((await shipped(b, 'term/').catch(() => [])).flatMap((o) => o.numbers).length < lines.length) await sleep(50)
    ship.child.kill('SIGTERM')
    const { code } = await ship.exited
    expect(code, ship.stderr).toBe(0)
    expect(ship.stderr).toMatch(/SIGTERM: storing what was read/)
    expect(ship.stderr).toMatch(/41 lines/)
    const text = (await Promise.all((await b.list('term/').toArray()).map((k) => b.read(k)))).join('')
    expect(text).toBe(`${lines.join('\n')}\nheld without newline`)
  })

  describe('kill -9 of a spooled shipper, then a restart on the same spool: every line stored exactly once, in order', () => {
    it('killed while appending (and uploading), with no faults', async () => {
      const b = bucket()
      const spool = await tempDir()
      const url = `s3://${b.name}/kill-append/`
      const ship = new Ship([url, '--spool', spool, '--gzip', '--rotate-bytes', '1MiB', '--fsync', 'never'])
      const feeding = ship.feed(200_000)
      // A segment sealed and the next one being appended to.
      while ((await segmentsIn(spool)).length < 2) await sleep(10)
      const atLeast = await acknowledged(b, 'kill-append/', spool)
      await ship.kill9()
      // Killed in the middle of the stream, not after it.
      expect(ship.next).toBeLessThan(200_000)
      await feeding
      expect(atLeast).toBeGreaterThan(0)
      const restart = await cli(['ship', url, '--spool', spool, '--gzip', '--rotate-bytes', '1MiB'], { input: '' })
      expect(restart.code, restart.stderr).toBe(0)
      expect(restart.stderr).toMatch(/finished from the spool of an earlier run/)
      expectExactlyOnce(await shipped(b, 'kill-append/'), atLeast)
      expect(await segmentsIn(spool)).toEqual([])
    })

    it('killed between rotations while uploads fail (sealed segments wait in the spool)', async () => {
      const b = bucket()
      const spool = await tempDir()
      const prefix = 'kill-sealed/'
      proxy.addRule({ match: (r) => r.op === 'PutObject' && r.key.startsWith(prefix), reset: true })
      const ship = new Ship([`s3://${b.name}/${prefix}`, '--endpoint', proxy.url, '--spool', spool, '--rotate-bytes', '16KiB', '--fsync', 'always'])
      await ship.feed(1500)
      while (!ship.stderr.includes('trying again') || (await segmentsIn(spool)).length < 3) await sleep(20)
      const atLeast = await acknowledged(b, prefix, spool)
      await ship.kill9()
      proxy.clearRules()
      expect(await b.list(prefix).toArray()).toEqual([])
      const restart = await cli(['ship', `s3://${b.name}/${prefix}`, '--spool', spool], { input: '' })
      expect(restart.code, restart.stderr).toBe(0)
      expect(expectExactlyOnce(await shipped(b, prefix), atLeast)).toBe(1500)
      expect(await segmentsIn(spool)).toEqual([])
    })

    it('killed during a multipart upload: the orphaned upload is aborted and the object stored again', async () => {
      const b = bucket()
      const spool = await tempDir()
      const prefix = 'kill-multipart/'
      // Parts reach the server, their answers never come back: the upload is in flight.
      proxy.addRule({ match: (r) => r.op === 'UploadPart' && r.key.startsWith(prefix), delayMs: 120_000 })
      const ship = new Ship([`s3://${b.name}/${prefix}`, '--endpoint', proxy.url, '--spool', spool, '--rotate-bytes', '9MiB'])
      const feeding = ship.feed(Infinity, 1000)
      while (proxy.of('UploadPart', (r) => r.key.startsWith(prefix)).length === 0) await sleep(20)
      const atLeast = await acknowledged(b, prefix, spool)
      await ship.kill9()
      await feeding
      proxy.clearRules()
      expect((await b.listUploads({ prefix })).length).toBeGreaterThan(0)
      const restart = await cli(['ship', `s3://${b.name}/${prefix}`, '--spool', spool], { input: '' })
      expect(restart.code, restart.stderr).toBe(0)
      const objects = await shipped(b, prefix)
      expect(objects[0]!.numbers.length).toBeGreaterThan(50_000) // the 9 MiB object
      expectExactlyOnce(objects, atLeast)
      expect(await b.listUploads({ prefix })).toEqual([])
      expect(await segmentsIn(spool)).toEqual([])
    })

    it('killed after an object was stored but before its spool file was removed: not stored again', async () => {
      const b = bucket()
      const spool = await tempDir()
      const prefix = 'kill-stored/'
      // The server stores the object; its answer is held back until after the kill.
      proxy.addRule({ match: (r) => r.op === 'PutObject' && r.key.startsWith(prefix), delayMs: 120_000 })
      const ship = new Ship([`s3://${b.name}/${prefix}`, '--endpoint', proxy.url, '--spool', spool, '--gzip', '--rotate-bytes', '16KiB'])
      await ship.feed(1200)
      while ((await b.list(prefix).toArray()).length === 0) await sleep(20)
      const [firstKey] = await b.list(prefix).toArray()
      // The first object can be stored before the shipper has read the last lines from its
      // stdin: the kill comes once every line was acknowledged (in the spool or in S3).
      const deadline = Date.now() + 30_000
      let atLeast = await acknowledged(b, prefix, spool)
      while (atLeast < 1200 && Date.now() < deadline) {
        await sleep(50)
        atLeast = await acknowledged(b, prefix, spool)
      }
      expect(atLeast).toBe(1200)
      await ship.kill9()
      proxy.clearRules()
      proxy.clearRequests()
      const restart = await cli(['ship', `s3://${b.name}/${prefix}`, '--endpoint', proxy.url, '--spool', spool, '--gzip'], { input: '' })
      expect(restart.code, restart.stderr).toBe(0)
      expect(proxy.of('HeadObject', (r) => r.key === firstKey).length).toBe(1)
      expect(proxy.of('PutObject', (r) => r.key === firstKey)).toEqual([])
      expect(expectExactlyOnce(await shipped(b, prefix), atLeast)).toBe(1200)
      expect(await segmentsIn(spool)).toEqual([])
    })
  })
})
