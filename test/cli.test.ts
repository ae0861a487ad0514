import { gzipSync } from 'node:zlib'
/**
 * The `bucketflow` command line. Most cases run in this process through `run(args, io)` (the
 * same program minus the process around it); signals, pipes and the real exit status run the
 * program in a child process. The differential tests against aws-cli are in test/conformance/.
 */
import { spawn } from 'node:child_process'
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { Bucket } from '../src/index.js'
import { startLocalS3, type LocalS3 } from '../src/server/server.js'
import { cli, cliMain, runCli, useS3Env } from './support/cli.js'
import { FaultProxy } from './support/proxy.js'
import { runScript } from './support/run-script.js'
import { bucketName, s3Options, useBucket } from './support/s3.js'

useS3Env()

const temp = (prefix: string) => mkdtemp(join(tmpdir(), `bf-cli-${prefix}-`))
const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)

describe('bucketflow CLI', () => {
  const bucket = useBucket('cli')

  it('prints complete help for the program and every subcommand', async () => {
    const root = await runCli(['--help'])
    expect(root.code).toBe(0)
    const names = [...root.stdout.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!).filter((n) => n !== 'help')
    expect(names).toEqual(
      expect.arrayContaining(['ls', 'put', 'get', 'cp', 'mv', 'rm', 'mb', 'rb', 'freeze', 'restore', 'head', 'cat', 'index', 'tail', 'uploads']),
    )
    expect(root.stdout).toMatch(/Exit codes: 0 ok, 1 some items failed \(or ls found nothing\), 2 usage error, 130\/143 interrupted/)
    for (const name of names) {
      const sub = await runCli([name, '--help'])
      expect(sub.code, name).toBe(0)
      expect(sub.stdout, name).toMatch(new RegExp(`Usage: bucketflow ${name}`))
      expect(sub.stdout, name).toMatch(/Example/)
    }
    for (const name of ['put', 'get', 'cp', 'mv', 'rm', 'freeze', 'restore', 'mb', 'rb', 'uploads']) {
      expect((await runCli([name, '--help'])).stdout, name).toMatch(/--dry-run/)
    }
  })

  it('exits 2 on usage errors (bad URL, bad endpoint, bad option), 1 on failures, and renders every error as JSON with --json', async () => {
    const missing = await runCli(['get'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/missing required argument 'url'/)
    const badUrl = await runCli(['ls', 'not-a-url'])
    expect(badUrl.code).toBe(2)
    expect(badUrl.stderr).toMatch(/Expected url to be an s3:\/\/bucket\/key URL, got "not-a-url"/)
    expect((await runCli(['-c', '0', 'ls'])).code).toBe(2)
    // Seen: `--endpoint not-a-url` exited 1 with "Invalid URL".
    const endpoint = await runCli(['--endpoint', 'not-a-url', 'ls', `s3://${bucket().name}`])
    expect(endpoint.code).toBe(2)
    expect(endpoint.stderr).toMatch(/Expected endpoint to be an http:\/\/ or https:\/\/ URL, got "not-a-url"/)
    // Seen: errors of single-object commands ignored --json.
    const head = await runCli(['--json', 'head', `s3://${bucket().name}/none`])
    expect(head.code).toBe(1)
    expect(head.stderr).toBe('')
    expect(jsonLines(head.stdout)).toEqual([
      { ok: false, error: expect.objectContaining({ name: 'NoSuchKeyError', code: 'NoSuchKey', bucket: bucket().name, key: 'none' }) },
    ])
    const usage = await runCli(['--json', 'cat', '--start', 'x', `s3://${bucket().name}/k`])
    expect(usage.code).toBe(2)
    expect(jsonLines(usage.stdout)).toEqual([
      { ok: false, error: expect.objectContaining({ code: 'Usage', message: expect.stringMatching(/Expected start to be an integer, got "x"/) }) },
    ])
    const badBucket = await runCli(['--json', 'ls', 's3://Not_A_Bucket/'])
    expect(badBucket.code).toBe(2)
    expect(jsonLines(badBucket.stdout)[0]).toMatchObject({ ok: false, error: { code: 'InvalidArgument', argument: 'bucket' } })
  })

  it('puts a folder, lists it as JSON, and gets a prefix refusing keys that escape the folder (exit 1)', async () => {
    const b = bucket()
    const src = await temp('src')
    await mkdir(join(src, 'cute'), { recursive: true })
    await writeFile(join(src, 'cute', 'a.txt'), 'aaa')
    await writeFile(join(src, 'b.txt'), 'bb')
    const put = await runCli(['--quiet', 'put', src, `s3://${b.name}/pics/`])
    expect(put.code, put.stderr).toBe(0)
    const ls = await runCli(['--json', 'ls', '-r', `s3://${b.name}/pics/`])
    expect(ls.code).toBe(0)
    expect(jsonLines(ls.stdout).map((e) => [e.key, e.size])).toEqual([
      ['pics/b.txt', 2],
      ['pics/cute/a.txt', 3],
    ])
    // A hostile key under the prefix.
    await b.put('evil', 'pics/../../../escape.txt', { literal: true })
    // A throw-away root with the folder three levels down: the hostile key lands inside it if
    // the guard is broken, never on the host, and is seen below.
    const out = await temp('out')
    const dest = join(out, 'l1', 'l2', 'mirror')
    const get = await runCli(['get', `s3://${b.name}/pics/`, dest])
    expect(get.code).toBe(1)
    expect(get.stderr).toMatch(/would be written outside the destination folder/)
    expect(get.stderr).toMatch(/download: 2 ok, 1 failed/)
    expect(await readFile(join(dest, 'cute', 'a.txt'), 'utf8')).toBe('aaa')
    expect(await readFile(join(dest, 'b.txt'), 'utf8')).toBe('bb')
    expect((await readdir(out, { recursive: true })).sort()).toEqual([
      'l1',
      'l1/l2',
      'l1/l2/mirror',
      'l1/l2/mirror/b.txt',
      'l1/l2/mirror/cute',
      'l1/l2/mirror/cute/a.txt',
    ])
    await rm(out, { recursive: true, force: true })
  })

  it('expands s3://b/logs with --recursive to the folder logs/ for rm, cp, mv, freeze and restore (not logs-2019/ nor logsbook.txt)', async () => {
    const b = bucket()
    const keys = ['f/logs/a.txt', 'f/logs/sub/b.txt', 'f/logs-2019/keep.txt', 'f/logsbook.txt']
    await b.put(
      keys.map((k) => k),
      keys,
      { literal: true },
    )
    const url = `s3://${b.name}/f/logs`
    // Seen: `rm -r s3://backup/logs` deleted logs-2019/keep.txt and logsbook.txt too.
    const dry = await runCli(['rm', '-r', '--dry-run', url])
    expect(dry.code).toBe(0)
    expect(dry.stdout.trim().split('\n')).toEqual([`(dryrun) delete: s3://${b.name}/f/logs/a.txt`, `(dryrun) delete: s3://${b.name}/f/logs/sub/b.txt`])
    const restore = await runCli(['restore', '-r', '--dry-run', url])
    expect(restore.stdout.trim().split('\n')).toHaveLength(2)
    const freeze = await runCli(['freeze', '-r', '--storage-class', 'STANDARD_IA', url])
    expect(freeze.code, freeze.stderr).toBe(0)
    expect((await b.head('f/logs-2019/keep.txt')).storageClass).toBe('STANDARD')
    expect((await b.head('f/logs/sub/b.txt')).storageClass).toBe('STANDARD_IA')
    // Seen: `cp -r s3://docs/doc/adduser s3://docs/ad2` wrote ad2//NEWS.Debian.gz.
    const copy = await runCli(['cp', '-r', url, `s3://${b.name}/g/copy`])
    expect(copy.code, copy.stderr).toBe(0)
    expect(await b.list('g/')).toEqual(['g/copy/a.txt', 'g/copy/sub/b.txt'])
    const move = await runCli(['mv', '-r', `s3://${b.name}/g/copy/`, `s3://${b.name}/g/moved/`])
    expect(move.code, move.stderr).toBe(0)
    expect(await b.list('g/')).toEqual(['g/moved/a.txt', 'g/moved/sub/b.txt'])
    const rm = await runCli(['-q', 'rm', '-r', url])
    expect(rm.code).toBe(0)
    // Seen: -q still printed a line per item.
    expect(rm.stdout + rm.stderr).toBe('')
    expect(await b.list('f/')).toEqual(['f/logs-2019/keep.txt', 'f/logsbook.txt'])
  })

  it('downloads folders without the folder part (get -r s3://b/doc/adduser dir), skipping folder markers quietly', async () => {
    const b = bucket()
    await b.put(['n', 'c', '', ''], ['doc/adduser/NEWS', 'doc/adduser/sub/copyright', 'doc/adduser/', 'doc/adduser/empty/'], { literal: true })
    await b.put('x', 'doc/adduser-extra.txt', { literal: true })
    const dir = await temp('get')
    // Seen: "0 ok, 17 failed", each key "would be written outside the destination folder".
    const get = await runCli(['get', '-r', `s3://${b.name}/doc/adduser`, join(dir, 'r1')])
    expect(get.code, get.stderr).toBe(0)
    // Seen: folder markers made get -r exit 1 though every file was written.
    expect(get.stderr).toBe('download: 2 ok, 0 failed\n')
    expect(await readdir(join(dir, 'r1'), { recursive: true })).toEqual(expect.arrayContaining(['NEWS', 'sub', 'sub/copyright']))
    expect((await readdir(join(dir, 'r1'), { recursive: true })).sort()).toEqual(['NEWS', 'sub', 'sub/copyright'])
  })

  it('downloads one object into an existing folder, a dir/, a new name, or stdout (-)', async () => {
    const b = bucket()
    await b.put('0123456789', 'one/digits.txt', { literal: true })
    const dir = await temp('one')
    await mkdir(join(dir, 'existing'))
    // Seen: EISDIR.
    expect((await runCli(['get', `s3://${b.name}/one/digits.txt`, join(dir, 'existing')])).code).toBe(0)
    expect(await readFile(join(dir, 'existing', 'digits.txt'), 'utf8')).toBe('0123456789')
    expect((await runCli(['get', `s3://${b.name}/one/digits.txt`, `${join(dir, 'new')}/`])).code).toBe(0)
    expect(await readFile(join(dir, 'new', 'digits.txt'), 'utf8')).toBe('0123456789')
    expect((await runCli(['get', `s3://${b.name}/one/digits.txt`, join(dir, 'renamed.txt')])).code).toBe(0)
    expect(await readFile(join(dir, 'renamed.txt'), 'utf8')).toBe('0123456789')
    // Seen: `get s3://b/k -` wrote a file named "-".
    const stdout = await runCli(['get', `s3://${b.name}/one/digits.txt`, '-'])
    expect(stdout.code).toBe(0)
    expect(stdout.stdout).toBe('0123456789')
    await expect(lstat('-')).rejects.toThrow(/ENOENT/)
  })

  it('uploads through symbolic links (a dangling one fails alone with a warning), or skips them with --no-follow-symlinks', async () => {
    const b = bucket()
    const src = await temp('links')
    await mkdir(join(src, 'real'))
    await writeFile(join(src, 'real', 'r.txt'), 'real')
    await writeFile(join(src, 'a.txt'), 'a')
    await symlink('a.txt', join(src, 'link.txt'))
    await symlink('real', join(src, 'folder-link'))
    await symlink('missing', join(src, 'dangling'))
    await mkdir(join(src, 'empty'))
    // Seen: folder uploads skipped symlinks silently.
    const put = await runCli(['put', src, `s3://${b.name}/links`])
    expect(put.code).toBe(1)
    expect(put.stderr).toMatch(/warning: .*dangling: symbolic link to a missing target/)
    expect(put.stderr).toMatch(/upload: 4 ok, 1 failed/)
    expect(await b.list('links/')).toEqual(['links/a.txt', 'links/folder-link/r.txt', 'links/link.txt', 'links/real/r.txt'])
    const skip = await runCli(['put', '--no-follow-symlinks', src, `s3://${b.name}/nolinks/`])
    expect(skip.code, skip.stderr).toBe(0)
    expect(await b.list('nolinks/')).toEqual(['nolinks/a.txt', 'nolinks/real/r.txt'])
  })

  it('stores content types from file extensions, or --content-type', async () => {
    const b = bucket()
    const src = await temp('types')
    for (const name of ['page.html', 'data.json', 'pic.PNG', 'rows.parquet', 'README']) await writeFile(join(src, name), 'x')
    expect((await runCli(['put', src, `s3://${b.name}/types/`])).code).toBe(0)
    const types = Object.fromEntries(
      await Promise.all(
        ['page.html', 'data.json', 'pic.PNG', 'rows.parquet', 'README'].map(async (n) => [n, (await b.head(`types/${n}`)).contentType] as const),
      ),
    )
    // Seen: every file was stored as application/octet-stream.
    expect(types).toEqual({
      'page.html': 'text/html',
      'data.json': 'application/json',
      'pic.PNG': 'image/png',
      'rows.parquet': 'application/vnd.apache.parquet',
      README: expect.stringMatching(/octet-stream/),
    })
    expect((await runCli(['put', '--content-type', 'text/x-special', join(src, 'page.html'), `s3://${b.name}/types/override.html`])).code).toBe(0)
    expect((await b.head('types/override.html')).contentType).toBe('text/x-special')
    // A gzip-compressed file says so (put and cp alike); without the flag nothing is claimed.
    await writeFile(join(src, 'app.log.gz'), gzipSync('a line\n'))
    expect((await runCli(['put', '--content-encoding', 'gzip', join(src, 'app.log.gz'), `s3://${b.name}/enc/put.log.gz`])).code).toBe(0)
    expect((await runCli(['cp', '--content-encoding', 'gzip', join(src, 'app.log.gz'), `s3://${b.name}/enc/cp.log.gz`])).code).toBe(0)
    expect((await runCli(['put', join(src, 'app.log.gz'), `s3://${b.name}/enc/plain.log.gz`])).code).toBe(0)
    expect((await b.head('enc/put.log.gz')).contentEncoding).toBe('gzip')
    expect((await b.head('enc/cp.log.gz')).contentEncoding).toBe('gzip')
    expect((await b.head('enc/plain.log.gz')).contentEncoding).toBeUndefined()
  })

  it('names the destination bucket when it does not exist (cp, put)', async () => {
    const b = bucket()
    await b.put('x', 'c/x.txt', { literal: true })
    const missing = bucketName('missing')
    // Seen: "Bucket <source> does not exist".
    const cp = await runCli(['cp', `s3://${b.name}/c/x.txt`, `s3://${missing}/x.txt`])
    expect(cp.code).toBe(1)
    expect(cp.stderr).toMatch(new RegExp(`Bucket ${missing} does not exist`))
    expect(cp.stderr).not.toMatch(new RegExp(`Bucket ${b.name} does not exist`))
    const dir = await temp('putmissing')
    await writeFile(join(dir, 'f.txt'), 'f')
    const put = await runCli(['--json', 'put', dir, `s3://${missing}/p/`])
    expect(put.code).toBe(1)
    expect(jsonLines(put.stdout)).toEqual([{ ok: false, error: expect.objectContaining({ code: 'NoSuchBucket', bucket: missing }) }])
  })

  it('ls that finds nothing exits 1; ls is a plain prefix listing as in aws s3', async () => {
    const b = bucket()
    await b.put(['1', '2', '3'], ['p/logs/a', 'p/logs-2019/b', 'p/logsbook.txt'], { literal: true })
    // Seen: `ls s3://b/nothing/` exited 0.
    expect((await runCli(['ls', `s3://${b.name}/nothing/`])).code).toBe(1)
    expect((await runCli(['ls', '-r', `s3://${b.name}/nothing`])).code).toBe(1)
    const ls = await runCli(['--json', 'ls', '-r', `s3://${b.name}/p/logs`])
    expect(ls.code).toBe(0)
    expect(jsonLines(ls.stdout).map((e) => e.key)).toEqual(['p/logs-2019/b', 'p/logs/a', 'p/logsbook.txt'])
  })

  it('cats ranges with Python slice rules, heads, copies, freezes and removes', async () => {
    const b = bucket()
    await b.put('0123456789', 'c/digits.txt', { literal: true })
    expect((await runCli(['cat', '--start', '-3', `s3://${b.name}/c/digits.txt`])).stdout).toBe('789')
    expect((await runCli(['cat', '--start', '2', '--end', '5', `s3://${b.name}/c/digits.txt`])).stdout).toBe('234')
    // Seen: an end past the object was a usage error; Python slices clamp it.
    const past = await runCli(['cat', '--start', '0', '--end', '999999999', `s3://${b.name}/c/digits.txt`])
    expect(past.code, past.stderr).toBe(0)
    expect(past.stdout).toBe('0123456789')
    const head = await runCli(['--json', 'head', `s3://${b.name}/c/digits.txt`])
    expect(JSON.parse(head.stdout)).toMatchObject({ key: 'c/digits.txt', size: 10, storageClass: 'STANDARD' })
    expect((await runCli(['cp', `s3://${b.name}/c/digits.txt`, `s3://${b.name}/c/copy.txt`])).code).toBe(0)
    const frozen = await runCli(['freeze', '--storage-class', 'GLACIER', `s3://${b.name}/c/copy.txt`])
    expect(frozen.code, frozen.stderr).toBe(0)
    expect((await b.head('c/copy.txt')).storageClass).toBe('GLACIER')
    const rm = await runCli(['rm', '-r', `s3://${b.name}/c/`])
    expect(rm.code).toBe(0)
    expect(await b.list('c/')).toEqual([])
    const missing = await runCli(['head', `s3://${b.name}/c/none`])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/NoSuchKey/)
  })

  it('makes and removes buckets (rb refuses a bucket with objects unless --force)', async () => {
    const name = bucketName('cli-mb')
    const mb = await runCli(['mb', `s3://${name}`])
    expect(mb.code, mb.stderr).toBe(0)
    expect(mb.stdout).toBe(`make_bucket: ${name}\n`)
    const b = new Bucket(name, s3Options())
    await b.put('x', 'x.txt', { literal: true })
    const rb = await runCli(['rb', `s3://${name}`])
    expect(rb.code).toBe(1)
    expect(rb.stderr).toMatch(/BucketNotEmpty.*rb --force/)
    const dry = await runCli(['rb', '--force', '--dry-run', `s3://${name}`])
    expect(dry.stdout).toBe(`(dryrun) delete: s3://${name}/x.txt\n(dryrun) remove_bucket: ${name}\n`)
    expect(await b.exists('x.txt')).toBe(true)
    const force = await runCli(['rb', '--force', `s3://${name}`])
    expect(force.code, force.stderr).toBe(0)
    expect((await runCli(['ls', `s3://${name}`])).stderr).toMatch(/NoSuchBucket/)
  })
})

