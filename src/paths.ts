/**
 * Local paths for downloads: never outside the destination folder, by text (`../x`) and by real
 * paths (a symbolic link inside the folder that leads elsewhere).
 *
 * @example
 * ```ts
 * import { safeDestination } from 'bucketflow'
 * safeDestination('mirror', 'cats/1.png') // '/abs/mirror/cats/1.png'
 * safeDestination('mirror', '../etc/passwd') // throws InvalidArgumentError
 * ```
 * @packageDocumentation
 */
import type { Stats } from 'node:fs'
import { lstat, mkdir, realpath, stat } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { InvalidArgumentError } from './errors.js'

/**
 * The local path that mirrors `key` under `dir`. Throws InvalidArgumentError when the key would
 * land outside `dir` (`../x`, `/abs`, `a/../../x`) or names a folder (ends with `/`). A textual
 * check: {@link containedPath} also resolves symbolic links.
 *
 * @example
 * ```ts
 * const path = safeDestination('mirror/', 'a/b.png') // <cwd>/mirror/a/b.png
 * ```
 */
export function safeDestination(dir: string, key: string, bucket?: string): string {
  const root = resolve(dir)
  const where = { key, argument: 'key', ...(bucket === undefined ? {} : { bucket }) }
  if (key.endsWith('/') || key.length === 0) {
    throw new InvalidArgumentError(`Key ${JSON.stringify(key)} names a folder, not a file; nothing to write under ${root}`, where)
  }
  const target = resolve(root, key)
  if (isAbsolute(key) || key.includes('\0') || !target.startsWith(root + sep)) {
    throw new InvalidArgumentError(`Key ${JSON.stringify(key)} would be written outside the destination folder ${root}`, where)
  }
  return target
}

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep)
}

/** Folders a {@link ContainedFolders} keeps checked (shared across calls, it must stay bounded). */
const MAX_FOLDERS = 4096

/** A folder checked to be inside the root: its real path and the identity it had then. */
interface Folder {
  real: string
  dev: number
  ino: number
}

/**
 * Containment for many files under one root (one call of a download to a folder): `root`'s real
 * path is resolved once, and each folder below it is checked once, then re-checked for every
 * later file with one `lstat` of its real path, which must still be the same folder (device and
 * inode): a folder on the way replaced since by a link, or by another folder, resolves to another
 * inode and is walked and checked again from the root. Memory: one entry per distinct folder.
 *
 * @example
 * ```ts
 * const folders = new ContainedFolders('mirror')
 * const path = await folders.path('mirror/a/b.png') // '/real/mirror/a/b.png'
 * ```
 */
export class ContainedFolders {
  readonly #rootAbs: string
  #rootReal: Promise<Folder> | undefined
  readonly #folders = new Map<string, Promise<Folder>>()

  constructor(root: string) {
    this.#rootAbs = resolve(root)
  }

