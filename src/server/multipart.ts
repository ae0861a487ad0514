/**
 * Multipart uploads on the local server: CreateMultipartUpload, UploadPart, UploadPartCopy,
 * CompleteMultipartUpload (with S3's part checks and `"md5-of-md5s-N"` ETag),
 * AbortMultipartUpload, ListMultipartUploads and ListParts.
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto'
import { maxParam } from './buckets.js'
import { S3Fault } from './errors.js'
import { checkKey, checkWrite, copySource, etagOf, md5, templateOf } from './objects.js'
import { header, xmlReply, type Ctx, type Reply } from './request.js'
import { now, OWNER, type Part, type Upload } from './store.js'
import { elements, textOf } from './xml.js'

const MIN_PART = 5 * 1024 * 1024

function upload(ctx: Ctx): Upload {
  return ctx.store.bucket(ctx.bucket).upload(ctx.query.get('uploadId') ?? '', ctx.key)
}

export function createUpload(ctx: Ctx): Reply {
  const b = ctx.store.bucket(ctx.bucket)
  checkKey(ctx.key)
  const id = randomBytes(18).toString('base64url')
  b.uploads.set(id, { id, key: ctx.key, initiated: new Date(), template: templateOf(ctx), parts: new Map() })
  return xmlReply('InitiateMultipartUploadResult', { Bucket: b.name, Key: ctx.key, UploadId: id })
}

/** UploadPart, or UploadPartCopy when `x-amz-copy-source` is sent (with `x-amz-copy-source-range`). */
export function uploadPart(ctx: Ctx): Reply {
  const u = upload(ctx)
  const raw = ctx.query.get('partNumber') ?? ''
  const n = Number(raw)
  if (!/^\d+$/.test(raw) || n < 1 || n > 10000)
    throw new S3Fault('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber' })
  const copying = header(ctx, 'x-amz-copy-source') !== undefined
  let data = copying ? copySource(ctx).object.data : ctx.body
  const range = copying ? header(ctx, 'x-amz-copy-source-range') : undefined
  if (range !== undefined) {
    const [, first, last] = (/^bytes=(\d+)-(\d+)$/.exec(range.trim()) ?? []).map(Number)
    if (first === undefined || last === undefined || first > last) {
      throw new S3Fault('InvalidArgument', 'The x-amz-copy-source-range value must be of the form bytes=first-last', {
        ArgumentName: 'x-amz-copy-source-range',
      })
    }
    if (last >= data.length) throw new S3Fault('InvalidRange', undefined, { RangeRequested: range, ActualObjectSize: String(data.length) })
    data = Buffer.from(data.subarray(first, last + 1)) // a copy: the part must not pin the source
  }
  const part: Part = { data, etag: etagOf(data), lastModified: now() }
  u.parts.set(n, part)
  return copying ? xmlReply('CopyPartResult', { LastModified: part.lastModified, ETag: part.etag }) : { headers: { etag: part.etag } }
}

export function completeUpload(ctx: Ctx): Reply {
  const b = ctx.store.bucket(ctx.bucket)
  const u = upload(ctx)
  const xml = ctx.body.toString('utf8')
  const listed = elements(xml, 'Part').map((p) => ({ n: Number(textOf(p, 'PartNumber')), etag: textOf(p, 'ETag') ?? '' }))
  if (!/<CompleteMultipartUpload[\s>]/.test(xml) || listed.length === 0) throw new S3Fault('MalformedXML')
  const parts = listed.map(({ n, etag }, i): Part => {
    if (i > 0 && !(n > listed[i - 1]!.n)) throw new S3Fault('InvalidPartOrder', undefined, { UploadId: u.id })
    const part = u.parts.get(n)
    if (!part || (etag.startsWith('"') ? etag : `"${etag}"`) !== part.etag) {
      throw new S3Fault('InvalidPart', undefined, { UploadId: u.id, PartNumber: String(n), ETag: etag })
    }
    return part
  })
  parts.forEach((part, i) => {
    if (i < parts.length - 1 && part.data.length < MIN_PART) {
      throw new S3Fault('EntityTooSmall', undefined, {
        UploadId: u.id,
        PartNumber: String(listed[i]!.n),
        ProposedSize: String(part.data.length),
        MinSizeAllowed: String(MIN_PART),
      })
    }
  })
  checkWrite(ctx, b, u.key)
  const digests = Buffer.concat(parts.map((p) => Buffer.from(p.etag.slice(1, -1), 'hex')))
  const etag = `"${md5(digests).toString('hex')}-${parts.length}"`
  b.put({ key: u.key, data: Buffer.concat(parts.map((p) => p.data)), etag, lastModified: now(), ...u.template })
  b.uploads.delete(u.id)
  const location = `http://${header(ctx, 'host') ?? 'localhost'}/${b.name}/${encodeURIComponent(u.key).replace(/%2F/g, '/')}`
  return xmlReply('CompleteMultipartUploadResult', { Location: location, Bucket: b.name, Key: u.key, ETag: etag })
}

