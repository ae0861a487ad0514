/**
 * Walking a local folder for uploads: every regular file under it, with its path relative to
 * the folder (`/`-separated, the object key's tail). Symbolic links are followed by default, as
 * aws-cli does; a link whose target is missing, a link loop, a socket or a device is reported
 * as a problem of its own path (the caller fails that item), never skipped silently. Empty
 * folders yield nothing (S3 has no folders).
 *
 * @packageDocumentation
 */
import type { Dirent } from 'node:fs'
import { readdir, realpath, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { InvalidArgumentError } from './errors.js'

/** A regular file found under the folder. */
export interface LocalFile {
  kind: 'file'
  /** The path to read (the folder joined with `relativePath`). */
  path: string
  /** Relative to the folder, `/`-separated. */
  relativePath: string
  size: number
}

/** A path under the folder that cannot be uploaded, and why. */
export interface LocalFileProblem {
  kind: 'problem'
  path: string
  relativePath: string
  reason: 'dangling-link' | 'link-loop' | 'not-a-file' | 'unreadable'
  error: InvalidArgumentError
}

/** Options for {@link walkFiles}. */
export interface WalkOptions {
  /** Follow symbolic links to files and folders. With false they are skipped. Default true. */
  followSymlinks?: boolean
  signal?: AbortSignal
}

function problem(path: string, relativePath: string, reason: LocalFileProblem['reason'], detail: string, cause?: unknown): LocalFileProblem {
  const error = new InvalidArgumentError(`${path}: ${detail}`, { argument: 'source', ...(cause === undefined ? {} : { cause }) })
  return { kind: 'problem', path, relativePath, reason, error }
}

/** Byte order of the UTF-8 names, like S3 keys. */
function byName(a: Dirent, b: Dirent): number {
  return Buffer.compare(Buffer.from(a.name), Buffer.from(b.name))
}

/**
 * Every regular file under `root`, depth first in name order. Memory: one folder's entries per
 * level of depth.
 *
 * @example
 * ```ts
 * for await (const f of walkFiles('photos')) if (f.kind === 'file') console.log(f.relativePath, f.size)
 * ```
 */
export async function* walkFiles(root: string, options: WalkOptions = {}): AsyncGenerator<LocalFile | LocalFileProblem> {
  const follow = options.followSymlinks ?? true
  async function* walk(dir: string, rel: string, ancestors: Set<string>): AsyncGenerator<LocalFile | LocalFileProblem> {
    let entries: Dirent[]
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch (err) {
      yield problem(dir, rel, 'unreadable', `cannot read this folder (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err)
      return
    }
    entries.sort(byName)
    for (const entry of entries) {
      options.signal?.throwIfAborted()
      const path = join(dir, entry.name)
      const relativePath = rel === '' ? entry.name : `${rel}/${entry.name}`
      let isDir = entry.isDirectory()
      let isFile = entry.isFile()
      if (entry.isSymbolicLink()) {
        if (!follow) continue
        let info
        try {
          info = await stat(path)
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code
          if (code === 'ELOOP') yield problem(path, relativePath, 'link-loop', 'symbolic link loop; not uploaded', err)
          else yield problem(path, relativePath, 'dangling-link', `symbolic link to a missing target (${code ?? 'error'}); not uploaded`, err)
          continue
        }
        isDir = info.isDirectory()
        isFile = info.isFile()
      }
      if (isDir) {
        let real: string
        try {
          real = await realpath(path)
        } catch (err) {
          yield problem(path, relativePath, 'unreadable', `cannot resolve this folder (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err)
          continue
        }
        if (ancestors.has(real)) {
          yield problem(path, relativePath, 'link-loop', 'symbolic link to one of its own parent folders; not followed', undefined)
          continue
        }
        ancestors.add(real)
        yield* walk(path, relativePath, ancestors)
        ancestors.delete(real)
      } else if (isFile) {
        try {
          yield { kind: 'file', path, relativePath, size: (await stat(path)).size }
        } catch (err) {
          yield problem(path, relativePath, 'unreadable', `cannot read this file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err)
        }
      } else {
        yield problem(path, relativePath, 'not-a-file', 'not a regular file (a socket, FIFO or device); not uploaded')
      }
    }
  }
  yield* walk(root, '', new Set([await realpath(root)]))
}
