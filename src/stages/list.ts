/**
 * Listing: `listPages` streams ListObjectsV2 pages; `listObjects` flattens them into entries
 * (objects and, with a delimiter, common prefixes). Memory: one page (<= pageSize entries).
 * `fetchListPage` (one request) and `clipPage` (an `endBefore` bound) are the pieces both this
 * serial paginator and the partitioned lister (`listPartitioned`, stages/partition.ts) use.
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
import { S3Error, toBucketflowError } from '../errors.js'
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

/** One ListObjectsV2 request: where to start and how much to ask for. */
export interface ListPageRequest {
  prefix?: string
  delimiter?: string
  /** List keys strictly after this one (ignored by S3 when `continuationToken` is set). */
  startAfter?: string
  continuationToken?: string
  /** Keys per request, 1 to 1000. Default 1000. */
  pageSize?: number
  fetchOwner?: boolean
  signal?: AbortSignal
}

/** The answer to one {@link ListPageRequest}, before any `endBefore` bound is applied. */
export interface RawListPage {
  objects: ObjectEntry[]
  prefixes: string[]
  /** True when S3 has more keys after this page. */
  truncated: boolean
  /** Token for the next request, when S3 sent one. */
  continuationToken: string | undefined
}

/**
 * Send one ListObjectsV2 request. The building block of {@link listPages} and of the
 * partitioned lister; errors are typed ({@link BucketflowError}).
 */
export async function fetchListPage(ref: BucketRef, request: ListPageRequest = {}): Promise<RawListPage> {
  const pageSize = request.pageSize ?? 1000
  let out
  try {
    out = await ref.client.send(
      new ListObjectsV2Command({
        Bucket: ref.name,
        MaxKeys: pageSize,
        ...(request.prefix ? { Prefix: request.prefix } : {}),
        ...(request.delimiter ? { Delimiter: request.delimiter } : {}),
        ...(request.continuationToken ? { ContinuationToken: request.continuationToken } : request.startAfter ? { StartAfter: request.startAfter } : {}),
        ...(request.fetchOwner ? { FetchOwner: true } : {}),
      }),
      request.signal ? { abortSignal: request.signal } : {},
    )
  } catch (err) {
    throw toBucketflowError(err, { bucket: ref.name, operation: 'ListObjectsV2' })
  }
  return {
    objects: (out.Contents ?? []).map(toEntry),
    prefixes: (out.CommonPrefixes ?? []).map((p) => p.Prefix ?? ''),
    truncated: out.IsTruncated === true,
    continuationToken: out.IsTruncated ? out.NextContinuationToken : undefined,
  }
}

/**
 * Keep the entries of a page that sort before `endBefore` (UTF-8 byte order). `reachedEnd` is
 * true when the page held an entry at or past the bound, so the listing is over.
 */
export function clipPage(objects: ObjectEntry[], prefixes: string[], endBefore: string | undefined): { objects: ObjectEntry[]; prefixes: string[]; reachedEnd: boolean } {
  if (endBefore === undefined) return { objects, prefixes, reachedEnd: false }
  const lastObject = objects.at(-1)?.key
  const lastPrefix = prefixes.at(-1)
  // Pages are sorted: when the last entry is inside the bound, all are.
  if ((lastObject === undefined || compareKeys(lastObject, endBefore) < 0) && (lastPrefix === undefined || compareKeys(lastPrefix, endBefore) < 0)) {
    return { objects, prefixes, reachedEnd: false }
  }
  const before = (k: string) => compareKeys(k, endBefore) < 0
  const o2 = objects.filter((o) => before(o.key))
  const p2 = prefixes.filter(before)
  return { objects: o2, prefixes: p2, reachedEnd: o2.length < objects.length || p2.length < prefixes.length }
}

/** The greatest key or prefix of a page (its continuation point). */
export function lastKeyOf(objects: ObjectEntry[], prefixes: string[]): string | undefined {
  const lastObject = objects.at(-1)?.key
  const lastPrefix = prefixes.at(-1)
  if (lastObject === undefined) return lastPrefix
  if (lastPrefix === undefined) return lastObject
  return compareKeys(lastObject, lastPrefix) > 0 ? lastObject : lastPrefix
}

/**
 * Stream the pages of a listing, in key order. With `endBefore`, stops at that key.
 */
export async function* listPages(ref: BucketRef, options: ListOptions = {}): AsyncGenerator<ListPage> {
  const pageSize = options.pageSize ?? 1000
  validateInteger(pageSize, 'pageSize', 1, 1000)
  const { endBefore } = options
  let token: string | undefined
  let after = options.startAfter
  let first = true
  while (first || token || after !== undefined) {
    throwIfAborted(options.signal, { bucket: ref.name })
    const raw = await fetchListPage(ref, {
      pageSize,
      ...(options.prefix ? { prefix: options.prefix } : {}),
      ...(options.delimiter ? { delimiter: options.delimiter } : {}),
      ...(after ? { startAfter: after } : {}),
      ...(token ? { continuationToken: token } : {}),
      ...(options.fetchOwner ? { fetchOwner: true } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    })
    first = false
    token = raw.continuationToken
    // A truncated page without a continuation token (some servers): go on after its last key
    // rather than take a partial listing for a whole one.
    const rawLast = lastKeyOf(raw.objects, raw.prefixes)
    after = raw.truncated && !token ? rawLast : undefined
    if (raw.truncated && !token && rawLast === undefined) {
      throw new S3Error(`ListObjectsV2 of s3://${ref.name} was truncated with no continuation token and no key to continue after`, { bucket: ref.name }, 'TruncatedListing')
    }
    const { objects, prefixes, reachedEnd } = clipPage(raw.objects, raw.prefixes, endBefore)
    const more = token !== undefined || after !== undefined
    if (objects.length > 0 || prefixes.length > 0 || !more) yield { objects, prefixes, lastKey: lastKeyOf(objects, prefixes) }
    if (reachedEnd) return
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
