/**
 * Differential tests: the same command lines through `aws s3` (aws-cli 2.9, Debian's awscli)
 * and through `bucketflow`, against the run's radosgw, each tool in a bucket of its own seeded
 * alike; then the resulting bucket contents (keys, sizes, ETags), local trees (paths, sizes,
 * SHA-1, links) and the operations each printed (`upload: a to s3://b/a`, `(dryrun) ...`) are
 * compared. Where bucketflow deliberately differs, the scenario says so in `difference`, and the
 * README's CLI section explains why.
 *
 * aws-cli starts in ~1 s, so its command lines run in one Python process (aws_batch.py), and
 * bucketflow's run in this process through `run(args, io)`, both at once.
 */
import { createHash } from 'node:crypto'
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { Bucket } from '../../src/index.js'
import { runCli, useS3Env } from '../support/cli.js'
import { bucketName, s3Options } from '../support/s3.js'
import { awsBatch, ensureAwsCli, type AwsRun } from './aws.js'
import { buildTree } from './tree.js'

/** Placeholders in a scenario's command line, one set per tool. */
interface Paths {
  /** The tool's bucket. */
  B: string
  /** The shared read-only local tree. */
  T: string
  /** The tool's local working folder. */
  L: string
  /** A bucket name for mb (not created yet). */
  MB: string
  /** A non-empty bucket for plain rb (which must fail). */
  RB: string
  /** A non-empty bucket for rb --force. */
  RBF: string
}

interface Scenario {
  /** The S3 prefix `${id}/` and local folder `L/${id}` this scenario works in. */
  id: string
  title: string
  /** The command line, the same for both tools (after `aws s3` / `bucketflow`). */
  argv: (p: Paths) => string[]
  /** bucketflow's own verb for the same thing, when the scenario tests it. */
  bfArgv?: (p: Paths) => string[]
  stdin?: string
  /** Seed the tool's bucket with the small tree under `${id}/` first. */
  seed?: boolean
  /** Prepare the tool's local folder `L/${id}` first. */
  local?: (dir: Paths & { dir: string }) => Promise<void>
  /** What to compare besides the exit code. */
  compare: ('bucket' | 'local' | 'ops' | 'stdout' | 'ls')[]
  /** Exit codes, when they differ from tool to tool (a documented difference). */
  codes?: { aws: number; bf: number }
  /** The deliberate difference from aws-cli this scenario shows, if any. */
  difference?: string
  /** Assertions on bucketflow's outcome (so that agreement is not agreement on nothing). */
  check?: (o: Outcome) => void
}

interface Outcome {
  code: number
  stdout: string
  stderr: string
  /** Keys under `${id}/`, relative to it: size and ETag. */
  keys: Record<string, string>
  /** Files and links under the local folder (not folders): size and SHA-1, or the link's target. */
  local: Record<string, string>
  /** The operations printed, normalized: `upload: {T}/doc/a to s3://{B}/u1/a`. */
  ops: string[]
  /** Keys an `ls` printed, full keys. */
  listed: string[]
}

const MINI: Record<string, string> = {
  'logs/a.txt': 'log a\n',
  'logs/sub/b.txt': 'log b\n',
  'logs/': '',
  'logs-2019/keep.txt': 'keep\n',
  'logsbook.txt': 'book\n',
  'doc/awkward/a b.txt': 'space\n',
  'doc/awkward/#hash.txt': 'hash\n',
  'doc/awkward/100%.txt': 'percent\n',
  'doc/awkward/plus+sign.txt': 'plus\n',
  'doc/awkward/what?.txt': 'question\n',
  'doc/awkward/and&more.txt': 'ampersand\n',
  'doc/awkward/日本語.txt': 'japanese\n',
  'doc/awkward/café/menu.html': '<p>menu</p>\n',
  'doc/readme.gz': 'not really gzip\n',
}

const has = (o: Outcome, key: string) => expect(Object.keys(o.keys), `keys of bucketflow`).toContain(key)
const hasNot = (o: Outcome, key: string) => expect(Object.keys(o.keys)).not.toContain(key)

