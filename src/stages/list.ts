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
import { transportOf, type BucketRef } from '../bucket-ref.js'
import { clientSettings } from '../client.js'
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
/** One object of a listing answer, as the transport (or the SDK) gives it. */
export interface ListedObject {
  Key?: string | undefined
  Size?: number | undefined
  LastModified?: Date | undefined
  ETag?: string | undefined
  StorageClass?: string | undefined
  Owner?: { ID?: string | undefined; DisplayName?: string | undefined } | undefined
  ChecksumAlgorithm?: string[] | undefined
}

export function toEntry(o: ListedObject): ObjectEntry {
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
 * partitioned lister; errors are typed ({@link BucketflowError}). A page whose entries disagree
 * with its own `KeyCount` (entries lost on the way) is asked for again, up to the client's
 * `maxAttempts` times; then it fails with an S3Error `InconsistentListing`, never a short page.
 *
 * @example
 * ```ts
 * const page = await fetchListPage(bucket, { prefix: 'logs/', pageSize: 100 })
 * ```
 */
export async function fetchListPage(ref: BucketRef, request: ListPageRequest = {}): Promise<RawListPage> {
  const pageSize = request.pageSize ?? 1000
  const { maxAttempts } = clientSettings(ref.client)
  for (let attempt = 1; ; attempt++) {
    let out
    try {
      out = await transportOf(ref).listObjectsV2(
        {
          Bucket: ref.name,
          MaxKeys: pageSize,
          ...(request.prefix ? { Prefix: request.prefix } : {}),
          ...(request.delimiter ? { Delimiter: request.delimiter } : {}),
          ...(request.continuationToken ? { ContinuationToken: request.continuationToken } : request.startAfter ? { StartAfter: request.startAfter } : {}),
          ...(request.fetchOwner ? { FetchOwner: true } : {}),
        },
        request.signal ? { signal: request.signal } : {},
      )
    } catch (err) {
      throw toBucketflowError(err, { bucket: ref.name, operation: 'ListObjectsV2' }, request.signal)
    }
    const objects = out.Contents.map(toEntry)
    const prefixes = out.CommonPrefixes
    const entries = objects.length + prefixes.length
    if (out.KeyCount !== undefined && out.KeyCount !== entries) {
      if (attempt < maxAttempts) continue
      throw new S3Error(
        `ListObjectsV2 of s3://${ref.name} answered a page with KeyCount ${out.KeyCount} but ${entries} entries, ${attempt} times`,
        { bucket: ref.name },
        'InconsistentListing',
      )
    }
    return {
      objects,
      prefixes,
      truncated: out.IsTruncated === true,
      continuationToken: out.IsTruncated ? out.NextContinuationToken : undefined,
    }
  }
}

/**
 * Keep the entries of a page that sort before `endBefore` (UTF-8 byte order). `reachedEnd` is
 * true when the page held an entry at or past the bound, so the listing is over.
 */
export function clipPage(
  objects: ObjectEntry[],
  prefixes: string[],
  endBefore: string | undefined,
): { objects: ObjectEntry[]; prefixes: string[]; reachedEnd: boolean } {
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
 * Where to continue after a page whose last entry is `last`: the key itself, or, for a common
 * prefix, past every key under it (so the prefix is not listed again).
 */
function continueAfter(last: string, delimiter: string | undefined): string {
  return delimiter && last.endsWith(delimiter) ? `${last}\u{10FFFF}` : last
}

/**
 * Stream the pages of a listing, in key order. With `endBefore`, stops at that key.
 *
 * Sanity: a truncated page without a continuation token, or with the token that was just sent
 * (it would not advance), continues with `StartAfter` its last key; a page that does not get
 * past the previous one fails with an S3Error `ListingNotAdvancing`; entries at or before the
 * previous page's last key (repeats) are dropped. Never a silently short or endless listing.
 *
 * @example
 * ```ts
 * for await (const page of listPages(bucket, { prefix: 'logs/', pageSize: 500 })) console.log(page.lastKey)
 * ```
 */
export async function* listPages(ref: BucketRef, options: ListOptions = {}): AsyncGenerator<ListPage> {
  const pageSize = options.pageSize ?? 1000
  validateInteger(pageSize, 'pageSize', 1, 1000)
  const { endBefore } = options
  let token: string | undefined
  let after = options.startAfter
  let previousLast: string | undefined = options.startAfter
  let first = true
  while (first || token || after !== undefined) {
    throwIfAborted(options.signal, { bucket: ref.name })
    const sent = token
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
    // Drop repeats of what an earlier page already gave.
    let objects = raw.objects
    let prefixes = raw.prefixes
    if (previousLast !== undefined) {
      const fresh = (k: string) => compareKeys(k, previousLast!) > 0
      if (objects.some((o) => !fresh(o.key)) || prefixes.some((p) => !fresh(p))) {
        objects = objects.filter((o) => fresh(o.key))
        prefixes = prefixes.filter(fresh)
      }
    }
    const rawLast = lastKeyOf(objects, prefixes)
    token = raw.continuationToken
    after = undefined
    if (raw.truncated) {
      if (rawLast === undefined) {
        throw new S3Error(
          `ListObjectsV2 of s3://${ref.name} answered a truncated page with nothing new after ${previousLast === undefined ? 'the start' : JSON.stringify(previousLast)}`,
          { bucket: ref.name },
          token ? 'ListingNotAdvancing' : 'TruncatedListing',
        )
      }
      // No token, or the one just sent: go on after the page's last entry instead.
      if (!token || token === sent) {
        token = undefined
        after = continueAfter(rawLast, options.delimiter)
      }
    }
    if (rawLast !== undefined) previousLast = continueAfter(rawLast, options.delimiter)
    const clipped = clipPage(objects, prefixes, endBefore)
    const more = token !== undefined || after !== undefined
    if (clipped.objects.length > 0 || clipped.prefixes.length > 0 || !more) {
      yield { objects: clipped.objects, prefixes: clipped.prefixes, lastKey: lastKeyOf(clipped.objects, clipped.prefixes) }
    }
    if (clipped.reachedEnd) return
  }
}

/**
 * Flatten listing pages into entries: objects, then (per page) common prefixes in key order.
 * Memory: one page (<= pageSize entries).
 *
 * @example
 * ```ts
 * for await (const e of listObjects(bucket, { prefix: 'logs/', delimiter: '/' })) {
 *   console.log(e.kind === 'prefix' ? `${e.key} (folder)` : `${e.key} ${e.size}`)
 * }
 * ```
 */
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
