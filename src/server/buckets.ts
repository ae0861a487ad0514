/**
 * Service- and bucket-level operations of the local server: ListBuckets, CreateBucket,
 * HeadBucket, DeleteBucket, GetBucketLocation, ListObjects (V1) and ListObjectsV2.
 * @packageDocumentation
 */
import { S3Fault } from './errors.js'
import { xmlReply, type Ctx, type Reply } from './request.js'
import { BucketState, OWNER } from './store.js'
import type { XmlValue } from './xml.js'

export function listBuckets(ctx: Ctx): Reply {
  const prefix = ctx.query.get('prefix') ?? ''
  const buckets = [...ctx.store.buckets.values()].filter((b) => b.name.startsWith(prefix)).sort((a, b) => (a.name < b.name ? -1 : 1))
  return xmlReply('ListAllMyBucketsResult', {
    Owner: OWNER,
    Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: b.created })) },
  })
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

export function createBucket(ctx: Ctx): Reply {
  const name = ctx.bucket
  if (!BUCKET_NAME.test(name) || name.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(name)) {
    throw new S3Fault('InvalidBucketName', undefined, { BucketName: name })
  }
  if (ctx.store.buckets.has(name)) throw new S3Fault('BucketAlreadyOwnedByYou', undefined, { BucketName: name })
  ctx.store.buckets.set(name, new BucketState(name))
  return { headers: { location: `/${name}` } }
}

export function headBucket(ctx: Ctx): Reply {
  ctx.store.bucket(ctx.bucket)
  return { headers: { 'x-amz-bucket-region': ctx.region } }
}

export function deleteBucket(ctx: Ctx): Reply {
  const b = ctx.store.bucket(ctx.bucket)
  if (b.objects.size > 0) throw new S3Fault('BucketNotEmpty', undefined, { BucketName: b.name })
  ctx.store.buckets.delete(b.name)
  return { status: 204 }
}

export function getBucketLocation(ctx: Ctx): Reply {
  ctx.store.bucket(ctx.bucket)
  return xmlReply('LocationConstraint', ctx.region === 'us-east-1' ? '' : ctx.region)
}

/** S3's `encoding-type=url`: percent-encoding with '/' kept and ' ' as '+'. */
function urlEncode(text: string): string {
  return encodeURIComponent(text).replace(/%2F/g, '/').replace(/%20/g, '+')
}

/** max-keys / max-uploads / max-parts: 0 to 1000 (larger values are capped, like S3). */
export function maxParam(ctx: Ctx, name: string): number {
  const raw = ctx.query.get(name)
  if (raw === null) return 1000
  const n = Number(raw)
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n))
    throw new S3Fault('InvalidArgument', `Provided ${name} not an integer or within integer range`, { ArgumentName: name, ArgumentValue: raw })
  return Math.min(n, 1000)
}

/** ListObjectsV2 (`list-type=2`) and ListObjects (V1, `marker`). */
export function listObjects(ctx: Ctx): Reply {
  const b = ctx.store.bucket(ctx.bucket)
  const q = ctx.query
  const v2 = q.get('list-type') === '2'
  const prefix = q.get('prefix') ?? ''
  const delimiter = q.get('delimiter') ?? ''
  const encodingType = q.get('encoding-type') ?? undefined
  if (encodingType !== undefined && encodingType !== 'url')
    throw new S3Fault('InvalidArgument', 'Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type' })
  const enc = (s: string | undefined) => (s === undefined || encodingType !== 'url' ? s : urlEncode(s))
  const token = q.get('continuation-token') ?? undefined
  let after = (v2 ? q.get('start-after') : q.get('marker')) ?? ''
  let skipPrefix: string | undefined
  if (v2 && token !== undefined) {
    const decoded = Buffer.from(token, 'base64url').toString('utf8')
    if (!/^[kp]/.test(decoded)) throw new S3Fault('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' })
    after = decoded.slice(1)
    if (decoded[0] === 'p') skipPrefix = after
  } else if (!v2 && delimiter && after.endsWith(delimiter)) {
    skipPrefix = after
  }
  const maxKeys = maxParam(ctx, 'max-keys')
  const page = b.list({ prefix, delimiter, after, maxKeys, ...(skipPrefix === undefined ? {} : { skipPrefix }) })
  const withOwner = !v2 || q.get('fetch-owner') === 'true'
  const body: { [name: string]: XmlValue } = {
    Name: b.name,
    Prefix: enc(prefix),
    Delimiter: delimiter ? enc(delimiter) : undefined,
    MaxKeys: maxKeys,
    EncodingType: encodingType,
    IsTruncated: page.truncated,
  }
  const next = page.truncated ? page.last : undefined
  if (v2) {
    body.KeyCount = page.objects.length + page.prefixes.length
    body.ContinuationToken = token
    body.NextContinuationToken = next && Buffer.from(`${next.isPrefix ? 'p' : 'k'}${next.value}`, 'utf8').toString('base64url')
    body.StartAfter = enc(q.get('start-after') ?? undefined)
  } else {
    body.Marker = enc(after)
    body.NextMarker = enc(next?.value)
  }
  body.Contents = page.objects.map((o) => ({
    Key: enc(o.key),
    LastModified: o.lastModified,
    ETag: o.etag,
    Size: o.data.length,
    StorageClass: o.storageClass,
    Owner: withOwner ? OWNER : undefined,
  }))
  body.CommonPrefixes = page.prefixes.map((p) => ({ Prefix: enc(p) }))
  return xmlReply('ListBucketResult', body)
}