describe('bucketflow CLI errors by S3 code (embedded server)', () => {
  let server: LocalS3
  beforeAll(async () => {
    server = await startLocalS3()
  })
  afterAll(async () => {
    await server?.close()
  })

  it('says an archived object must be restored (InvalidObjectState), not "Access denied"', async () => {
    const b = await Bucket.create('archive', { endpoint: server.endpoint, region: server.region, credentials: server.credentials })
    await b.put('old bytes', 'old.txt', { literal: true })
    await b.put('new bytes', 'new.txt', { literal: true })
    await b.freeze('old.txt', 'DEEP_ARCHIVE')
    // Seen: "Access denied" (every 403 was AccessDenied).
    const cat = await runCli(['--endpoint', server.endpoint, 'cat', 's3://archive/old.txt'])
    expect(cat.code).toBe(1)
    expect(cat.stderr).toMatch(/InvalidObjectState/)
    expect(cat.stderr).toMatch(/bucketflow restore s3:\/\/archive\/old.txt/)
    expect(cat.stderr).not.toMatch(/Access denied/)
    const json = await runCli(['--json', '--endpoint', server.endpoint, 'get', 's3://archive/old.txt', '-'])
    expect(jsonLines(json.stdout)).toEqual([{ ok: false, error: expect.objectContaining({ code: 'InvalidObjectState', bucket: 'archive', key: 'old.txt' }) }])
    const restore = await runCli(['--endpoint', server.endpoint, 'restore', 's3://archive/new.txt'])
    expect(restore.code).toBe(1)
    expect(restore.stderr).toMatch(/InvalidObjectState|not archived/)
    expect(restore.stderr).not.toMatch(/Access denied/)
  })
})