export function abortUpload(ctx: Ctx): Reply {
  const u = upload(ctx)
  ctx.store.bucket(ctx.bucket).uploads.delete(u.id)
  return { status: 204 }
}

/** ListMultipartUploads: by key (byte order) then initiation, with prefix, markers and max-uploads. */
export function listUploads(ctx: Ctx): Reply {
  const b = ctx.store.bucket(ctx.bucket)
  const q = ctx.query
  if (q.get('delimiter')) throw new S3Fault('NotImplemented', 'ListMultipartUploads with a delimiter is not implemented by this server')
  const [prefix, keyMarker, idMarker] = ['prefix', 'key-marker', 'upload-id-marker'].map((p) => q.get(p) ?? '') as [string, string, string]
  const max = maxParam(ctx, 'max-uploads')
  const bytes = (u: Upload) => Buffer.from(u.key, 'utf8')
  const all = [...b.uploads.values()]
    .filter((u) => u.key.startsWith(prefix))
    .sort((x, y) => Buffer.compare(bytes(x), bytes(y)) || x.initiated.getTime() - y.initiated.getTime()) // stable: ties keep creation order
  let start = keyMarker === '' ? 0 : all.findIndex((u) => u.key === keyMarker && u.id === idMarker) + 1
  if (start === 0 && keyMarker !== '') start = all.findIndex((u) => Buffer.compare(bytes(u), Buffer.from(keyMarker, 'utf8')) > 0)
  const page = start < 0 ? [] : all.slice(start, start + max)
  const last = start >= 0 && start + max < all.length ? page.at(-1) : undefined
  return xmlReply('ListMultipartUploadsResult', {
    Bucket: b.name,
    KeyMarker: keyMarker,
    UploadIdMarker: idMarker,
    NextKeyMarker: last?.key,
    NextUploadIdMarker: last?.id,
    Prefix: prefix,
    MaxUploads: max,
    IsTruncated: last !== undefined,
    Upload: page.map((u) => ({ Key: u.key, UploadId: u.id, Initiator: OWNER, Owner: OWNER, StorageClass: u.template.storageClass, Initiated: u.initiated })),
  })
}

/** ListParts, by part number, with part-number-marker and max-parts. */
export function listParts(ctx: Ctx): Reply {
  const u = upload(ctx)
  const marker = Number(ctx.query.get('part-number-marker') ?? '0') || 0
  const max = maxParam(ctx, 'max-parts')
  const after = [...u.parts.entries()].filter(([n]) => n > marker).sort((x, y) => x[0] - y[0])
  const page = after.slice(0, max)
  return xmlReply('ListPartsResult', {
    Bucket: ctx.bucket,
    Key: u.key,
    UploadId: u.id,
    PartNumberMarker: marker,
    NextPartNumberMarker: page.at(-1)?.[0] ?? marker,
    MaxParts: max,
    IsTruncated: after.length > max,
    Part: page.map(([n, p]) => ({ PartNumber: n, LastModified: p.lastModified, ETag: p.etag, Size: p.data.length })),
    Initiator: OWNER,
    Owner: OWNER,
    StorageClass: u.template.storageClass,
  })
}
