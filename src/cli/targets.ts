/**
 * The path rules of `aws s3`, in one place, for every verb (see the table in the README):
 *
 * - With `--recursive`, `s3://b/p` and `s3://b/p/` both mean the folder `p/`: the keys that
 *   start with `p/` (not `p-2019/` nor `pbook.txt`). `s3://b` is the whole bucket.
 * - A key's path relative to the source folder is the key without the folder; the destination
 *   is the destination folder (`dst/`, never `dst//`) followed by that relative path.
 * - One object copied or downloaded into an existing local folder, a `dir/` destination or an
 *   `s3://b/prefix/` destination keeps its base name; any other destination is the new name.
 * - `-` is stdin (as a source) or stdout (as a destination).
 * - Folder markers (empty objects whose key ends in `/`) are skipped quietly by transfers; `rm`
 *   deletes them.
 * - Downloads never write outside the destination folder: a key whose relative path climbs out
 *   (`../x`) fails alone.
 */
import { stat } from 'node:fs/promises'
import { sep } from 'node:path'
import { type Bucket, InvalidArgumentError, type ObjectEntry, safeDestination } from '../index.js'
import type { PathFilter } from './filters.js'
import { openBucket, parseS3Url, type GlobalOptions, type S3Url } from './common.js'

/** The folder a recursive S3 URL names: `''` (the bucket) or a key prefix ending in `/`. */
export function folderOf(key: string): string {
  return key === '' || key.endsWith('/') ? key : `${key}/`
}

/** The destination key of `relativePath` in the destination folder (no `//` at the join). */
export function joinKey(folder: string, relativePath: string): string {
  return folderOf(folder) + relativePath
}

/** The last segment of a key (`/`-separated) or a local path. */
export function baseName(keyOrPath: string): string {
  const cut = Math.max(keyOrPath.lastIndexOf('/'), sep === '/' ? -1 : keyOrPath.lastIndexOf(sep))
  return keyOrPath.slice(cut + 1)
}

/** True for a folder marker: an empty object whose key ends in `/`. */
export function isFolderMarker(entry: Pick<ObjectEntry, 'key' | 'size'>): boolean {
  return entry.key.endsWith('/') && entry.size === 0
}

/** Whether a local path is an existing folder. */
export async function isLocalFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory()
  } catch {
    return false
  }
}

/**
 * The local path for one key of a folder download: `relativePath` under `root`. Leading `/`s
 * of the relative path are dropped (as a path join does: `logs//a` lands at `root/a`); a path
 * that would leave `root` throws InvalidArgumentError.
 */
export function localTarget(root: string, relativePath: string, bucket: string): string {
  return safeDestination(root, relativePath.replace(/^\/+/, ''), bucket)
}

/** The local path one object is downloaded to: into a folder (keeping its name) or as `dest`. */
export async function singleLocalTarget(dest: string, key: string): Promise<string> {
  if (dest.endsWith('/') || dest.endsWith(sep) || (await isLocalFolder(dest))) {
    const name = baseName(key)
    if (name === '')
      throw new InvalidArgumentError(`s3 key ${JSON.stringify(key)} names a folder; pass --recursive to download what is under it`, { argument: 'url' })
    return safeDestination(dest, name)
  }
  return dest
}

/** The key one object (or file) is stored under: in a prefix (keeping its name) or as the key. */
export function singleKey(destKey: string, name: string): string {
  return destKey === '' || destKey.endsWith('/') ? destKey + name : destKey
}

/** An object under a recursive S3 source, with its path relative to the source folder. */
export interface S3Source {
  key: string
  relativePath: string
  size: number
  entry: ObjectEntry
}

/** Options for {@link listSources}. */
export interface ListSourcesOptions {
  filter: PathFilter
  /** Yield folder markers too (rm deletes them; transfers skip them). Default false. */
  markers?: boolean
  signal?: AbortSignal
}

/**
 * The objects of a recursive S3 source: every key in the folder `folderOf(key)`, filtered by
 * relative path, folder markers skipped unless asked for. Streams one listing page at a time.
 */
export async function* listSources(bucket: Bucket, key: string, options: ListSourcesOptions): AsyncGenerator<S3Source> {
  const folder = folderOf(key)
  for await (const entry of bucket.ls(folder, { recursive: true, ...(options.signal ? { signal: options.signal } : {}) })) {
    if (entry.kind !== 'object') continue
    if (!options.markers && isFolderMarker(entry)) continue
    const relativePath = entry.key.slice(folder.length)
    if (!options.filter.accepts(relativePath)) continue
    yield { key: entry.key, relativePath, size: entry.size, entry }
  }
}

/**
 * The objects named by URLs of one bucket, for per-key verbs (rm, freeze, restore): without
 * `recursive` each URL is one key (a URL ending in `/` is refused: it names a folder); with it,
 * each URL is a folder ({@link listSources}). Without `recursive` the filter applies to the
 * key's base name, as aws-cli does.
 */
export async function* targetsOf(bucket: Bucket, urls: S3Url[], recursive: boolean, options: ListSourcesOptions): AsyncGenerator<S3Source> {
  for (const { key } of urls) {
    if (recursive) {
      yield* listSources(bucket, key, options)
      continue
    }
    const name = baseName(key)
    if (!options.filter.accepts(name)) continue
    yield { key, relativePath: name, size: 0, entry: { kind: 'object', key, size: 0, lastModified: undefined, etag: '', storageClass: '' } }
  }
}

/** Throws InvalidArgumentError for a URL that names a folder when one key is expected. */
export function checkOneKey(url: S3Url, verb: string, recursive = true): void {
  if (url.key === '' || url.key.endsWith('/')) {
    const hint = recursive ? `; pass --recursive to ${verb} every key under it` : `: ${verb} takes one object`
    throw new InvalidArgumentError(`s3://${url.bucket}/${url.key} names a folder${hint}`, { argument: 'url' })
  }
}

/** Parse URLs that must all name one bucket, and open it. */
export function oneBucket(urls: string[], opts: GlobalOptions): { bucket: Bucket; parsed: S3Url[] } {
  const parsed = urls.map((u) => parseS3Url(u))
  const names = new Set(parsed.map((p) => p.bucket))
  if (names.size !== 1) throw new InvalidArgumentError(`Expected every URL to name the same bucket, got ${[...names].join(', ')}`, { argument: 'url' })
  return { bucket: openBucket(parsed[0]!.bucket, opts), parsed }
}