describe('bucketflow CLI as a process: pipes and signals', () => {
  const bucket = useBucket('cli-proc')
  const s3 = inject('s3')

  /** Spawn the CLI; resolve with its exit once it ends. */
  function start(args: string[], env: Record<string, string> = {}) {
    const child = spawn(process.execPath, ['--import', 'tsx', cliMain, ...args], {
      env: {
        ...process.env,
        AWS_ENDPOINT_URL_S3: s3.endpoint,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        AWS_REGION: s3.region,
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    // Writing to a child that has gone is no failure of the test.
    child.stdin.on('error', () => undefined)
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal, stderr })),
    )
    return { child, exit }
  }

  async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
    for (let i = 0; i < 2400; i++) {
      if (await condition()) return
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`timed out waiting for ${what}`)
  }

  it('ends quietly with exit 0 when its stdout is closed (ls -r | head -1, cat | head -c 100)', async () => {
    const b = bucket()
    // 120 lines of ~1 KiB do not fit in a pipe's buffer (64 KiB): the listing writes on after
    // the reader left.
    const keys = Array.from({ length: 120 }, (_, i) => `many/${String(i).padStart(5, '0')}-${'x'.repeat(900)}`)
    await b.put(
      keys.map(() => null),
      keys,
      { concurrency: 32 },
    )
    await b.put(Buffer.alloc(2 << 20, 7), 'big.bin')
    for (const args of [
      ['ls', '-r', `s3://${b.name}/`],
      ['cat', `s3://${b.name}/big.bin`],
    ]) {
      const { child, exit } = start(args)
      // Read the first chunk, then close the pipe, as `head` does.
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))
      child.stdout.destroy()
      const r = await exit
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(0)
      expect(r.stderr, args[0]).not.toMatch(/EPIPE|Error|at /)
    }
  })

  it('SIGINT during put aborts the multipart upload on the server, prints one line and exits 130', async () => {
    const b = bucket()
    const proxy = await FaultProxy.start(s3.endpoint)
    try {
      // Parts stall at the server: the upload is surely in flight when the signal comes.
      proxy.addRule({ match: (r) => r.op === 'UploadPart', delayMs: 120_000 })
      const dir = await temp('sigint-put')
      // Over 16 MiB, a file is uploaded in parts.
      await writeFile(join(dir, 'big.bin'), Buffer.alloc(20 << 20, 1))
      const { child, exit } = start(['--endpoint', proxy.url, 'put', join(dir, 'big.bin'), `s3://${b.name}/sig/big.bin`])
      await until(() => proxy.count('UploadPart') > 0, 'an UploadPart request')
      child.kill('SIGINT')
      const r = await exit
      expect(r.code, r.stderr).toBe(130)
      const lines = r.stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(
        /^interrupted by SIGINT: upload to s3:\/\/\S+\/sig\/big\.bin stopped, 0 of 1 done; multipart uploads in flight were aborted on the server$/,
      )
      expect(proxy.count('AbortMultipartUpload')).toBe(1)
      expect(await b.listUploads({ prefix: 'sig/' })).toEqual([])
      expect(await b.exists('sig/big.bin')).toBe(false)
    } finally {
      await proxy.close()
    }
  })

  it('SIGTERM during put - (stdin) aborts the multipart upload and exits 143', async () => {
    const b = bucket()
    const proxy = await FaultProxy.start(s3.endpoint)
    try {
      proxy.addRule({ match: (r) => r.op === 'UploadPart', delayMs: 120_000 })
      const { child, exit } = start(['--endpoint', proxy.url, 'put', '-', `s3://${b.name}/sig/stdin.bin`])
      // Over one part (8 MiB), a stream is uploaded in parts.
      child.stdin.write(Buffer.alloc(10 << 20, 2))
      await until(() => proxy.count('UploadPart') > 0, 'an UploadPart request')
      child.kill('SIGTERM')
      const r = await exit
      expect(r.code, r.stderr).toBe(143)
      expect(r.stderr).toMatch(
        /^interrupted by SIGTERM: upload of stdin to s3:\/\/\S+\/sig\/stdin\.bin stopped, 0 of 1 done; the multipart upload was aborted on the server\n$/,
      )
      expect(await b.listUploads({ prefix: 'sig/' })).toEqual([])
    } finally {
      await proxy.close()
    }
  })

  it('SIGINT during get removes the partial file', async () => {
    const b = bucket()
    // Over 8 MiB, a download is written to its partial file as it arrives.
    await b.put(Buffer.alloc(12 << 20, 3), 'sig/download.bin')
    const proxy = await FaultProxy.start(s3.endpoint)
    try {
      // The body stops halfway: a partial file is on disk when the signal comes.
      proxy.addRule({ match: (r) => r.op === 'GetObject', fault: 'stall-body' })
      const dir = await temp('sigint-get')
      const { child, exit } = start(['--endpoint', proxy.url, 'get', `s3://${b.name}/sig/download.bin`, `${dir}/`])
      await until(async () => (await readdir(dir)).some((f) => f.includes('bucketflow-partial')), 'the partial file')
      child.kill('SIGINT')
      const r = await exit
      expect(r.code, r.stderr).toBe(130)
      expect(r.stderr).toMatch(/^interrupted by SIGINT: download of s3:\/\/\S+ stopped, 0 of 1 done; partial files were removed\n$/)
      expect(await readdir(dir)).toEqual([])
    } finally {
      await proxy.close()
    }
  })
})

