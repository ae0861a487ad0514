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

/**
 * Make the folders for `target` under `root` and return the path to write `target` at, with
 * every folder on the way resolved to its real path. `root` is created if missing (it may itself
 * be a link: it is the caller's choice). Each folder below it is created one step at a time
 * (never following a link), or, where it exists as a symbolic link, resolved: a link whose real
 * path is outside `root`'s real path is refused with InvalidArgumentError, as is a target outside
 * `root` by text. The file name itself is returned as is: the caller writes a new temporary file
 * beside it and renames it into place, which replaces a link there instead of following it.
 *
 * @example
 * ```ts
 * const path = await containedPath('mirror', 'mirror/a/b.png') // '/real/mirror/a/b.png'
 * ```
 */
export async function containedPath(root: string, target: string, where: { bucket?: string; key?: string } = {}): Promise<string> {
  const fields = { argument: 'destination', ...where }
  const rootAbs = resolve(root)
  const targetAbs = resolve(rootAbs, target)
  const rel = relative(rootAbs, targetAbs)
  // `..` or `../x` is outside; a name that merely starts with two dots (`..config`) is not.
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new InvalidArgumentError(`${targetAbs} is outside the destination folder ${rootAbs}`, fields)
  }
  await mkdir(rootAbs, { recursive: true })
  const rootReal = await realpath(rootAbs)
  const steps = dirname(rel) === '.' ? [] : dirname(rel).split(sep)
  let current = rootReal
  for (const step of steps) {
    const next = join(current, step)
    let info = await lstat(next).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)))
    if (info === undefined) {
      await mkdir(next).catch((err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? undefined : Promise.reject(err)))
      info = await lstat(next)
    }
    if (info.isSymbolicLink()) {
      const real = await realpath(next)
      if (!inside(rootReal, real)) {
        throw new InvalidArgumentError(
          `${targetAbs} would be written outside the destination folder ${rootAbs}: ${next} is a link to ${real}`,
          fields,
        )
      }
      if (!(await stat(real)).isDirectory()) throw new InvalidArgumentError(`${next} is not a folder; cannot write ${targetAbs}`, fields)
      current = real
    } else if (info.isDirectory()) {
      current = next
    } else {
      throw new InvalidArgumentError(`${next} is a file, not a folder; cannot write ${targetAbs}`, fields)
    }
  }
  return join(current, basename(targetAbs))
}
