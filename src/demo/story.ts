/**
 * The demo: the seed notebook's story, end to end, printing what each step did.
 * Runs on any S3 endpoint; `bucketflow demo` starts an embedded one by default.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import type { Table } from 'apache-arrow'
import { Bucket, type BucketOptions, type ObjectEntry } from '../index.js'
import { CAT_TAGS, drawCat } from './png.js'

/** Where the demo prints (stdout by default). */
export type Say = (line: string) => void

const README = `# cat picture repository
This bucket contains pictures of cats. Cats are
small predatory mammals often kept as pets. Users who are unfamiliar
with cats may wish to consult some basic reference material before
browsing the bucket in order to avoid confusion.
`

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The first `limit` rows of an index table, as aligned text. */
function formatTable(table: Table, limit: number): string {
  const cols = ['Key', 'Size', 'StorageClass', 'LastModified']
  const rows = [cols]
  for (let i = 0; i < Math.min(limit, table.numRows); i++) {
    const row = table.get(i)!.toJSON() as Record<string, unknown>
    rows.push(cols.map((c) => (c === 'LastModified' ? new Date(Number(row[c])).toISOString() : String(row[c]))))
  }
  const widths = cols.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)))
  const lines = rows.map((r) => `    ${r.map((v, j) => (j === 1 ? v.padStart(widths[j]!) : v.padEnd(widths[j]!))).join('  ')}`)
  if (table.numRows > limit) lines.push(`    ... ${table.numRows - limit} more`)
  return lines.join('\n')
}

/** Sum of Size over rows whose Key passes `test`. */
function sumWhere(table: Table, test: (key: string) => boolean): number {
  const keys = table.getChild('Key')!
  const sizes = table.getChild('Size')!
  let total = 0
  for (let i = 0; i < table.numRows; i++) if (test(String(keys.get(i)))) total += Number(sizes.get(i))
  return total
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now()
  const value = await fn()
  return [value, performance.now() - t0]
}

async function* walk(dir: string): AsyncGenerator<string> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) yield* walk(p)
    else yield p
  }
}

/** Fail the demo loudly when a step did not do what it said. */
function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`demo check failed: ${what}`)
}