describe('bucketflow index', () => {
  const bucket = useBucket('cli-index')

  it('writes a Parquet index DuckDB reads, with a progress bar on a TTY', async () => {
    const b = bucket()
    const keys = Array.from({ length: 1200 }, (_, i) => `${['a', 'b', 'é', '😀'][i % 4]}/${String(i).padStart(5, '0')}`)
    const put = await b.put(
      keys.map(() => null),
      keys,
      { concurrency: 32 },
    )
    expect(put.every((r) => r.ok)).toBe(true)
    const dir = await temp('index')
    const out = join(dir, 'index.parquet')
    // `script` gives the command a pseudo-terminal, as a person's shell would.
    const command = `${process.execPath} --import tsx ${cliMain} -c 8 index s3://${b.name} ${out}`
    const run = await runScript('/usr/bin/script', ['-qec', command, '/dev/null'], { direct: true })
    expect(run.code, run.stderr + run.stdout).toBe(0)
    expect(run.stdout).toMatch(/\d+\/\d+ ranges \| \d+ keys/)
    expect(run.stdout).toMatch(/index s3:\/\/\S+ -> .*index\.parquet: 1200 rows/)
    const { DuckDBInstance } = await import('@duckdb/node-api')
    const db = await (await DuckDBInstance.create(':memory:')).connect()
    const rows = (await db.runAndReadAll(`select count(*)::INTEGER, min(Key), typeof(any_value(Size)) from '${out}'`)).getRows()
    expect(rows).toEqual([[1200, 'a/00000', 'BIGINT']])
    // Without a TTY: no bar, just the summary.
    const plain = await cli(['index', `s3://${b.name}`, join(dir, 'plain.parquet')])
    expect(plain.code).toBe(0)
    expect(plain.stderr).not.toMatch(/ranges \|/)
    expect(plain.stderr).toMatch(/1200 keys in/)
  })

  it('writes a valid 0-row file for an empty prefix, fails cleanly for a missing bucket, and puts a folder destination at <folder>/<bucket>.parquet', async () => {
    const b = bucket()
    const dir = await temp('index-edges')
    // Seen: "Dyn casting error".
    const empty = await runCli(['index', `s3://${b.name}/nothing/`, join(dir, 'empty.parquet')])
    expect(empty.code, empty.stderr).toBe(0)
    const { DuckDBInstance } = await import('@duckdb/node-api')
    const db = await (await DuckDBInstance.create(':memory:')).connect()
    const described = (await db.runAndReadAll(`select column_name, column_type from (describe select * from '${join(dir, 'empty.parquet')}')`)).getRows()
    expect(described.map((r) => r[0])).toEqual(['Key', 'LastModified', 'ETag', 'Size', 'StorageClass'])
    expect((await db.runAndReadAll(`select count(*)::INTEGER from '${join(dir, 'empty.parquet')}'`)).getRows()).toEqual([[0]])
    // Seen: a 60-line "Unhandled 'error' event" and .partial files left behind.
    const missing = await runCli(['index', `s3://${bucketName('missing')}`, join(dir, 'missing', 'm.parquet')])
    expect(missing.code).toBe(1)
    expect(missing.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error \(NoSuchBucket\): Bucket \S+ does not exist$/)])
    expect(await readdir(join(dir, 'missing')).catch(() => [])).toEqual([])
    await b.put('x', 'k.txt', { literal: true })
    await mkdir(join(dir, 'folder'))
    const folder = await runCli(['index', `s3://${b.name}`, join(dir, 'folder')])
    expect(folder.code, folder.stderr).toBe(0)
    expect(await readdir(join(dir, 'folder'))).toEqual([`${b.name}.parquet`])
    const s3dest = await runCli(['index', `s3://${b.name}`, `s3://${b.name}/indexes/`])
    expect(s3dest.code, s3dest.stderr).toBe(0)
    expect(await b.exists(`indexes/${b.name}.parquet`)).toBe(true)
  })
})
