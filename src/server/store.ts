/**
 * The local server's in-memory model: buckets, objects and multipart uploads, and listing in
 * UTF-8 byte order (S3's order) over a sorted array of key bytes per bucket.
 * Memory: every object's bytes and every uploaded part live in RAM until deleted.
 * @packageDocumentation
 */
import { S3Fault } from './errors.js'

/** What a PUT, a multipart upload or a REPLACE copy takes from the request. */
export interface Template {
  storageClass: string
  contentType: string
  /** `x-amz-meta-*` values by lowercase name, without the prefix. */
  metadata: Record<string, string>
  /** Other response headers to store (cache-control, content-disposition, ...). */
  headers: Record<string, string>
}

/** A stored object. `data` is never mutated, so copies share it. `etag` is quoted. */
export interface StoredObject extends Template {
  key: string
  data: Buffer
  etag: string
  lastModified: Date
  /** For an archived object restored: until when the restored copy is readable. */
  restoredUntil?: Date
}

export interface Part {
  data: Buffer
  etag: string
  lastModified: Date
}

export interface Upload {
  id: string
  key: string
  initiated: Date
  template: Template
  parts: Map<number, Part>
}

/** Storage classes a general-purpose S3 bucket accepts, and those that need a restore before reading. */
export const STORAGE_CLASSES = new Set([
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'GLACIER_IR',
  'DEEP_ARCHIVE',
])
export const ARCHIVED = new Set(['GLACIER', 'DEEP_ARCHIVE'])

/** Now, in whole seconds: S3 keeps Last-Modified to the second (listings show `.000Z`). */
export const now = (): Date => new Date(Math.floor(Date.now() / 1000) * 1000)

/** The one owner of everything on the local server. */
export const OWNER = { ID: 'bucketflow-local', DisplayName: 'bucketflow-local' }

/** Index of the first of `sorted` that is >= `bytes` (> with `after`). */
function lowerBound(sorted: Buffer[], bytes: Buffer, after = false): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const c = Buffer.compare(sorted[mid]!, bytes)
    if (c < 0 || (after && c === 0)) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** A listing request: keys under `prefix`, after `after`, past the common prefix `skipPrefix` if any. */
export interface ListQuery {
  prefix: string
  delimiter: string
  after: string
  skipPrefix?: string
  maxKeys: number
}

/** A listing page; `last` is the last key or common prefix in it. */
export interface ListPage {
  objects: StoredObject[]
  prefixes: string[]
  truncated: boolean
  last?: { value: string; isPrefix: boolean }
}

export class BucketState {
  readonly created = new Date()
  readonly objects = new Map<string, StoredObject>()
  readonly uploads = new Map<string, Upload>()
  readonly #sorted: Buffer[] = []

  constructor(readonly name: string) {}

  put(object: StoredObject): void {
    if (!this.objects.has(object.key)) {
      const bytes = Buffer.from(object.key, 'utf8')
      this.#sorted.splice(lowerBound(this.#sorted, bytes), 0, bytes)
    }
    this.objects.set(object.key, object)
  }

  delete(key: string): void {
    if (this.objects.delete(key)) this.#sorted.splice(lowerBound(this.#sorted, Buffer.from(key, 'utf8')), 1)
  }

  object(key: string): StoredObject {
    const o = this.objects.get(key)
    if (!o) throw new S3Fault('NoSuchKey', undefined, { Key: key })
    return o
  }

  upload(id: string, key: string): Upload {
    const u = this.uploads.get(id)
    if (!u || u.key !== key) throw new S3Fault('NoSuchUpload', undefined, { UploadId: id })
    return u
  }

  /** One page of keys in UTF-8 byte order, grouped into common prefixes by the delimiter. */
  list(q: ListQuery): ListPage {
    const page: ListPage = { objects: [], prefixes: [], truncated: false }
    const sorted = this.#sorted
    const prefix = Buffer.from(q.prefix, 'utf8')
    // Keys under a prefix are contiguous; 0xff never occurs in UTF-8, so prefix + 0xff is past them all.
    const past = (p: string) => lowerBound(sorted, Buffer.concat([Buffer.from(p, 'utf8'), Buffer.from([0xff])]))
    let i = Math.max(lowerBound(sorted, prefix), lowerBound(sorted, Buffer.from(q.after, 'utf8'), true))
    if (q.skipPrefix !== undefined) i = Math.max(i, past(q.skipPrefix))
    while (i < sorted.length && q.maxKeys > 0) {
      const bytes = sorted[i]!
      if (bytes.length < prefix.length || !prefix.equals(bytes.subarray(0, prefix.length))) break
      if (page.objects.length + page.prefixes.length === q.maxKeys) {
        page.truncated = true
        break
      }
      const key = bytes.toString('utf8')
      const cut = q.delimiter ? key.indexOf(q.delimiter, q.prefix.length) : -1
      if (cut >= 0) {
        const common = key.slice(0, cut + q.delimiter.length)
        page.prefixes.push(common)
        page.last = { value: common, isPrefix: true }
        i = past(common)
      } else {
        page.objects.push(this.objects.get(key)!)
        page.last = { value: key, isPrefix: false }
        i++
      }
    }
    return page
  }
}

export class Store {
  readonly buckets = new Map<string, BucketState>()

  bucket(name: string): BucketState {
    const b = this.buckets.get(name)
    if (!b) throw new S3Fault('NoSuchBucket', undefined, { BucketName: name })
    return b
  }
}