const SCENARIOS: Scenario[] = [
  // Uploads
  {
    id: 'u1',
    title: 'cp -r of a folder (no trailing slashes): symlinks followed, dangling links skipped, unicode, empty folders',
    argv: (p) => ['cp', '--recursive', `${p.T}/doc`, `s3://${p.B}/u1`],
    compare: ['bucket', 'ops'],
    codes: { aws: 2, bf: 1 },
    difference: 'a dangling link fails its own item: exit 1 (aws warns, skips it and exits 2; bucketflow keeps 2 for usage errors)',
    check: (o) => {
      has(o, 'awkward/日本語.txt')
      has(o, 'awkward/what?.txt')
      has(o, 'awkward/link-to-folder/menu.html')
      has(o, 'g++/copyright')
      hasNot(o, 'awkward/dangling.txt')
      expect(Object.keys(o.keys).some((k) => k.includes('//') || k.startsWith('doc/'))).toBe(false)
    },
  },
  {
    id: 'u2',
    title: 'cp -r of a folder with trailing slashes on both sides',
    argv: (p) => ['cp', '--recursive', `${p.T}/doc/`, `s3://${p.B}/u2/`],
    compare: ['bucket', 'ops'],
    codes: { aws: 2, bf: 1 },
    difference: 'dangling links: exit 1, not 2 (as u1)',
    check: (o) => has(o, 'awkward/café/menu.html'),
  },
  {
    id: 'u3',
    title: 'cp -r --no-follow-symlinks skips every link',
    argv: (p) => ['cp', '--recursive', `${p.T}/doc`, `s3://${p.B}/u3`, '--no-follow-symlinks'],
    compare: ['bucket', 'ops'],
    check: (o) => {
      has(o, 'awkward/a b.txt')
      hasNot(o, 'awkward/link-to-file.txt')
      hasNot(o, 'g++/copyright')
    },
  },
  {
    id: 'u4',
    title: 'cp -r --exclude "*" --include "*.html": later filters win',
    argv: (p) => ['cp', '--recursive', `${p.T}/doc`, `s3://${p.B}/u4`, '--exclude', '*', '--include', '*.html'],
    compare: ['bucket', 'ops'],
    codes: { aws: 2, bf: 0 },
    difference: 'paths a filter leaves out are not looked at: an excluded dangling link is no warning (aws warns and exits 2)',
    check: (o) => {
      has(o, 'awkward/café/menu.html')
      expect(Object.keys(o.keys).every((k) => k.endsWith('.html'))).toBe(true)
    },
  },
  {
    id: 'u5',
    title: 'cp -r with two excludes and a later include that takes some back',
    argv: (p) => ['cp', '--recursive', `${p.T}/doc`, `s3://${p.B}/u5`, '--exclude', 'python3/*', '--exclude', '*.gz', '--include', 'perl/*'],
    compare: ['bucket', 'ops'],
    codes: { aws: 2, bf: 1 },
    difference: 'dangling links: exit 1, not 2 (as u1)',
    check: (o) => {
      hasNot(o, 'python3/index.html')
      expect(Object.keys(o.keys).some((k) => k.startsWith('perl/') && k.endsWith('.gz'))).toBe(true)
      expect(Object.keys(o.keys).some((k) => !k.startsWith('perl/') && k.endsWith('.gz'))).toBe(false)
    },
  },
  {
    id: 'u6',
    title: 'cp -r --include then --exclude: the exclude wins',
    argv: (p) => ['cp', '--recursive', `${p.T}/doc`, `s3://${p.B}/u6`, '--include', '*.txt', '--exclude', 'awkward/*'],
    compare: ['bucket', 'ops'],
    codes: { aws: 2, bf: 1 },
    difference: 'dangling links: exit 1, not 2 (as u1)',
    check: (o) => {
      hasNot(o, 'awkward/a b.txt')
      has(o, 'gzip/copyright')
    },
  },
  {
    id: 'u7',
    title: 'cp of one file to a prefix/ keeps its name',
    argv: (p) => ['cp', `${p.T}/doc/awkward/a b.txt`, `s3://${p.B}/u7/`],
    compare: ['bucket', 'ops'],
    check: (o) => expect(Object.keys(o.keys)).toEqual(['a b.txt']),
  },
  {
    id: 'u8',
    title: 'cp of one file to a new name',
    argv: (p) => ['cp', `${p.T}/doc/awkward/#hash.txt`, `s3://${p.B}/u8/new name.txt`],
    compare: ['bucket', 'ops'],
    check: (o) => expect(Object.keys(o.keys)).toEqual(['new name.txt']),
  },
  {
    id: 'u9',
    title: 'cp of one file to s3://b/name (no slash) takes that name',
    argv: (p) => ['cp', `${p.T}/doc/awkward/100%.txt`, `s3://${p.B}/u9/x`],
    compare: ['bucket', 'ops'],
    check: (o) => expect(Object.keys(o.keys)).toEqual(['x']),
  },
  {
    id: 'u10',
    title: 'cp -r --dryrun uploads nothing and names every upload',
    argv: (p) => ['cp', '--recursive', '--dryrun', `${p.T}/logs`, `s3://${p.B}/u10`],
    compare: ['bucket', 'ops'],
    check: (o) => {
      expect(o.keys).toEqual({})
      expect(o.ops).toHaveLength(2)
    },
  },
  {
    id: 'u11',
    title: 'mv -r of a local folder uploads and removes the files',
    argv: (p) => ['mv', '--recursive', `${p.L}/u11/src`, `s3://${p.B}/u11`],
    local: async ({ dir, T }) => {
      await mkdir(dir, { recursive: true })
      await cp(join(T, 'logs'), join(dir, 'src'), { recursive: true })
    },
    compare: ['bucket', 'local', 'ops'],
    check: (o) => {
      has(o, 'sub/b.txt')
      expect(o.local).toEqual({})
    },
  },
  {
    id: 'u12',
    title: 'bucketflow put follows the same rules as aws s3 cp -r',
    argv: (p) => ['cp', '--recursive', `${p.T}/doc/awkward`, `s3://${p.B}/u12`],
    bfArgv: (p) => ['put', `${p.T}/doc/awkward`, `s3://${p.B}/u12`],
    compare: ['bucket', 'ops'],
    codes: { aws: 2, bf: 1 },
    difference: 'dangling links: exit 1, not 2 (as u1)',
    check: (o) => has(o, 'emoji😀.txt'),
  },
  {
    id: 'u13',
    title: 'cp - (stdin) to a key',
    argv: (p) => ['cp', '-', `s3://${p.B}/u13/from stdin.txt`],
    stdin: 'piped bytes\n',
    compare: ['bucket'],
    check: (o) => expect(Object.keys(o.keys)).toEqual(['from stdin.txt']),
  },
  // Downloads
  {
    id: 'd1',
    title: 'cp -r of a folder to a local folder: folder markers skipped, unicode and #%+?& names',
    argv: (p) => ['cp', '--recursive', `s3://${p.B}/seed/doc`, `${p.L}/d1`],
    compare: ['local', 'ops'],
    check: (o) => {
      expect(Object.keys(o.local)).toContain('awkward/emoji😀.txt')
      expect(Object.keys(o.local)).toContain('awkward/what?.txt')
      expect(Object.keys(o.local).some((k) => k.startsWith('marker-folder'))).toBe(false)
    },
  },
  {
    id: 'd2',
    title: 'cp -r with trailing slashes on both sides',
    argv: (p) => ['cp', '--recursive', `s3://${p.B}/seed/doc/`, `${p.L}/d2/`],
    compare: ['local', 'ops'],
    check: (o) => expect(Object.keys(o.local)).toContain('adduser/copyright'),
  },
  {
    id: 'd3',
    title: 'cp -r s3://b/seed/logs means the folder logs/, not logs-2019/ nor logsbook.txt',
    argv: (p) => ['cp', '--recursive', `s3://${p.B}/seed/logs`, `${p.L}/d3`],
    compare: ['local', 'ops'],
    check: (o) => expect(Object.keys(o.local).sort()).toEqual(['a.txt', 'sub/b.txt']),
  },
  {
    id: 'd4',
    title: 'cp -r --exclude "*" --include "awkward/*"',
    argv: (p) => ['cp', '--recursive', `s3://${p.B}/seed/doc`, `${p.L}/d4`, '--exclude', '*', '--include', 'awkward/*'],
    compare: ['local', 'ops'],
    check: (o) => expect(Object.keys(o.local)).toContain('awkward/café/menu.html'),
  },
  {
    id: 'd5',
    title: 'cp of one object to dir/ (missing) keeps its name',
    argv: (p) => ['cp', `s3://${p.B}/seed/doc/awkward/ünïcödé.txt`, `${p.L}/d5/new/`],
    compare: ['local', 'ops'],
    check: (o) => expect(Object.keys(o.local)).toContain('new/ünïcödé.txt'),
  },
  {
    id: 'd6',
    title: 'cp of one object into an existing folder keeps its name',
    argv: (p) => ['cp', `s3://${p.B}/seed/logsbook.txt`, `${p.L}/d6/existing`],
    local: async ({ dir }) => void (await mkdir(join(dir, 'existing'), { recursive: true })),
    compare: ['local', 'ops'],
    check: (o) => expect(Object.keys(o.local)).toContain('existing/logsbook.txt'),
  },
  {
    id: 'd7',
    title: 'cp of one object to a new name',
    argv: (p) => ['cp', `s3://${p.B}/seed/logsbook.txt`, `${p.L}/d7/renamed.txt`],
    compare: ['local', 'ops'],
    check: (o) => expect(Object.keys(o.local)).toEqual(['renamed.txt']),
  },
  {
    id: 'd8',
    title: 'cp -r of keys with ../, /./ and // segments never writes outside the folder',
    argv: (p) => ['cp', '--recursive', `s3://${p.B}/trap`, `${p.L}/d8/inner`],
    compare: ['local', 'ops'],
    codes: { aws: 2, bf: 1 },
    difference: 'a key that would land outside the folder fails its own item: exit 1 (aws skips it with a warning, exit 2)',
    check: (o) => {
      expect(Object.keys(o.local).sort()).toEqual(['inner/b.txt', 'inner/dbl.txt', 'inner/ok.txt'])
      expect(o.stderr).toMatch(/outside the destination folder/)
    },
  },
  {
    id: 'd9',
    title: 'cp -r --dryrun downloads nothing and names every download',
    argv: (p) => ['cp', '--recursive', '--dryrun', `s3://${p.B}/seed/logs`, `${p.L}/d9`],
    compare: ['local', 'ops'],
    check: (o) => {
      expect(o.local).toEqual({})
      expect(o.ops).toHaveLength(2)
    },
  },
  {
    id: 'd10',
    title: 'bucketflow get -r s3://b/doc/adduser (no slash) downloads the folder, as aws s3 cp -r',
    argv: (p) => ['cp', '--recursive', `s3://${p.B}/seed/doc/adduser`, `${p.L}/d10`],
    bfArgv: (p) => ['get', '-r', `s3://${p.B}/seed/doc/adduser`, `${p.L}/d10`],
    compare: ['local', 'ops'],
    check: (o) => expect(Object.keys(o.local)).toContain('copyright'),
  },
  {
    id: 'd11',
    title: 'mv -r of a folder to a local folder downloads and deletes the objects',
    argv: (p) => ['mv', '--recursive', `s3://${p.B}/d11/logs`, `${p.L}/d11`],
    seed: true,
    compare: ['local', 'bucket', 'ops'],
    check: (o) => {
      hasNot(o, 'logs/a.txt')
      has(o, 'logs-2019/keep.txt')
      has(o, 'logs/')
    },
  },
  {
    id: 'd12',
    title: 'cp of one object to - (stdout)',
    argv: (p) => ['cp', `s3://${p.B}/seed/doc/awkward/日本語.txt`, '-'],
    compare: ['stdout'],
    check: (o) => expect(o.stdout).toBe('japanese\n'),
  },
  // Copies
  {
    id: 'c1',
    title: 'cp -r s3://b/doc/adduser s3://b/c1: keys under c1/, never c1//',
    argv: (p) => ['cp', '--recursive', `s3://${p.B}/seed/doc/adduser`, `s3://${p.B}/c1`],
    compare: ['bucket', 'ops'],
    check: (o) => {
      has(o, 'copyright')
      expect(Object.keys(o.keys).some((k) => k.startsWith('/'))).toBe(false)
    },
  },
  {
    id: 'c2',
    title: 'cp -r with trailing slashes and --exclude "*.gz"',
    argv: (p) => ['cp', '--recursive', `s3://${p.B}/seed/doc/`, `s3://${p.B}/c2/`, '--exclude', '*.gz'],
    compare: ['bucket', 'ops'],
    check: (o) => {
      has(o, 'awkward/and&more.txt')
      expect(Object.keys(o.keys).some((k) => k.endsWith('.gz'))).toBe(false)
    },
  },
  {
    id: 'c3',
    title: 'cp of one object to a prefix/ keeps its name',
    argv: (p) => ['cp', `s3://${p.B}/seed/logsbook.txt`, `s3://${p.B}/c3/`],
    compare: ['bucket', 'ops'],
    check: (o) => expect(Object.keys(o.keys)).toEqual(['logsbook.txt']),
  },
  {
    id: 'c4',
    title: 'cp of one object to a new key',
    argv: (p) => ['cp', `s3://${p.B}/seed/logsbook.txt`, `s3://${p.B}/c4/renamed`],
    compare: ['bucket', 'ops'],
    check: (o) => expect(Object.keys(o.keys)).toEqual(['renamed']),
  },
  {
    id: 'c5',
    title: 'mv -r within the bucket moves logs/ only',
    argv: (p) => ['mv', '--recursive', `s3://${p.B}/c5/logs`, `s3://${p.B}/c5/moved`],
    seed: true,
    compare: ['bucket', 'ops'],
    check: (o) => {
      has(o, 'moved/sub/b.txt')
      has(o, 'logs-2019/keep.txt')
      hasNot(o, 'logs/a.txt')
    },
  },
  {
    id: 'c6',
    title: 'mv -r --dryrun changes nothing',
    argv: (p) => ['mv', '--recursive', '--dryrun', `s3://${p.B}/c6/doc/awkward`, `s3://${p.B}/c6/elsewhere`],
    seed: true,
    compare: ['bucket', 'ops'],
    check: (o) => {
      has(o, 'doc/awkward/日本語.txt')
      expect(o.ops.length).toBeGreaterThan(5)
    },
  },
  // Removes
  {
    id: 'r1',
    title: 'rm -r s3://b/r1/logs deletes logs/ (folder marker included), not logs-2019/ nor logsbook.txt',
    argv: (p) => ['rm', '--recursive', `s3://${p.B}/r1/logs`],
    seed: true,
    compare: ['bucket', 'ops'],
    check: (o) => {
      has(o, 'logs-2019/keep.txt')
      has(o, 'logsbook.txt')
      hasNot(o, 'logs/a.txt')
      hasNot(o, 'logs/')
    },
  },
  {
    id: 'r2',
    title: 'rm -r with a trailing slash and --exclude "*.txt"',
    argv: (p) => ['rm', '--recursive', `s3://${p.B}/r2/logs/`, '--exclude', '*.txt'],
    seed: true,
    compare: ['bucket', 'ops'],
    check: (o) => {
      has(o, 'logs/a.txt')
      hasNot(o, 'logs/')
    },
  },
  {
    id: 'r3',
    title: 'rm -r --dryrun deletes nothing',
    argv: (p) => ['rm', '--recursive', '--dryrun', `s3://${p.B}/r3/logs`],
    seed: true,
    compare: ['bucket', 'ops'],
    check: (o) => {
      has(o, 'logs/a.txt')
      expect(o.ops).toHaveLength(3)
    },
  },
  {
    id: 'r4',
    title: 'rm -r --exclude "*" --include "doc/awkward/*" with unicode and #%+?& keys',
    argv: (p) => ['rm', '--recursive', `s3://${p.B}/r4`, '--exclude', '*', '--include', 'doc/awkward/*'],
    seed: true,
    compare: ['bucket', 'ops'],
    check: (o) => {
      hasNot(o, 'doc/awkward/what?.txt')
      has(o, 'doc/readme.gz')
    },
  },
  {
    id: 'r5',
    title: 'rm of one key',
    argv: (p) => ['rm', `s3://${p.B}/r5/logsbook.txt`],
    seed: true,
    compare: ['bucket', 'ops'],
    check: (o) => hasNot(o, 'logsbook.txt'),
  },
  {
    id: 'r6',
    title: 'rm s3://b/r6/logs/ without --recursive',
    argv: (p) => ['rm', `s3://${p.B}/r6/logs/`],
    seed: true,
    compare: [],
    codes: { aws: 0, bf: 2 },
    difference:
      'a URL ending in / names a folder: bucketflow asks for --recursive (aws deletes the one object "logs/", usually a no-op that looks like success)',
    check: (o) => {
      has(o, 'logs/')
      expect(o.stderr).toMatch(/--recursive/)
    },
  },
  // Listings
  {
    id: 'l1',
    title: 'ls --recursive s3://b/seed/logs is a plain prefix listing (logs-2019/ and logsbook.txt too)',
    argv: (p) => ['ls', '--recursive', `s3://${p.B}/seed/logs`],
    compare: ['ls'],
    check: (o) => expect(o.listed).toContain('seed/logs-2019/keep.txt'),
  },
  {
    id: 'l2',
    title: 'ls of a folder: one level, prefixes and objects (the marker too)',
    argv: (p) => ['ls', `s3://${p.B}/seed/logs/`],
    compare: ['ls'],
    check: (o) => expect(o.listed).toEqual(expect.arrayContaining(['seed/logs/sub/', 'seed/logs/a.txt'])),
  },
  {
    id: 'l3',
    title: 'ls of unicode and #%+?& keys',
    argv: (p) => ['ls', `s3://${p.B}/seed/doc/awkward/`],
    compare: ['ls'],
    check: (o) => expect(o.listed).toContain('seed/doc/awkward/emoji😀.txt'),
  },
  {
    id: 'l4',
    title: 'ls that finds nothing exits 1',
    argv: (p) => ['ls', `s3://${p.B}/seed/nothing/`],
    compare: ['ls'],
    check: (o) => expect(o.code).toBe(1),
  },
  // Buckets
  {
    id: 'b1',
    title: 'mb makes a bucket',
    argv: (p) => ['mb', `s3://${p.MB}`],
    compare: ['ops'],
  },
  {
    id: 'b2',
    title: 'rb of a bucket that is not empty fails',
    argv: (p) => ['rb', `s3://${p.RB}`],
    compare: [],
    check: (o) => expect(o.stderr).toMatch(/BucketNotEmpty/),
  },
  {
    id: 'b3',
    title: 'rb --force deletes the objects, then the bucket',
    argv: (p) => ['rb', '--force', `s3://${p.RBF}`],
    compare: ['ops'],
    check: (o) => expect(o.ops).toContain('remove_bucket: {RBF}'),
  },
]

