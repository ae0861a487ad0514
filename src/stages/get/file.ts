/**
 * Downloads into local files: a temporary file beside the destination, renamed into place once
 * complete and verified.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, rename, rm, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import type { BucketRef } from '../../bucket-ref.js'
import { createHasher, hasherFor, type Hasher, type Verification } from '../../checksums.js'
import { IntegrityError, InvalidArgumentError } from '../../errors.js'
import { ContainedFolders } from '../../paths.js'
import { boundedMap, linkedController } from '../../results.js'
import { describeValue } from '../../validate.js'
import type { Stats } from '../get-body.js'
import { begin, failure, ONE_WRITE, SYNC_WRITE, WRITE_BUFFER, type DownloadInfo, type GetOptions, type Settings } from './options.js'
import { openParallel, readPart, type Download, type Part } from './ranged.js'
import { sequential } from './sequential.js'
import { removeMade, withParents, writeNewFile, writeSmallFile, type MadeFolders } from './local-file.js'
import { check, withVerifyRetry } from './verify.js'

// ---- into a file -------------------------------------------------------------------------------

export async function writeAll(file: FileHandle, bytes: Uint8Array, length: number, position: number): Promise<void> {
  let done = 0
  while (done < length) {
    const { bytesWritten } = await file.write(bytes, done, length - done, position + done)
    done += bytesWritten
  }
}

/** Write chunks at `position` of the file, in writes of up to 1 MiB; resolves to the bytes written. */
export async function writeChunks(source: AsyncIterable<Uint8Array>, file: FileHandle, position: number, hasher?: Hasher): Promise<number> {
  const buffer = Buffer.allocUnsafe(WRITE_BUFFER)
  let filled = 0
  let at = 0
  for await (const chunk of source) {
    hasher?.update(chunk)
    let used = 0
    while (used < chunk.byteLength) {
      const n = Math.min(buffer.length - filled, chunk.byteLength - used)
      buffer.set(chunk.subarray(used, used + n), filled)
      filled += n
      used += n
      if (filled === buffer.length) {
        await writeAll(file, buffer, filled, position + at + used - filled)
        filled = 0
      }
    }
    at += chunk.byteLength
  }
  if (filled > 0) await writeAll(file, buffer, filled, position + at - filled)
  return at
}

/** Hash a file from its start (for a parallel download whose parts were written out of order). */
export async function hashFile(path: string, hasher: Hasher, signal: AbortSignal): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: WRITE_BUFFER, signal })) hasher.update(chunk as Buffer)
}

/** The temporary name beside a destination. */
export function partialName(dir: string, name: string): string {
  return join(dir, `${name}.bucketflow-partial-${process.pid}-${Math.random().toString(36).slice(2, 10)}`)
}

/**
 * Download an object into a local file, creating parent folders. The bytes go to a new
 * temporary file beside the destination (created exclusively, so a link planted at its name is
 * never followed) that is renamed into place only once complete and verified, so a failed,
 * aborted or corrupt download leaves the destination as it was. An existing symbolic link at
 * the destination is replaced, not followed. With `root`, the destination's real folder must be
 * inside `root`'s real path. Resolves to the path written.
 *
 * By default (`rangeConcurrency` 1) it is one GET. With `rangeConcurrency` > 1, an object (or range)
 * larger than `partSize` is fetched as ranged GETs of `partSize` bytes, `rangeConcurrency` at a time,
 * each written at its offset; if the object is replaced meanwhile, the download fails with
 * {@link IntegrityError}. Memory: a single response up to 8 MiB is held and written at once;
 * otherwise up to 1 MiB of write buffer per request in flight, whatever the object's size. A
 * response of up to 256 KiB is written by synchronous calls (a fraction of a millisecond each on
 * a local disk): on a file system that can hang (a stale network mount), prefer a stream
 * destination. Parent folders are made when the file is created (without `root`, taken away
 * again if the download then fails).
 *
 * @example
 * ```ts
 * await getToFile(bucket, 'dumps/db.bin', './db.bin', { partSize: 16 * 1024 * 1024, rangeConcurrency: 8 })
 * ```
 */
export async function getToFile(ref: BucketRef, key: string, destination: string, opts: GetOptions = {}): Promise<string> {
  return downloadFile(ref, key, destination, opts)
}

/**
 * {@link getToFile}, with the containment of `opts.root` shared by the files of one call
 * (`folders`, made for `opts.root`) when the caller downloads many.
 */
