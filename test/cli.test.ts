import { mkdtemp, readdir, readFile, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli } from './support/cli.js'
import { runScript } from './support/run-script.js'
import { useBucket } from './support/s3.js'

describe('bucketflow CLI', () => {
  const bucket = useBucket('cli')

  it('prints complete help for the program and every subcommand', async () => {
    const root = await cli(['--help'])
    expect(root.code).toBe(0)
    const names = [...root.stdout.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!).filter((n) => n !== 'help')
    expect(names).toEqual(expect.arrayContaining(['ls', 'put', 'get', 'cp', 'mv', 'rm', 'freeze', 'restore', 'head', 'cat']))
    expect(root.stdout).toMatch(/Exit codes: 0 ok, 1 some items failed, 2 usage error/)
    for (const name of names) {
      const sub = await cli([name, '--help'])
      expect(sub.code, name).toBe(0)
      expect(sub.stdout, name).toMatch(new RegExp(`Usage: bucketflow ${name}`))
      expect(sub.stdout, name).toMatch(/Example/)
    }
  })

  it('exits 2 on usage errors with a message naming the problem', async () => {
    const missing = await cli(['get'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/missing required argument 'url'/)
    const badUrl = await cli(['ls', 'not-a-url'])
    expect(badUrl.code).toBe(2)
    expect(badUrl.stderr).toMatch(/Expected url to be an s3:\/\/bucket\/key URL, got "not-a-url"/)
    const badConcurrency = await cli(['-c', '0', 'ls'])
    expect(badConcurrency.code).toBe(2)
  })

  it('puts a folder, lists it as JSON, and gets a prefix refusing keys that escape the folder (exit 1)', async () => {
    const b = bucket()
    const src = await mkdtemp(join(tmpdir(), 'bf-cli-src-'))
    await mkdir(join(src, 'cute'), { recursive: true })
    await writeFile(join(src, 'cute', 'a.txt'), 'aaa')
    await writeFile(join(src, 'b.txt'), 'bb')
    const put = await cli(['--quiet', 'put', src, `s3://${b.name}/pics/`])
    expect(put.code, put.stderr).toBe(0)
    const ls = await cli(['--json', 'ls', '-r', `s3://${b.name}/pics/`])
    expect(ls.code).toBe(0)
    const entries = ls.stdout.trim().split('\n').map((l) => JSON.parse(l) as { key: string; size: number })
    expect(entries.map((e) => [e.key, e.size])).toEqual([
      ['pics/b.txt', 2],
      ['pics/cute/a.txt', 3],
    ])
    // A hostile key under the prefix.
    await b.put('evil', 'pics/../../../escape.txt', { literal: true })
    const out = await mkdtemp(join(tmpdir(), 'bf-cli-out-'))
    const dest = join(out, 'mirror')
    const get = await cli(['get', `s3://${b.name}/pics/`, dest])
    expect(get.code).toBe(1)
    expect(get.stderr).toMatch(/would be written outside the destination folder/)
    expect(get.stderr).toMatch(/get: 2 ok, 1 failed/)
    expect(await readFile(join(dest, 'cute', 'a.txt'), 'utf8')).toBe('aaa')
    expect(await readFile(join(dest, 'b.txt'), 'utf8')).toBe('bb')
    expect(await readdir(out)).toEqual(['mirror'])
  })

  it('cats ranges, heads, copies, freezes and removes', async () => {
    const b = bucket()
    await b.put('0123456789', 'c/digits.txt', { literal: true })
    expect((await cli(['cat', '--start', '-3', `s3://${b.name}/c/digits.txt`])).stdout).toBe('789')
    expect((await cli(['cat', '--start', '2', '--end', '5', `s3://${b.name}/c/digits.txt`])).stdout).toBe('234')
    const head = await cli(['--json', 'head', `s3://${b.name}/c/digits.txt`])
    expect(JSON.parse(head.stdout)).toMatchObject({ key: 'c/digits.txt', size: 10, storageClass: 'STANDARD' })
    expect((await cli(['cp', `s3://${b.name}/c/digits.txt`, `s3://${b.name}/c/copy.txt`])).code).toBe(0)
    const frozen = await cli(['freeze', '--storage-class', 'GLACIER', `s3://${b.name}/c/copy.txt`])
    expect(frozen.code, frozen.stderr).toBe(0)
    expect((await b.head('c/copy.txt')).storageClass).toBe('GLACIER')
    const rm = await cli(['rm', '-r', `s3://${b.name}/c/`])
    expect(rm.code).toBe(0)
    expect(await b.list('c/')).toEqual([])
    const missing = await cli(['head', `s3://${b.name}/c/none`])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/NoSuchKey/)
  })
})

describe('bucketflow index', () => {
  const bucket = useBucket('cli-index')

  it('writes a Parquet index DuckDB reads, with a progress bar on a TTY', async () => {
    const b = bucket()
    const keys = Array.from({ length: 3000 }, (_, i) => `${['a', 'b', 'é', '😀'][i % 4]}/${String(i).padStart(5, '0')}`)
    const put = await b.put(keys.map(() => null), keys, { concurrency: 32 })
    expect(put.every((r) => r.ok)).toBe(true)
    const dir = await mkdtemp(join(tmpdir(), 'bf-cli-index-'))
    const out = join(dir, 'index.parquet')
    // `script` gives the command a pseudo-terminal, as a person's shell would.
    const main = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts')
    const command = `${process.execPath} --import tsx ${main} -c 8 index s3://${b.name} ${out}`
    const run = await runScript('/usr/bin/script', ['-qec', command, '/dev/null'], { direct: true })
    expect(run.code, run.stderr + run.stdout).toBe(0)
    expect(run.stdout).toMatch(/\d+\/\d+ ranges \| \d+ keys/)
    expect(run.stdout).toMatch(/index s3:\/\/\S+ -> .*index\.parquet: 3000 rows/)
    const { DuckDBInstance } = await import('@duckdb/node-api')
    const db = await (await DuckDBInstance.create(':memory:')).connect()
    const rows = (await db.runAndReadAll(`select count(*)::INTEGER, min(Key), typeof(any_value(Size)) from '${out}'`)).getRows()
    expect(rows).toEqual([[3000, 'a/00000', 'BIGINT']])
    // Without a TTY: no bar, just the summary.
    const plain = await cli(['index', `s3://${b.name}`, join(dir, 'plain.parquet')])
    expect(plain.code).toBe(0)
    expect(plain.stderr).not.toMatch(/ranges \|/)
    expect(plain.stderr).toMatch(/3000 keys in/)
  })
})
