/**
 * Listing: `listPages` streams ListObjectsV2 pages; `listObjects` flattens them into entries
 * (objects and, with a delimiter, common prefixes). Memory: one page (<= pageSize entries).
 *
 * @example
 * ```ts
 * for await (const page of listPages(bucket, { prefix: 'logs/' })) {
 *   console.log(page.objects.length, 'objects in this page')
 * }
 * ```
 * @packageDocumentation
 */
import { ListObjectsV2Command, type _Object } from '@aws-sdk/client-s3'
import type { BucketRef } from '../bucket-ref.js'
import { toBucketflowError } from '../errors.js'
import { compareKeys } from '../keys.js'
import { throwIfAborted } from '../results.js'
import { validateInteger } from '../validate.js'

/** One object in a listing. */
export interface ObjectEntry {
  kind: 'object'
  key: string
  size: number
  lastModified: Date | undefined
  etag: string
  storageClass: string
  owner?: string
  checksumAlgorithm?: string
}

/** A common prefix ("folder") in a listing with a delimiter. */
export interface PrefixEntry {
  kind: 'prefix'
  /** The prefix itself, ending with the delimiter. */
  key: string
}

/** One ListObjectsV2 page. */
export interface ListPage {
  objects: ObjectEntry[]
  prefixes: string[]
  /** Key to continue after (the last key or prefix of this page). */
  lastKey: string | undefined
}

/** Options for {@link listPages}. */
export interface ListOptions {
  prefix?: string
  /** Group keys by this delimiter into common prefixes (e.g. '/'). */
  delimiter?: string
  /** List keys strictly after this one. */
  startAfter?: string
  /** Stop before this key (exclusive, UTF-8 byte order). */
  endBefore?: string
  /** Keys per request, 1 to 1000. Default 1000. */
  pageSize?: number
  /** Ask for object owners (FetchOwner). */
  fetchOwner?: boolean
  signal?: AbortSignal
}

/** Convert one SDK listing object. */
export function toEntry(o: _Object): ObjectEntry {
  const entry: ObjectEntry = {
    kind: 'object',
    key: o.Key ?? '',
    size: o.Size ?? 0,
    lastModified: o.LastModified,
    etag: o.ETag ?? '',
    storageClass: o.StorageClass ?? 'STANDARD',
  }
  const owner = o.Owner?.DisplayName ?? o.Owner?.ID
  if (owner !== undefined) entry.owner = owner
  if (o.ChecksumAlgorithm?.length) entry.checksumAlgorithm = o.ChecksumAlgorithm.join(',')
  return entry
}

/**
 * Stream the pages of a listing, in key order. With `endBefore`, stops at that key.
 */
export async function* listPages(ref: BucketRef, options: ListOptions = {}): AsyncGenerator<ListPage> {
  const pageSize = options.pageSize ?? 1000
  validateInteger(pageSize, 'pageSize', 1, 1000)
  const { endBefore } = options
  let token: string | undefined
  let first = true
  while (first || token) {
    throwIfAborted(options.signal, { bucket: ref.name })
    let out
    try {
      out = await ref.client.send(
        new ListObjectsV2Command({
          Bucket: ref.name,
          MaxKeys: pageSize,
          ...(options.prefix ? { Prefix: options.prefix } : {}),
          ...(options.delimiter ? { Delimiter: options.delimiter } : {}),
          ...(first && options.startAfter ? { StartAfter: options.startAfter } : {}),
          ...(token ? { ContinuationToken: token } : {}),
          ...(options.fetchOwner ? { FetchOwner: true } : {}),
        }),
        options.signal ? { abortSignal: options.signal } : {},
      )
    } catch (err) {
      throw toBucketflowError(err, { bucket: ref.name, operation: 'ListObjectsV2' })
    }
    first = false
    token = out.IsTruncated ? out.NextContinuationToken : undefined
    let objects = (out.Contents ?? []).map(toEntry)
    let prefixes = (out.CommonPrefixes ?? []).map((p) => p.Prefix ?? '')
    let stop = false
    if (endBefore !== undefined) {
      const before = (k: string) => compareKeys(k, endBefore) < 0
      const o2 = objects.filter((o) => before(o.key))
      const p2 = prefixes.filter(before)
      stop = o2.length < objects.length || p2.length < prefixes.length
      objects = o2
      prefixes = p2
    }
    const lastObject = objects.at(-1)?.key
    const lastPrefix = prefixes.at(-1)
    const lastKey = lastObject === undefined ? lastPrefix : lastPrefix === undefined ? lastObject : compareKeys(lastObject, lastPrefix) > 0 ? lastObject : lastPrefix
    if (objects.length > 0 || prefixes.length > 0 || !token) yield { objects, prefixes, lastKey }
    if (stop) return
  }
}

/** Flatten listing pages into entries: objects, then (per page) common prefixes in key order. */
export async function* listObjects(ref: BucketRef, options: ListOptions = {}): AsyncGenerator<ObjectEntry | PrefixEntry> {
  for await (const page of listPages(ref, options)) {
    if (page.prefixes.length === 0) {
      yield* page.objects
      continue
    }
    const merged: (ObjectEntry | PrefixEntry)[] = [...page.objects, ...page.prefixes.map((key): PrefixEntry => ({ kind: 'prefix', key }))]
    merged.sort((a, b) => compareKeys(a.key, b.key))
    yield* merged
  }
}