const s3 = inject('s3')

async function snapshotLocal(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  async function walk(dir: string, rel: string): Promise<void> {
    let entries
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      const path = join(dir, e.name)
      const r = rel ? `${rel}/${e.name}` : e.name
      const info = await lstat(path)
      if (info.isSymbolicLink()) out[r] = `-> ${await readlink(path)}`
      else if (info.isDirectory()) await walk(path, r)
      else
        out[r] = `${info.size} ${createHash('sha1')
          .update(await readFile(path))
          .digest('hex')}`
    }
  }
  await walk(root, '')
  return out
}

const OP = /^(?:\(dryrun\) )?(upload|download|copy|move|delete|make_bucket|remove_bucket): /

/** The operation lines of a tool's stdout, with its bucket, paths and names made neutral. */
function opsOf(stdout: string, p: Paths, cwd: string): string[] {
  const lines = stdout.split(/[\r\n]+/).map((l) => l.trim())
  const replace = (s: string): string => {
    let v = s
    if (!v.startsWith('s3://') && v !== '-' && !v.startsWith('{')) v = resolve(cwd, v)
    v = v.split(p.T).join('{T}').split(p.L).join('{L}')
    for (const name of ['B', 'MB', 'RB', 'RBF'] as const) v = v.split(`s3://${p[name]}/`).join(`s3://{${name}}/`)
    return v
  }
  const ops: string[] = []
  for (const line of lines) {
    const m = OP.exec(line)
    if (!m) continue
    const dry = line.startsWith('(dryrun) ') ? '(dryrun) ' : ''
    const rest = line.slice(m[0].length)
    if (m[1] === 'make_bucket' || m[1] === 'remove_bucket') {
      const named = rest === p.MB ? '{MB}' : rest === p.RB ? '{RB}' : rest === p.RBF ? '{RBF}' : rest
      ops.push(`${dry}${m[1]}: ${named}`)
      continue
    }
    const [src, dst] = rest.split(' to ') as [string, string | undefined]
    ops.push(`${dry}${m[1]}: ${replace(src)}${dst === undefined ? '' : ` to ${replace(dst)}`}`)
  }
  return ops.sort()
}