/** Run the story against the S3 that `options` point at. Resolves when everything is cleaned up. */
export async function runDemo(options: BucketOptions, say: Say = (l) => process.stdout.write(`${l}\n`)): Promise<void> {
  const step = (n: number, title: string) => say(`\n[${n}] ${title}`)
  const work = await mkdtemp(join(tmpdir(), 'bucketflow-demo-'))
  const name = `bucketflow-cats-${randomBytes(4).toString('hex')}`
  let bucket: Bucket | undefined
  try {
    step(1, 'make a bucket')
    bucket = await Bucket.create(name, options)
    say(`    created s3://${bucket.name}; empty: ${(await bucket.ls()).length === 0}`)

    step(2, 'write a README from a local file and read it back')
    const draft = join(work, 'DRAFT_README.md')
    await writeFile(draft, README)
    await bucket.put(draft, 'README.md', { contentType: 'text/markdown' })
    const back = await bucket.read('README.md')
    check(back === README, 'README roundtrip')
    say(
      back
        .trimEnd()
        .split('\n')
        .map((l) => `    | ${l}`)
        .join('\n'),
    )

    step(3, 'draw 15 cat pictures locally (5 kinds x 3)')
    const cats = CAT_TAGS.flatMap((tag) => [0, 1, 2].map((i) => ({ key: `${tag}/cat_${i}.png`, data: drawCat(tag, i) })))
    const total = cats.reduce((s, c) => s + c.data.length, 0)
    say(`    ${cats.length} PNGs, ${total} bytes in memory`)

    step(4, 'upload them one by one, then all at once in parallel')
    const [, serialMs] = await timed(async () => {
      for (const c of cats) await bucket!.put(c.data, `serial/${c.key}`, { contentType: 'image/png' })
    })
    const [results, parallelMs] = await timed(() =>
      bucket!.put(
        cats.map((c) => c.data),
        cats.map((c) => c.key),
        { contentType: 'image/png' },
      ),
    )
    check(
      results.every((r) => r.ok),
      'parallel upload',
    )
    say(`    serial:   ${cats.length} puts in ${serialMs.toFixed(0)} ms`)
    say(`    parallel: ${cats.length} puts in ${parallelMs.toFixed(0)} ms (concurrency ${bucket.concurrency}), ${results.filter((r) => r.ok).length} ok`)
    await bucket.rm(cats.map((c) => `serial/${c.key}`))

    step(5, 'index the bucket into an Arrow table (hostess df())')
    const index = await bucket.index()
    say(formatTable(index, 16))
    const tabbyBytes = sumWhere(index, (key) => key.startsWith('tabby/'))
    say(`    ${index.numRows} objects; the tabby cats take ${tabbyBytes} bytes`)
    check(index.numRows === cats.length + 1, 'index row count')

    step(6, 'download the pictures into memory, then into a mirror folder')
    const pictureKeys = cats.map((c) => c.key)
    const buffers = await bucket.get(pictureKeys)
    check(
      buffers.every((r, i) => r.ok && r.value.equals(cats[i]!.data)),
      'in-memory downloads match',
    )
    say(`    ${buffers.filter((r) => r.ok).length} pictures in memory, byte-identical to what we uploaded`)
    const mirror = join(work, 'cat_s3_mirror')
    const files = await bucket.get(pictureKeys, mirror)
    check(
      files.every((r) => r.ok),
      'mirror downloads',
    )
    const sizes = new Map(cats.map((c) => [c.key, c.data.length]))
    let matched = 0
    for await (const path of walk(mirror)) {
      const key = relative(mirror, path).split(sep).join('/')
      check((await stat(path)).size === sizes.get(key), `size of ${key}`)
      matched++
    }
    check(matched === cats.length, 'every picture mirrored')
    say(`    ${matched} files under ${mirror}, sizes match the index: everything matches!`)

    step(7, 'stream an intermittent log into rotating objects while tailing it')
    const controller = new AbortController()
    const seen: string[] = []
    const follower = (async () => {
      for await (const line of bucket!.tail('logs/', { follow: 'rotation', from: 'start', pollMs: 150, signal: controller.signal }).lines()) seen.push(line)
    })()
    const log = bucket.createLogStream('logs/', { rotateMs: 400 })
    const written: string[] = []
    for (let i = 1; i <= 12; i++) {
      const line = `${new Date().toISOString()} cat #${i} knocked something off a table`
      written.push(line)
      log.write(`${line}\n`)
      await sleep(100)
    }
    log.end()
    const logged = await log.done
    for (let waited = 0; seen.length < written.length && waited < 10_000; waited += 100) await sleep(100)
    controller.abort()
    await follower
    check(seen.join('\n') === written.join('\n'), 'tail saw every line once, in order')
    say(`    wrote ${written.length} lines over 1.2 s into ${logged.objects} objects (rotating every 400 ms)`)
    say(`    the tail followed the rotation and saw all ${seen.length} lines in order; the last: "${seen.at(-1)}"`)

    step(8, 'freeze a few pictures into archival storage classes')
    await bucket.freeze(['angry/cat_0.png', 'angry/cat_1.png'], 'GLACIER')
    await bucket.freeze('angry/cat_2.png') // DEEP_ARCHIVE by default
    for (const entry of (await bucket.ls('angry/')) as ObjectEntry[]) say(`    ${entry.storageClass.padEnd(13)} ${entry.key}`)
    check((await bucket.head('angry/cat_2.png')).storageClass === 'DEEP_ARCHIVE', 'freeze shows in head')

    step(9, 'delete everything, then the bucket')
    const keys = await bucket.list()
    const removed = await bucket.rm(keys)
    check(
      removed.every((r) => r.ok),
      'rm',
    )
    check((await bucket.ls('', { recursive: true })).length === 0, 'bucket empty')
    await bucket.delete()
    say(`    removed ${removed.length} objects and deleted s3://${name}. Cleanup complete.`)
    bucket = undefined
  } finally {
    if (bucket) {
      await bucket.delete({ force: true }).catch(() => undefined)
    }
    await rm(work, { recursive: true, force: true })
  }
}