export async function downloadFile(ref: BucketRef, key: string, destination: string, opts: GetOptions, folders?: ContainedFolders): Promise<string> {
  const run = begin(ref, key, opts)
  const { s, where, controller, signal, dispose } = run
  if (typeof destination !== 'string' || destination === '') {
    dispose()
    throw new InvalidArgumentError(`Expected destination to be a file path, got ${describeValue(destination)}`, {
      argument: 'destination',
      bucket: ref.name,
      key,
    })
  }
  try {
    // The folders are made (and, under a root, checked) when the file is created, once bytes have
    // come: a failed download makes none, and a folder swapped for a link meanwhile is seen.
    const contained = folders ?? (opts.root !== undefined ? foldersFor(opts.root) : undefined)
    const place: Place = contained
      ? { resolve: () => contained.path(destination, where), makeParents: false }
      : { resolve: async () => destination, makeParents: true }
    contained?.relativePath(destination, where) // outside the root by its text: refused before any request
    await withVerifyRetry(ref, key, s, signal, async (settings, n) => {
      run.attempts = n
      const info = await downloadTo(ref, key, place, settings, signal)
      run.report(info)
    })
  } catch (err) {
    const error = failure(err, signal, where)
    controller.abort(error)
    throw error
  } finally {
    dispose()
  }
  return destination
}

/**
 * The {@link ContainedFolders} of a root, shared by the calls that name it (the CLI, or a user
 * calling `getToFile` with `root` once per file): its folders are made and checked once, then
 * only re-checked. The last 16 roots are kept.
 */
const rootFolders = new Map<string, ContainedFolders>()
function foldersFor(root: string): ContainedFolders {
  const key = resolve(root)
  let folders = rootFolders.get(key)
  if (folders === undefined) {
    folders = new ContainedFolders(key)
    if (rootFolders.size >= 16) rootFolders.delete(rootFolders.keys().next().value!)
  } else rootFolders.delete(key)
  rootFolders.set(key, folders)
  return folders
}

/** Where a download's file goes, decided when the file is created. */
export interface Place {
  /** The path to write at; under a root, with its folders made and checked at this moment. */
  resolve(): Promise<string>
  /** Make a missing parent folder when the file is created (no root). */
  makeParents: boolean
}

/**
 * One attempt of a file download: into a temporary file beside the place's path, created once
 * the bytes have come (small answers) or begin to be written (large ones), and renamed into place
 * once verified, after the place was checked again.
 */
export async function downloadTo(ref: BucketRef, key: string, place: Place, s: Settings, signal: AbortSignal): Promise<Partial<DownloadInfo>> {
  const where = { bucket: ref.name, key }
  let target: string | undefined
  let partial: string | undefined
  const made: MadeFolders = { first: undefined }
  const locate = async (): Promise<string> => {
    target = await place.resolve()
    partial = partialName(dirname(target), basename(target))
    return partial
  }
  const create = async () => {
    const path = await locate()
    return withParents(path, place.makeParents, made, () => open(path, 'wx'))
  }
  let file: FileHandle | undefined
  try {
    const download = s.rangeConcurrency > 1 ? await openParallel(ref, key, s, signal) : 'sequential'
    let info: Partial<DownloadInfo>
    if (download === 'sequential') {
      let pending: Partial<DownloadInfo> = {}
      const source = sequential(ref, key, s, signal, (i) => (pending = i))
      // Small answers (up to 8 MiB) are gathered and written with one call once complete and
      // verified: no temporary file exists unless the bytes are good. Larger ones are streamed.
      const held: Uint8Array[] = []
      let heldBytes = 0
      let position = 0
      for await (const chunk of source) {
        if (file === undefined && heldBytes + chunk.byteLength <= ONE_WRITE) {
          held.push(chunk)
          heldBytes += chunk.byteLength
          continue
        }
        if (file === undefined) {
          file = await create()
          for (const h of held) {
            await writeAll(file, h, h.byteLength, position)
            position += h.byteLength
          }
          held.length = 0
        }
        await writeAll(file, chunk, chunk.byteLength, position)
        position += chunk.byteLength
      }
      info = pending
      if (file === undefined && heldBytes <= SYNC_WRITE) {
        const path = await locate()
        writeSmallFile(path, target!, held, place.makeParents, made)
        return info
      }
      if (file === undefined) {
        const path = await locate()
        await withParents(path, place.makeParents, made, () => writeNewFile(path, held))
      }
    } else {
      file = await create()
      info = await parallelToFile(ref, key, download, file, partial!, s, signal)
    }
    await file?.close()
    file = undefined
    // The folder may have changed while the bytes were written: the place must still be the same.
    const again = await place.resolve()
    if (again !== target) {
      throw new InvalidArgumentError(`The destination folder of ${target} changed during the download (it now resolves to ${again})`, {
        argument: 'destination',
        ...where,
      })
    }
    await rename(partial!, target)
    return info
  } catch (err) {
    await file?.close().catch(() => undefined)
    // Nothing to remove (or no folder to remove it from) must not hide the error itself.
    if (partial !== undefined) await rm(partial, { force: true }).catch(() => undefined)
    await removeMade(made, partial)
    throw failure(partial !== undefined && target !== undefined ? namingTarget(err, partial, target) : err, signal, where)
  }
}

