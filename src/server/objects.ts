/**
 * Object operations of the local server: PutObject, GetObject/HeadObject (ranges, conditions),
 * CopyObject, DeleteObject, DeleteObjects and RestoreObject, and what multipart shares with them.
 * @packageDocumentation
 */
import { createHash } from 'node:crypto'
import { S3Fault } from './errors.js'
import { header, xmlReply, type Ctx, type Reply } from './request.js'
import { ARCHIVED, now, STORAGE_CLASSES, type BucketState, type StoredObject, type Template } from './store.js'
import { elements, textOf } from './xml.js'

export const md5 = (data: Buffer): Buffer => createHash('md5').update(data).digest()
/** S3's ETag of a single-part object: the quoted hex MD5 of its bytes. */
export const etagOf = (data: Buffer): string => `"${md5(data).toString('hex')}"`

const STORED_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires']

function storageClassOf(ctx: Ctx): string {
  const sc = header(ctx, 'x-amz-storage-class') ?? 'STANDARD'
  if (!STORAGE_CLASSES.has(sc)) throw new S3Fault('InvalidStorageClass', undefined, { StorageClassRequested: sc })
  return sc
}

/** Storage class, content type, `x-amz-meta-*` and stored headers of a request (aws-chunked is transport, not stored). */
export function templateOf(ctx: Ctx): Template {
  const metadata: Record<string, string> = {}
  const headers: Record<string, string> = {}
  for (const name of Object.keys(ctx.headers)) {
    if (name.startsWith('x-amz-meta-')) metadata[name.slice('x-amz-meta-'.length)] = header(ctx, name)!
    else if (STORED_HEADERS.includes(name)) headers[name] = header(ctx, name)!
  }
  const encoding = (headers['content-encoding'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s && s !== 'aws-chunked')
  if (encoding.length > 0) headers['content-encoding'] = encoding.join(',')
  else delete headers['content-encoding']
  return { storageClass: storageClassOf(ctx), contentType: header(ctx, 'content-type') ?? 'binary/octet-stream', metadata, headers }
}

/** Keys are at most 1024 UTF-8 bytes. */
export function checkKey(key: string): void {
  const size = Buffer.byteLength(key, 'utf8')
  if (size > 1024) throw new S3Fault('KeyTooLongError', undefined, { Size: String(size), MaxSizeAllowed: '1024' })
}

/** An archived object (GLACIER, DEEP_ARCHIVE) can be read only while a restored copy exists. */
export function checkReadable(o: StoredObject): void {
  if (ARCHIVED.has(o.storageClass) && !(o.restoredUntil && o.restoredUntil > new Date())) {
    throw new S3Fault('InvalidObjectState', "The operation is not valid for the object's storage class", { StorageClass: o.storageClass })
  }
}

/** Whether an ETag matches an If-Match / If-None-Match value (a list, `*`, quoted or not). */
function matches(etag: string, condition: string): boolean {
  return condition.split(',').some((c) => ['*', etag, etag.slice(1, -1)].includes(c.trim().replace(/^W\//, '')))
}

/** The source of a copy (`x-amz-copy-source: bucket/key`, URL-encoded): readable, its conditions met. */
export function copySource(ctx: Ctx): { bucket: BucketState; object: StoredObject } {
  let path: string
  try {
    path = decodeURIComponent((header(ctx, 'x-amz-copy-source') ?? '').split('?')[0]!).replace(/^\//, '')
  } catch {
    throw new S3Fault('InvalidArgument', 'Invalid copy source encoding', { ArgumentName: 'x-amz-copy-source' })
  }
  const slash = path.indexOf('/')
  if (slash <= 0 || slash === path.length - 1)
    throw new S3Fault('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey')
  const bucket = ctx.store.bucket(path.slice(0, slash))
  const object = bucket.object(path.slice(slash + 1))
  checkReadable(object)
  const ifMatch = header(ctx, 'x-amz-copy-source-if-match')
  const ifNoneMatch = header(ctx, 'x-amz-copy-source-if-none-match')
  if ((ifMatch !== undefined && !matches(object.etag, ifMatch)) || (ifNoneMatch !== undefined && matches(object.etag, ifNoneMatch))) {
    throw new S3Fault('PreconditionFailed')
  }
  return { bucket, object }
}

/** Conditional writes (PutObject, CompleteMultipartUpload): `If-None-Match: *` and `If-Match: etag`. Appends are refused. */
export function checkWrite(ctx: Ctx, b: BucketState, key: string): void {
  if (header(ctx, 'x-amz-write-offset-bytes') !== undefined) throw new S3Fault('NotImplemented', 'Appends (x-amz-write-offset-bytes) need a directory bucket')
  const existing = b.objects.get(key)
  const ifMatch = header(ctx, 'if-match')
  const ifNoneMatch = header(ctx, 'if-none-match')
  if (ifMatch !== undefined && !existing) throw new S3Fault('NoSuchKey', undefined, { Key: key })
  if ((ifMatch !== undefined && !matches(existing!.etag, ifMatch)) || (ifNoneMatch !== undefined && existing)) throw new S3Fault('PreconditionFailed')
}

export function putObject(ctx: Ctx): Reply {
  const b = ctx.store.bucket(ctx.bucket)
  checkKey(ctx.key)
  checkWrite(ctx, b, ctx.key)
  const etag = etagOf(ctx.body)
  b.put({ key: ctx.key, data: ctx.body, etag, lastModified: now(), ...templateOf(ctx) })
  return { headers: { etag } }
}

export function copyObject(ctx: Ctx): Reply {
  const dest = ctx.store.bucket(ctx.bucket)
  checkKey(ctx.key)
  const { bucket, object: src } = copySource(ctx)
  const directive = header(ctx, 'x-amz-metadata-directive') ?? 'COPY'
  if (directive !== 'COPY' && directive !== 'REPLACE')
    throw new S3Fault('InvalidArgument', 'Unknown metadata directive.', { ArgumentName: 'x-amz-metadata-directive' })
  if (bucket === dest && src.key === ctx.key && directive === 'COPY' && header(ctx, 'x-amz-storage-class') === undefined) {
    throw new S3Fault(
      'InvalidRequest',
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    )
  }
  // Like S3: the copy is STANDARD unless the request names a class, whatever the source's class.
  const template = directive === 'REPLACE' ? templateOf(ctx) : { ...src, storageClass: storageClassOf(ctx) }
  const { storageClass, contentType, metadata, headers } = template
  const etag = src.etag.includes('-') ? etagOf(src.data) : src.etag
  const lastModified = now()
  dest.put({ key: ctx.key, data: src.data, etag, lastModified, storageClass, contentType, metadata, headers })
  return xmlReply('CopyObjectResult', { LastModified: lastModified, ETag: etag })
}

/** [first, last] byte of a Range header; undefined for the whole object (no range, or one S3 ignores). */
function parseRange(value: string | undefined, size: number): [number, number] | undefined {
  const m = value === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(value.trim())
  if (!m || (m[1] === '' && m[2] === '')) return undefined
  const unsatisfiable = () => new S3Fault('InvalidRange', undefined, { RangeRequested: value!, ActualObjectSize: String(size) })
  if (m[1] === '') {
    if (Number(m[2]) === 0) throw unsatisfiable()
    return size === 0 ? undefined : [Math.max(0, size - Number(m[2])), size - 1]
  }
  const [first, last] = [Number(m[1]), m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)]
  if (first >= size) throw unsatisfiable()
  return last < first ? undefined : [first, last]
}

/** GetObject and HeadObject (the server sends no body for HEAD). */
export function getObject(ctx: Ctx): Reply {
  const o = ctx.store.bucket(ctx.bucket).object(ctx.key)
  if (ctx.method === 'GET') checkReadable(o)
  const lastModified = o.lastModified.toUTCString()
  const headers: Record<string, string | number> = {
    'content-type': o.contentType,
    etag: o.etag,
    'last-modified': lastModified,
    'accept-ranges': 'bytes',
    ...o.headers,
  }
  for (const [name, value] of Object.entries(o.metadata)) headers[`x-amz-meta-${name}`] = value
  if (o.storageClass !== 'STANDARD') headers['x-amz-storage-class'] = o.storageClass
  if (o.restoredUntil) headers['x-amz-restore'] = `ongoing-request="false", expiry-date="${o.restoredUntil.toUTCString()}"`
  const ifMatch = header(ctx, 'if-match')
  const ifNoneMatch = header(ctx, 'if-none-match')
  if (ifMatch !== undefined && !matches(o.etag, ifMatch)) throw new S3Fault('PreconditionFailed', undefined, { Condition: 'If-Match' })
  if (ifNoneMatch !== undefined && matches(o.etag, ifNoneMatch)) return { status: 304, headers: { etag: o.etag, 'last-modified': lastModified } }
  for (const name of [...STORED_HEADERS, 'content-type']) {
    const value = ctx.query.get(`response-${name}`)
    if (value !== null) headers[name] = value
  }
  const range = parseRange(header(ctx, 'range'), o.data.length)
  if (!range) return { headers: { ...headers, 'content-length': o.data.length }, body: o.data }
  const [first, last] = range
  const contentRange = `bytes ${first}-${last}/${o.data.length}`
  return { status: 206, headers: { ...headers, 'content-length': last - first + 1, 'content-range': contentRange }, body: o.data.subarray(first, last + 1) }
}

export function deleteObject(ctx: Ctx): Reply {
  ctx.store.bucket(ctx.bucket).delete(ctx.key)
  return { status: 204 }
}

/** DeleteObjects: up to 1000 keys; per-key errors in the result; `Quiet` lists only the errors. */
export function deleteObjects(ctx: Ctx): Reply {
  const b = ctx.store.bucket(ctx.bucket)
  if (!Object.keys(ctx.headers).some((h) => h === 'content-md5' || h.startsWith('x-amz-checksum-'))) {
    throw new S3Fault('InvalidRequest', 'Missing required header for this request: Content-MD5')
  }
  const xml = ctx.body.toString('utf8')
  const keys = elements(xml, 'Object').map((o) => textOf(o, 'Key'))
  if (!/<Delete[\s>]/.test(xml) || keys.length === 0 || keys.length > 1000 || keys.includes(undefined)) throw new S3Fault('MalformedXML')
  const quiet = textOf(xml, 'Quiet') === 'true'
  const deleted: { Key: string }[] = []
  const errors: { Key: string; Code: string; Message: string }[] = []
  for (const key of keys as string[]) {
    if (key === '') errors.push({ Key: key, Code: 'InvalidArgument', Message: 'The key is empty' })
    else if (Buffer.byteLength(key, 'utf8') > 1024) errors.push({ Key: key, Code: 'KeyTooLongError', Message: 'Your key is too long' })
    else {
      b.delete(key)
      if (!quiet) deleted.push({ Key: key })
    }
  }
  return xmlReply('DeleteResult', { Deleted: deleted, Error: errors })
}

/** RestoreObject: an archived object is restored at once; 202 the first time, 200 while already restored. */
export function restoreObject(ctx: Ctx): Reply {
  const o = ctx.store.bucket(ctx.bucket).object(ctx.key)
  if (!ARCHIVED.has(o.storageClass))
    throw new S3Fault('InvalidObjectState', "Restore is not allowed for the object's current storage class", { StorageClass: o.storageClass })
  const days = Number(textOf(ctx.body.toString('utf8'), 'Days') ?? '1')
  if (!Number.isSafeInteger(days) || days < 1) throw new S3Fault('MalformedXML')
  const already = o.restoredUntil !== undefined && o.restoredUntil > new Date()
  o.restoredUntil = new Date(Date.now() + days * 86_400_000)
  o.restoredUntil.setUTCHours(24, 0, 0, 0) // S3 rounds the expiry up to the next midnight UTC
  return { status: already ? 200 : 202 }
}