/** Full keys an `ls` printed (aws prints names relative to the listed folder without --recursive). */
function listedOf(stdout: string, argv: string[], tool: 'aws' | 'bf'): string[] {
  const url = argv.at(-1)!
  const prefix = url.replace(/^s3:\/\/[^/]+\/?/, '')
  const folder = prefix.slice(0, prefix.lastIndexOf('/') + 1)
  const recursive = argv.includes('--recursive')
  const keys: string[] = []
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue
    const pre = /^\s+PRE (.*)$/.exec(line)
    let key: string | undefined
    if (pre) key = pre[1]!
    else if (tool === 'aws') key = /^\S+ \S+\s+\d+ (.*)$/.exec(line)?.[1]
    else {
      // `<time> <size> <class padded to 12> <key>`
      const m = /^\S+ +\d+ (\S+)(.*)$/s.exec(line)
      if (m) key = m[2]!.slice(Math.max(0, 12 - m[1]!.length) + 1)
    }
    if (key === undefined) continue
    keys.push(tool === 'aws' && !recursive ? folder + key : key)
  }
  return keys.sort()
}

describe("bucketflow against aws-cli (differential, aws-cli from Debian's awscli)", () => {
  let work: string
  let awsVersion = ''
  const outcomes: Record<'aws' | 'bf', Record<string, Outcome>> = { aws: {}, bf: {} }
  const buckets: Bucket[] = []
  const extraBuckets: string[] = []

  beforeAll(async () => {
    const started = Date.now()
    useS3Env()
    awsVersion = await ensureAwsCli()
    work = await mkdtemp(join(tmpdir(), 'bf-conformance-'))
    const tree = await buildTree(join(work, 'tree'))
    const paths: Record<'aws' | 'bf', Paths> = {
      aws: {
        B: bucketName('conf-aws'),
        T: tree,
        L: join(work, 'aws'),
        MB: bucketName('conf-mb-aws'),
        RB: bucketName('conf-rb-aws'),
        RBF: bucketName('conf-rbf-aws'),
      },
      bf: {
        B: bucketName('conf-bf'),
        T: tree,
        L: join(work, 'bf'),
        MB: bucketName('conf-mb-bf'),
        RB: bucketName('conf-rb-bf'),
        RBF: bucketName('conf-rbf-bf'),
      },
    }
    for (const tool of ['aws', 'bf'] as const) {
      const p = paths[tool]
      extraBuckets.push(p.MB, p.RB, p.RBF)
      const b = await Bucket.create(p.B, s3Options({ concurrency: 16 }))
      buckets.push(b)
      for (const name of [p.RB, p.RBF]) await (await Bucket.create(name, s3Options())).put('x', 'keep.txt', { literal: true })
      // The seed: the tree as uploaded by a library folder upload, folder markers, and a trap
      // of keys with ../, /./ and // segments.
      const seeded = await b.put(tree, 'seed/')
      expect(seeded.filter((r) => r.ok).length).toBeGreaterThan(60)
      const extra: Record<string, string> = {
        'seed/doc/marker-folder/': '',
        'seed/doc/awkward/': '',
        'seed/logs/': '',
        'trap/ok.txt': 'ok\n',
        'trap/../escape.txt': 'escaped\n',
        'trap/a/../b.txt': 'b\n',
        'trap//dbl.txt': 'dbl\n',
      }
      for (const sc of SCENARIOS) if (sc.seed) for (const [k, v] of Object.entries(MINI)) extra[`${sc.id}/${k}`] = v
      const put = await b.put(Object.values(extra), Object.keys(extra), { literal: true })
      expect(put.filter((r) => !r.ok)).toEqual([])
      await mkdir(p.L, { recursive: true })
      for (const sc of SCENARIOS) if (sc.local) await sc.local({ ...p, dir: join(p.L, sc.id) })
    }
    const awsCwd = join(work, 'aws-cwd')
    await mkdir(awsCwd)
    const seeded = Date.now()
    const took = { aws: 0, bf: 0 }
    const [awsRuns, bfRuns] = await Promise.all([
      // Two aws-cli processes, each with half of the scenarios (they touch disjoint prefixes,
      // folders and buckets): aws-cli spends most of its time in Python, so this uses both cores.
      (async () => {
        const commands = SCENARIOS.map((sc) => ({ args: ['s3', ...sc.argv(paths.aws)], ...(sc.stdin !== undefined ? { stdin: sc.stdin } : {}) }))
        const half = Math.ceil(commands.length / 2)
        const [a, b] = await Promise.all([awsBatch(s3, commands.slice(0, half), awsCwd), awsBatch(s3, commands.slice(half), awsCwd)])
        took.aws = Date.now() - seeded
        return [...a, ...b]
      })(),
      (async () => {
        const runs: AwsRun[] = []
        for (const sc of SCENARIOS) {
          const t0 = Date.now()
          const r = await runCli((sc.bfArgv ?? sc.argv)(paths.bf), sc.stdin !== undefined ? { input: sc.stdin } : {})
          runs.push({ ...r, seconds: (Date.now() - t0) / 1000 })
        }
        took.bf = Date.now() - seeded
        return runs
      })(),
    ])
    const ran = Date.now()
    for (const tool of ['aws', 'bf'] as const) {
      const p = paths[tool]
      const runs = tool === 'aws' ? awsRuns : bfRuns
      const listing = await buckets[tool === 'aws' ? 0 : 1]!.ls('', { recursive: true })
      for (const [i, sc] of SCENARIOS.entries()) {
        const r = runs[i]!
        const keys: Record<string, string> = {}
        for (const e of listing) if (e.kind === 'object' && e.key.startsWith(`${sc.id}/`)) keys[e.key.slice(sc.id.length + 1)] = `${e.size} ${e.etag}`
        outcomes[tool][sc.id] = {
          code: r.code,
          stdout: r.stdout,
          stderr: r.stderr,
          keys,
          local: await snapshotLocal(join(p.L, sc.id)),
          ops: opsOf(r.stdout, p, tool === 'aws' ? awsCwd : process.cwd()),
          listed: sc.compare.includes('ls') ? listedOf(r.stdout, sc.argv(p), tool) : [],
        }
      }
    }
    if (process.env.BUCKETFLOW_CONFORMANCE_TIMES) {
      for (const [i, sc] of SCENARIOS.entries())
        console.log(`${sc.id.padEnd(4)} aws ${awsRuns[i]!.seconds?.toFixed(2)} s, bucketflow ${bfRuns[i]!.seconds?.toFixed(2)} s`)
    }
    console.log(
      `differential: ${awsVersion}; ${SCENARIOS.length} scenarios; setup ${((seeded - started) / 1000).toFixed(1)} s, both tools ${((ran - seeded) / 1000).toFixed(1)} s (aws-cli ${(took.aws / 1000).toFixed(1)} s, bucketflow ${(took.bf / 1000).toFixed(1)} s), total ${((Date.now() - started) / 1000).toFixed(1)} s`,
    )
  }, 300_000)

  afterAll(async () => {
    for (const b of buckets) await b.delete({ force: true }).catch(() => undefined)
    for (const name of extraBuckets) await new Bucket(name, s3Options()).delete({ force: true }).catch(() => undefined)
    if (work) await rm(work, { recursive: true, force: true })
  })

  for (const sc of SCENARIOS) {
    it(`${sc.id}: ${sc.title}${sc.difference ? ` (difference: ${sc.difference})` : ''}`, () => {
      const aws = outcomes.aws[sc.id]!
      const bf = outcomes.bf[sc.id]!
      const detail = `aws stderr: ${aws.stderr.slice(0, 800)}\nbucketflow stderr: ${bf.stderr.slice(0, 800)}`
      expect({ aws: aws.code, bf: bf.code }, detail).toEqual(sc.codes ?? { aws: aws.code, bf: aws.code })
      if (sc.compare.includes('bucket')) expect(bf.keys, detail).toEqual(aws.keys)
      if (sc.compare.includes('local')) expect(bf.local, detail).toEqual(aws.local)
      if (sc.compare.includes('ops')) expect(bf.ops, detail).toEqual(aws.ops)
      if (sc.compare.includes('stdout')) expect(bf.stdout).toEqual(aws.stdout)
      if (sc.compare.includes('ls')) expect(bf.listed, detail).toEqual(aws.listed)
      sc.check?.(bf)
    })
  }
})
