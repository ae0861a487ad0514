/**
 * Path containment for downloads, inside a throw-away root under the system's temporary folder:
 * a broken guard can only write there, never elsewhere on the host.
 */
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve, sep } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../../src/errors.js'
import { containedPath, safeDestination } from '../../src/paths.js'

let sandbox: string
let root: string
let outside: string

beforeAll(async () => {
  sandbox = await mkdtemp(join(tmpdir(), 'bucketflow-paths-'))
  root = join(sandbox, 'root')
  outside = join(sandbox, 'outside')
  await mkdir(root)
  await mkdir(outside)
})
afterAll(async () => {
  await rm(sandbox, { recursive: true, force: true })
})

describe('safeDestination', () => {
  it('mirrors keys under the folder, names starting with two dots included', () => {
    expect(safeDestination(root, 'a/b.png')).toBe(join(root, 'a', 'b.png'))
    expect(safeDestination(`${root}${sep}`, 'x')).toBe(join(root, 'x'))
    expect(safeDestination(root, '..dots')).toBe(join(root, '..dots'))
    expect(safeDestination(root, 'a/./b')).toBe(join(root, 'a', 'b'))
    expect(safeDestination(root, 'a/../b')).toBe(join(root, 'b'))
  })

  it.each(['../etc/passwd', 'a/../../x', '/abs/path', '..', 'a/..', 'nul\0byte'])('refuses %j as outside the folder', (key) => {
    let caught: unknown
    try {
      safeDestination(root, key, 'bkt')
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError)
    const err = caught as InvalidArgumentError
    expect(err.message).toMatch(/would be written outside the destination folder/)
    expect([err.argument, err.key, err.bucket]).toEqual(['key', key, 'bkt'])
  })

  it.each(['', 'folder/'])('refuses %j as a folder, not a file', (key) => {
    expect(() => safeDestination(root, key)).toThrow(/names a folder, not a file/)
  })
})

describe('containedPath', () => {
  it('creates the folders on the way and returns the real path to write', async () => {
    const path = await containedPath(root, join(root, 'x', 'y', 'file.bin'), { key: 'x/y/file.bin' })
    expect(path).toBe(join(root, 'x', 'y', 'file.bin'))
    expect(await readdir(join(root, 'x'))).toEqual(['y'])
    // Nothing is written: the caller writes the file.
    expect(await readdir(join(root, 'x', 'y'))).toEqual([])
  })

  it('creates a missing root', async () => {
    const fresh = join(sandbox, 'fresh')
    expect(await containedPath(fresh, 'f.txt')).toBe(join(fresh, 'f.txt'))
    expect(await readdir(sandbox)).toContain('fresh')
  })

  it.each(['../escape.txt', '..', '.', '/etc/passwd-bucketflow'])('refuses %j by text', async (target) => {
    const err = await containedPath(root, target, { bucket: 'b', key: 'k' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidArgumentError)
    expect((err as InvalidArgumentError).message).toMatch(/is outside the destination folder/)
    expect([(err as InvalidArgumentError).argument, (err as InvalidArgumentError).bucket]).toEqual(['destination', 'b'])
  })

  it('refuses a link inside the root that leads outside, and writes nothing there', async () => {
    await symlink(outside, join(root, 'exit'))
    const err = await containedPath(root, join('exit', 'sub', 'f.txt')).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidArgumentError)
    expect((err as Error).message).toMatch(new RegExp(`is a link to ${outside.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
    expect(await readdir(outside)).toEqual([])
  })

  it('follows a link that stays inside the root', async () => {
    await mkdir(join(root, 'real'))
    await symlink(join(root, 'real'), join(root, 'alias'))
    expect(await containedPath(root, join('alias', 'f.txt'))).toBe(join(root, 'real', 'f.txt'))
  })

  it('refuses a file where a folder should be', async () => {
    await writeFile(join(root, 'plain'), 'x')
    await expect(containedPath(root, join('plain', 'f.txt'))).rejects.toThrow(/is a file, not a folder/)
    await symlink(join(root, 'plain'), join(root, 'to-file'))
    await expect(containedPath(root, join('to-file', 'f.txt'))).rejects.toThrow(/is not a folder/)
  })

  it('accepts a root that is itself a link (the caller chose it)', async () => {
    const linkRoot = join(sandbox, 'link-root')
    await symlink(outside, linkRoot)
    expect(await containedPath(linkRoot, 'f.txt')).toBe(join(resolve(outside), 'f.txt'))
  })
})