  /**
   * `target`'s path relative to the root, by text alone (no file system access); throws
   * InvalidArgumentError when it is the root itself or outside it.
   */
  relativePath(target: string, where: { bucket?: string; key?: string } = {}): string {
    const rootAbs = this.#rootAbs
    const targetAbs = resolve(rootAbs, target)
    const rel = relative(rootAbs, targetAbs)
    // `..` or `../x` is outside; a name that merely starts with two dots (`..config`) is not.
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new InvalidArgumentError(`${targetAbs} is outside the destination folder ${rootAbs}`, { argument: 'destination', ...where })
    }
    return rel
  }

  /**
   * Make the folders for `target` under the root and return the path to write `target` at, with
   * every folder on the way resolved to its real path. The root is created if missing (it may
   * itself be a link: it is the caller's choice). Each folder below it is created one step at a
   * time (never following a link), or, where it exists as a symbolic link, resolved: a link whose
   * real path is outside the root's real path is refused with InvalidArgumentError, as is a target
   * outside the root by text. The file name itself is returned as is: the caller writes a new
   * temporary file beside it and renames it into place, which replaces a link there instead of
   * following it.
   */
  async path(target: string, where: { bucket?: string; key?: string } = {}): Promise<string> {
    const fields = { argument: 'destination', ...where }
    const rel = this.relativePath(target, where)
    const targetAbs = resolve(this.#rootAbs, rel)
    const dir = dirname(rel)
    const cached = this.#folders.get(dir)
    if (cached !== undefined) {
      const folder = await cached.catch(() => undefined)
      if (folder !== undefined && (await sameFolder(folder))) return join(folder.real, basename(targetAbs))
      if (this.#folders.get(dir) === cached) this.#folders.delete(dir)
    }
    const walk = this.#walk(dir === '.' ? [] : dir.split(sep), targetAbs, fields)
    this.#folders.set(dir, walk)
    // Memory: the folders checked last; an older one is walked again when next used.
    if (this.#folders.size > MAX_FOLDERS) this.#folders.delete(this.#folders.keys().next().value!)
    try {
      return join((await walk).real, basename(targetAbs))
    } catch (err) {
      if (this.#folders.get(dir) === walk) this.#folders.delete(dir)
      throw err
    }
  }

  async #root(): Promise<Folder> {
    const cached = this.#rootReal
    if (cached !== undefined) {
      const folder = await cached.catch(() => undefined)
      if (folder !== undefined && (await sameFolder(folder))) return folder
      if (this.#rootReal === cached) this.#rootReal = undefined
    }
    const fresh = (async () => {
      await mkdir(this.#rootAbs, { recursive: true })
      const real = await realpath(this.#rootAbs)
      const info = await lstat(real)
      return { real, dev: info.dev, ino: info.ino }
    })()
    this.#rootReal = fresh
    fresh.catch(() => {
      if (this.#rootReal === fresh) this.#rootReal = undefined
    })
    return fresh
  }

  async #walk(steps: string[], targetAbs: string, fields: { argument: string; bucket?: string; key?: string }): Promise<Folder> {
    const root = await this.#root()
    let current = root.real
    let info: Stats | undefined
    for (const step of steps) {
      const next = join(current, step)
      info = await lstat(next).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)))
      if (info === undefined) {
        await mkdir(next).catch((err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? undefined : Promise.reject(err)))
        info = await lstat(next)
      }
      if (info.isSymbolicLink()) {
        const real = await realpath(next)
        if (!inside(root.real, real)) {
          throw new InvalidArgumentError(`${targetAbs} would be written outside the destination folder ${this.#rootAbs}: ${next} is a link to ${real}`, fields)
        }
        info = await stat(real)
        if (!info.isDirectory()) throw new InvalidArgumentError(`${next} is not a folder; cannot write ${targetAbs}`, fields)
        current = real
      } else if (info.isDirectory()) {
        current = next
      } else {
        throw new InvalidArgumentError(`${next} is a file, not a folder; cannot write ${targetAbs}`, fields)
      }
    }
    return info === undefined ? root : { real: current, dev: info.dev, ino: info.ino }
  }
}

/**
 * Whether a checked folder's real path still names that same folder: no step of the path has
 * become a link (a parent moved elsewhere and replaced by a link to it keeps its device and inode,
 * so only the real path tells), and it is still the same folder.
 */
async function sameFolder(folder: Folder): Promise<boolean> {
  const real = await realpath(folder.real).catch(() => undefined)
  if (real !== folder.real) return false
  const info = await lstat(real).catch(() => undefined)
  return info !== undefined && info.isDirectory() && info.dev === folder.dev && info.ino === folder.ino
}

/**
 * Make the folders for `target` under `root` and return the path to write `target` at, with
 * every folder on the way resolved to its real path; see {@link ContainedFolders.path}. For one
 * file: many files under one root share a {@link ContainedFolders}.
 *
 * @example
 * ```ts
 * const path = await containedPath('mirror', 'mirror/a/b.png') // '/real/mirror/a/b.png'
 * ```
 */
export async function containedPath(root: string, target: string, where: { bucket?: string; key?: string } = {}): Promise<string> {
  return new ContainedFolders(root).path(target, where)
}
