/**
 * The stage over many objects: into memory or into files under a destination folder.
 */
import { isAbsolute, relative, resolve as resolvePath } from 'node:path'
import type { BucketRef } from '../../bucket-ref.js'
import { InvalidArgumentError } from '../../errors.js'
import { ContainedFolders, safeDestination } from '../../paths.js'
import type { ByteRange } from '../../ranges.js'
import type { StageOptions } from '../../results.js'
import { createStage, type Stage } from '../factory.js'
import { describeValue, validateKey } from '../../validate.js'
import { downloadFile, getToFile } from './file.js'
import { getObject } from './object.js'
import { validateGetOptions, type GetOptions } from './options.js'

// ---- many objects ------------------------------------------------------------------------------

/** One item for {@link getObjects}: a key, or a key and the local path to write it to. */
export type GetItem = string | { key: string; destination?: string }

/** Options for {@link getObjects}. */
export interface GetObjectsOptions extends StageOptions, ByteRange {
  /**
   * Write each object under this folder, mirroring its key as a path (`a/b.png` ->
   * `dir/a/b.png`). Keys that would land outside it (`../x`, or through a symbolic link inside it
   * that leads elsewhere) fail alone with InvalidArgumentError.
   * @default undefined (each object into memory, or to its item's own `destination`)
   */
  destination?: string
  /**
   * With `destination`: the folder the paths are relative to (`'logs/'`: `logs/2024/a` ->
   * `destination/2024/a`); `'logs'` means `'logs/'`. A key outside it fails alone.
   * @default '' (the whole key is the path)
   */
  relativeTo?: string
  /** Check each download against its checksum, ETag MD5 or length. @default true */
  verify?: boolean
  /** Bytes per ranged GET and the part size multipart ETags are checked with. @default 8388608 */
  partSize?: number
}

/**
 * A stage that downloads each key it receives, `concurrency` at a time: into memory (value is a
 * Buffer) or, with a destination folder or per-item destination, into files (value is the
 * path). Each successful result says how it was checked (`verified`). Memory: at most
 * `concurrency` objects in memory when downloading to Buffers; one stream buffer per download
 * when writing files. The range and options are validated before any request.
 *
 * @example
 * ```ts
 * for await (const r of getObjects(bucket, { destination: 'mirror/' })(bucket.list('cats/'))) {
 *   console.log(r.ok ? `wrote ${r.value} (${r.verified})` : `failed ${r.key}: ${r.error.message}`)
 * }
 * ```
 */
export function getObjects(ref: BucketRef, options: GetObjectsOptions = {}): Stage<GetItem | { key: string }, Buffer | string> {
  const range: ByteRange = {}
  const perItem: GetOptions = {}
  // Checked at the call, before any request: a bad range or option fails the whole call.
  const validate = (): void => {
    for (const name of ['start', 'end', 'offset', 'length'] as const) if (options[name] !== undefined) range[name] = options[name]
    Object.assign(perItem, range)
    if (options.verify !== undefined) perItem.verify = options.verify
    if (options.partSize !== undefined) perItem.partSize = options.partSize
    validateGetOptions(perItem, { bucket: ref.name })
    if (options.destination !== undefined && typeof options.destination !== 'string') {
      throw new InvalidArgumentError(`Expected destination to be a folder path, got ${describeValue(options.destination)}`, {
        argument: 'destination',
        bucket: ref.name,
      })
    }
  }
  // The destination's real path and each folder under it are checked once for the call.
  let folders: ContainedFolders | undefined
  return createStage<GetItem | { key: string }, Buffer | string>(ref, options, {
    keyOf: keyOfItem,
    validate,
    run: async (item, signal, annotate): Promise<Buffer | string> => {
      const key = typeof item === 'string' ? item : (item as { key?: unknown } | null)?.key
      validateKey(key, ref.name)
      const explicit = typeof item === 'string' ? undefined : (item as { destination?: string }).destination
      const opts: GetOptions = { ...perItem, signal, onVerified: (info) => annotate({ verified: info.verified }) }
      if (explicit !== undefined) return getToFile(ref, key, explicit, opts)
      if (options.destination === undefined) return getObject(ref, key, opts)
      const base =
        options.relativeTo === undefined || options.relativeTo === '' || options.relativeTo.endsWith('/')
          ? (options.relativeTo ?? '')
          : `${options.relativeTo}/`
      if (!key.startsWith(base))
        throw new InvalidArgumentError(`Key ${JSON.stringify(key)} is not under relativeTo ${JSON.stringify(base)}`, {
          argument: 'relativeTo',
          key,
          bucket: ref.name,
        })
      const rel = key.slice(base.length)
      // A folder marker (`logs/`): nothing to write, as aws s3 skips it; ok with the folder's path
      // (a marker that names a folder outside the destination, `/etc/` or `../x/`, fails alone).
      if (rel === '' || rel.endsWith('/')) {
        const path = resolvePath(options.destination, rel)
        const inside = relative(resolvePath(options.destination), path)
        if (inside.startsWith('..') || isAbsolute(inside)) {
          throw new InvalidArgumentError(`${path} is outside the destination folder ${resolvePath(options.destination)}`, {
            argument: 'destination',
            key,
            bucket: ref.name,
          })
        }
        annotate({ verified: 'none' })
        return path
      }
      folders ??= new ContainedFolders(options.destination)
      return downloadFile(ref, key, safeDestination(options.destination, rel, ref.name), { ...opts, root: options.destination }, folders)
    },
  })
}

/** The key of a get item, for its result (a bad item's key is its description). */
function keyOfItem(item: GetItem | null | undefined): string {
  if (typeof item === 'string') return item
  if (item !== null && typeof item === 'object' && 'key' in item) return typeof item.key === 'string' ? item.key : describeValue(item.key)
  return describeValue(item)
}