/** A file system error about the temporary file, told about the destination the user named. */
function namingTarget(err: unknown, partial: string, target: string): unknown {
  const e = err as NodeJS.ErrnoException
  // A rename's message names both paths already.
  if (e instanceof Error && e.path === partial && e.syscall !== 'rename') {
    e.message = e.message.split(partial).join(target)
    e.path = target
  }
  return err
}

export async function parallelToFile(
  ref: BucketRef,
  key: string,
  d: Download,
  file: FileHandle,
  partial: string,
  s: Settings,
  outer: AbortSignal,
): Promise<Partial<DownloadInfo>> {
  const where = { bucket: ref.name, key }
  // The first failure aborts the other ranges in flight (with itself as the reason).
  const { controller, dispose } = linkedController(outer)
  const signal = controller.signal
  try {
    return await parallelAttempt(ref, key, d, file, partial, s, signal, (err) => controller.abort(failure(err, signal, where)))
  } catch (err) {
    throw failure(err, signal, where)
  } finally {
    dispose()
  }
}

export async function parallelAttempt(
  ref: BucketRef,
  key: string,
  d: Download,
  file: FileHandle,
  partial: string,
  s: Settings,
  signal: AbortSignal,
  abort: (err: unknown) => void,
): Promise<Partial<DownloadInfo>> {
  const stats: Stats = { resumes: 0 }
  const exp = d.expectation
  // A multipart ETag is checked part by part as each is written (the parts are the ranges); any
  // other whole-object sum needs the bytes in order: the file is read back once complete.
  const partHashes: (Buffer | undefined)[] = []
  const perPart = exp?.algorithm === 'md5-parts' && exp.partSize === s.partSize
  const tasks: (Part | 'first')[] = [...(d.first ? ['first' as const] : []), ...d.rest]
  const offsetOf = (t: Part | 'first') => (t === 'first' ? 0 : t.offset)
  // One range per call, `rangeConcurrency` at a time; the first failure aborts the others (they
  // still settle before the file is closed) and no new range starts after it.
  let failed: unknown
  const fetchPart = async (index: number): Promise<void> => {
    if (failed !== undefined) return
    const task = tasks[index]!
    try {
      const hasher = perPart ? createHasher('md5') : undefined
      const wrote = await writeChunks(readPart(ref, key, d, task, signal, stats), file, offsetOf(task), hasher)
      const expected = task === 'first' ? d.first!.length : task.end - task.start
      if (wrote !== expected)
        throw new IntegrityError(`GetObject s3://${ref.name}/${key}: expected ${expected} bytes in a response, got ${wrote}`, {
          bucket: ref.name,
          key,
          algorithm: 'size',
          expected: String(expected),
          actual: String(wrote),
        })
      if (hasher) partHashes[index] = Buffer.from(hasher.digest(), 'hex')
    } catch (err) {
      if (failed === undefined) {
        failed = err
        abort(err)
      }
    }
  }
  for await (const _ of boundedMap(tasks.keys(), fetchPart, s.rangeConcurrency, false)) void _
  if (failed !== undefined) throw failed
  let verified: Verification = s.verify ? 'size' : 'none'
  if (exp) {
    let actual: string
    if (perPart && partHashes.length === tasks.length) {
      actual = `${createHash('md5')
        .update(Buffer.concat(partHashes as Buffer[]))
        .digest('hex')}-${partHashes.length}`
    } else {
      const hasher = hasherFor(exp)
      await file.sync().catch(() => undefined)
      await hashFile(partial, hasher, signal)
      actual = hasher.digest()
    }
    verified = await check(ref, key, exp, actual, s, signal)
  }
  return { verified, size: d.size, resumes: stats.resumes, ...(d.total !== undefined ? { objectSize: d.total } : {}), ...(d.etag ? { etag: d.etag } : {}) }
}
