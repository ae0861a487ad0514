/**
 * Downloads into a folder never write outside it, whatever symbolic links exist inside it.
 * Each case runs in a throw-away root with a sibling "elsewhere" folder that must stay empty.
 */
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rename, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { Bucket, InvalidArgumentError } from '../src/index.js'
import { runCli, useS3Env } from './support/cli.js'
import { FaultProxy } from './support/proxy.js'
import { s3Options, useBucket } from './support/s3.js'

describe('containment by real paths', () => {
  const bucket = useBucket('contain')
  beforeAll(async () => {
    const keys = [
      'link/x.txt',
      'link/deep/y.txt',
      'inner/z.txt',
      'ok/a.txt',
      'planted.txt',
      'loop/w.txt',
      '..dots',
      'ok/..dots/b.txt',
      '../up.txt',
      'ok/../../up2.txt',
      'swap/x.txt',
      'swap/y.txt',
      'swap/z.txt',
      'moved/deep/x.txt',
      'moved/deep/y.txt',
    ]
    const put = await bucket().put(keys, keys, { literal: true })
    expect(put.every((r) => r.ok)).toBe(true)
  })

  async function sandbox() {
    const base = await mkdtemp(join(tmpdir(), 'bf-contain-'))
    const root = join(base, 'root')
    const elsewhere = join(base, 'elsewhere')
    await mkdir(root)
    await mkdir(elsewhere)
    return { base, root, elsewhere }
  }

  it('refuses a key whose folder is a link leading outside the destination, and writes nothing there', async () => {
    const { root, elsewhere } = await sandbox()
    await symlink(elsewhere, join(root, 'link'))
    const results = await bucket().get(['link/x.txt', 'link/deep/y.txt', 'ok/a.txt'], root)
    expect(results.map((r) => r.ok)).toEqual([false, false, true])
    for (const r of results.slice(0, 2)) {
      expect(r.ok ? null : r.error).toBeInstanceOf(InvalidArgumentError)
      expect(r.ok ? '' : r.error.message).toMatch(/outside the destination folder .* is a link to/)
    }
    expect(await readdir(elsewhere)).toEqual([])
    expect(await readFile(join(root, 'ok/a.txt'), 'utf8')).toBe('ok/a.txt')
  })

  it('the CLI (get -r, cp -r) refuses through a link inside the destination, as the library does', async () => {
    useS3Env()
    for (const command of ['get', 'cp']) {
      const { base, root, elsewhere } = await sandbox()
      await symlink(elsewhere, join(root, 'link'))
      const run = await runCli([command, '-r', `s3://${bucket().name}/`, root])
      expect(run.code, command).toBe(1)
      expect(run.stderr, command).toMatch(/link\/x\.txt.*outside the destination folder .* is a link to/)
      expect(await readdir(elsewhere), command).toEqual([])
      expect(await readFile(join(root, 'ok/a.txt'), 'utf8'), command).toBe('ok/a.txt')
      expect((await readdir(base)).sort(), command).toEqual(['elsewhere', 'root'])
    }
  })

  it('mv -r moves no key that shares its local file with others (a//b, a/./b): their sources stay', async () => {
    useS3Env()
    const { root } = await sandbox()
    const b = bucket()
    const keys = ['mvdup/a/b', 'mvdup/a//b', 'mvdup/a/./b', 'mvdup/c']
    expect((await b.put(['one', 'two', 'three', 'four'], keys, { literal: true })).every((r) => r.ok)).toBe(true)
    const run = await runCli(['mv', '-r', `s3://${b.name}/mvdup/`, root])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/mvdup\/a\/\/b is not moved: its key is written at/)
    expect((await b.list('mvdup/').toArray()).sort()).toEqual(['mvdup/a/./b', 'mvdup/a//b'])
    expect(await readFile(join(root, 'a', 'b'), 'utf8')).toBe('one')
    expect(await readFile(join(root, 'c'), 'utf8')).toBe('four')
  })

  it('writes names that start with two dots (..dots) and refuses .. segments that climb out', async () => {
    const { base, root } = await sandbox()
    const results = await bucket().get(['..dots', 'ok/..dots/b.txt', '../up.txt', 'ok/../../up2.txt'], root)
    expect(results.map((r) => r.ok)).toEqual([true, true, false, false])
    expect(await readFile(join(root, '..dots'), 'utf8')).toBe('..dots')
    expect(await readFile(join(root, 'ok/..dots/b.txt'), 'utf8')).toBe('ok/..dots/b.txt')
    for (const r of results.slice(2)) expect(r.ok ? null : r.error).toBeInstanceOf(InvalidArgumentError)
    expect((await readdir(base)).sort()).toEqual(['elsewhere', 'root'])
  })

  it('follows a link that stays inside the destination', async () => {
    const { root } = await sandbox()
    await mkdir(join(root, 'real'))
    await symlink(join(root, 'real'), join(root, 'inner'))
    const [r] = await bucket().get(['inner/z.txt'], root)
    expect(r!.ok).toBe(true)
    expect(await readFile(join(root, 'real', 'z.txt'), 'utf8')).toBe('inner/z.txt')
  })

  it('replaces a planted link at the file name instead of writing through it', async () => {
    const { root, elsewhere } = await sandbox()
    const victim = join(elsewhere, 'victim.txt')
    await writeFile(victim, 'do not touch')
    await symlink(victim, join(root, 'planted.txt'))
    const [r] = await bucket().get(['planted.txt'], root)
    expect(r!.ok).toBe(true)
    expect(await readFile(victim, 'utf8')).toBe('do not touch')
    expect((await lstat(join(root, 'planted.txt'))).isSymbolicLink()).toBe(false)
    expect(await readFile(join(root, 'planted.txt'), 'utf8')).toBe('planted.txt')
  })

  it('refuses through a relative link and a link to a link, for getToFile with root as well', async () => {
    const { root, elsewhere } = await sandbox()
    await symlink('../elsewhere', join(root, 'rel'))
    await symlink(join(root, 'rel'), join(root, 'loop'))
    const [r] = await bucket().get(['loop/w.txt'], root)
    expect(r!.ok).toBe(false)
    expect(r!.ok ? null : r!.error).toBeInstanceOf(InvalidArgumentError)
    const err = await bucket()
      .get('loop/w.txt', join(root, 'rel', 'w.txt'), { root })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidArgumentError)
    expect(await readdir(elsewhere)).toEqual([])
    expect(await readlink(join(root, 'rel'))).toBe('../elsewhere')
  })

  it('re-checks a folder it already checked: one replaced by a link leading out during the call is refused', async () => {
    const { root, elsewhere } = await sandbox()
    // One object at a time: the source swaps root/swap for a link once the first file is written.
    const keys = (async function* () {
      yield 'swap/x.txt'
      await rename(join(root, 'swap'), join(root, 'swapped'))
      await symlink(elsewhere, join(root, 'swap'))
      yield 'swap/y.txt'
      yield 'swap/z.txt'
    })()
    const results = await bucket().get(keys, root, { concurrency: 1 })
    expect(results.map((r) => r.ok)).toEqual([true, false, false])
    for (const r of results.slice(1)) expect(r.ok ? '' : r.error.message).toMatch(/outside the destination folder .* is a link to/)
    expect(await readFile(join(root, 'swapped', 'x.txt'), 'utf8')).toBe('swap/x.txt')
    expect(await readdir(elsewhere)).toEqual([])
  })

  it('checks the folders when the file is written: one swapped for a link leading out during the request is refused', async () => {
    const { root, elsewhere } = await sandbox()
    const proxy = await FaultProxy.start(s3Options().endpoint!)
    try {
      const slow = new Bucket(bucket().name, s3Options({ endpoint: proxy.url }))
      proxy.addRule({ match: (r) => r.op === 'GetObject' && r.key === 'swap/x.txt', delayMs: 1500 })
      await mkdir(join(root, 'swap'))
      const download = slow.get(['swap/x.txt'], root)
      // While the answer is held, the folder is moved out and replaced by a link to where it went.
      while (proxy.of('GetObject', (r) => r.key === 'swap/x.txt').length === 0) await new Promise((r) => setTimeout(r, 20))
      await rename(join(root, 'swap'), join(elsewhere, 'swap'))
      await symlink(join(elsewhere, 'swap'), join(root, 'swap'))
      const [r] = await download
      expect(r!.ok).toBe(false)
      expect(r!.ok ? null : r!.error).toBeInstanceOf(InvalidArgumentError)
      expect(await readdir(join(elsewhere, 'swap'))).toEqual([])
    } finally {
      await proxy.close()
    }
  })

  it('re-checks the whole path: a parent folder moved outside and replaced by a link to it is refused', async () => {
    const { root, elsewhere } = await sandbox()
    // The folder keeps its device and inode when moved, so only its real path tells.
    const keys = (async function* () {
      yield 'moved/deep/x.txt'
      await rename(join(root, 'moved'), join(elsewhere, 'moved'))
      await symlink(join(elsewhere, 'moved'), join(root, 'moved'))
      yield 'moved/deep/y.txt'
    })()
    const results = await bucket().get(keys, root, { concurrency: 1 })
    expect(results.map((r) => r.ok)).toEqual([true, false])
    expect(results[1]!.ok ? '' : results[1]!.error.message).toMatch(/outside the destination folder .* is a link to/)
    expect(await readdir(join(elsewhere, 'moved', 'deep'))).toEqual(['x.txt'])
  })
})
