/**
 * Headers of the `fast` transport: what a request carries (object, copy-source and condition
 * headers) and what an answer's headers say (object headers, checksums, copy results).
 *
 * @packageDocumentation
 */
import type { Dispatcher } from 'undici'
import { quoteEtag } from '../documents.js'
import type { CopyObjectOutput, CopySource, CopySourceConditions, NewObjectHeaders, ObjectHeaders } from '../types.js'
import { childText, type XmlElement } from '../xml.js'
import { encodeKey } from './sign.js'
import { escapeUri } from '../../aws-sdk.cjs'
import { decodeMetadataValue, encodeMetadata } from '../../metadata.js'

/** Request headers (lower-case names). */
export type Headers = Record<string, string>

/** One answer of the server, its body not read yet. */
export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Dispatcher.ResponseData['body']
  /** Which attempt of the request this answer is (1 for the first). */
  attempt: number
}

export function header(h: Answer['headers'], name: string): string | undefined {
  const v = h[name]
  return Array.isArray(v) ? v.join(',') : v
}

export function dateHeader(h: Answer['headers'], name: string): Date | undefined {
  const v = header(h, name)
  if (v === undefined) return undefined
  const d = new Date(v)
  return Number.isNaN(d.getTime()) ? undefined : d
}

export function intHeader(h: Answer['headers'], name: string): number | undefined {
  const v = header(h, name)
  if (v === undefined || v === '') return undefined
  const n = Number(v)
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined
}

/** Copy each header present in `h` onto `out` under its field name. */
export function copyHeaders(h: Answer['headers'], out: Record<string, unknown>, fields: readonly (readonly [header: string, field: string])[]): void {
  for (const [name, field] of fields) {
    const v = header(h, name)
    if (v !== undefined) out[field] = v
  }
}

const CHECKSUM_HEADERS = [
  ['x-amz-checksum-crc32', 'ChecksumCRC32'],
  ['x-amz-checksum-crc32c', 'ChecksumCRC32C'],
  ['x-amz-checksum-crc64nvme', 'ChecksumCRC64NVME'],
  ['x-amz-checksum-sha1', 'ChecksumSHA1'],
  ['x-amz-checksum-sha256', 'ChecksumSHA256'],
  ['x-amz-checksum-type', 'ChecksumType'],
  ['x-amz-server-side-encryption', 'ServerSideEncryption'],
  ['x-amz-server-side-encryption-customer-algorithm', 'SSECustomerAlgorithm'],
  ['x-amz-server-side-encryption-aws-kms-key-id', 'SSEKMSKeyId'],
] as const

export function checksumHeaders(h: Answer['headers'], out: Record<string, unknown>): void {
  copyHeaders(h, out, CHECKSUM_HEADERS)
}

/** The object headers of a GET or HEAD answer. */
export function objectHeaders(h: Answer['headers']): ObjectHeaders {
  const metadata: Record<string, string> = {}
  const out: ObjectHeaders = { Metadata: metadata }
  for (const name in h) {
    if (name.length > 11 && name.startsWith('x-amz-meta-')) metadata[name.slice(11)] = decodeMetadataValue(header(h, name)!)
  }
  const length = intHeader(h, 'content-length')
  if (length !== undefined) out.ContentLength = length
  const simple: [keyof ObjectHeaders, string][] = [
    ['ContentRange', 'content-range'],
    ['ETag', 'etag'],
    ['VersionId', 'x-amz-version-id'],
    ['ContentType', 'content-type'],
    ['ContentEncoding', 'content-encoding'],
    ['ContentDisposition', 'content-disposition'],
    ['ContentLanguage', 'content-language'],
    ['CacheControl', 'cache-control'],
    ['Expires', 'expires'],
    ['StorageClass', 'x-amz-storage-class'],
    ['Restore', 'x-amz-restore'],
    ['AcceptRanges', 'accept-ranges'],
    ['RequestId', 'x-amz-request-id'],
  ]
  for (const [field, name] of simple) {
    const v = header(h, name)
    if (v !== undefined) (out as unknown as Record<string, string>)[field] = v
  }
  const modified = dateHeader(h, 'last-modified')
  if (modified) out.LastModified = modified
  const parts = intHeader(h, 'x-amz-mp-parts-count')
  if (parts !== undefined) out.PartsCount = parts
  if (header(h, 'x-amz-delete-marker') === 'true') out.DeleteMarker = true
  checksumHeaders(h, out as unknown as Record<string, unknown>)
  return out
}

export function newObjectHeaders(input: NewObjectHeaders, headers: Headers): void {
  if (input.ContentType !== undefined) headers['content-type'] = input.ContentType
  if (input.ContentEncoding !== undefined) headers['content-encoding'] = input.ContentEncoding
  if (input.ContentDisposition !== undefined) headers['content-disposition'] = input.ContentDisposition
  if (input.ContentLanguage !== undefined) headers['content-language'] = input.ContentLanguage
  if (input.CacheControl !== undefined) headers['cache-control'] = input.CacheControl
  if (input.StorageClass !== undefined) headers['x-amz-storage-class'] = input.StorageClass
  if (input.Metadata) {
    const metadata = encodeMetadata(input.Metadata)
    for (const k of Object.keys(metadata)) headers[`x-amz-meta-${k.toLowerCase()}`] = metadata[k]!
  }
}

export function copySourceHeaders(source: CopySource, conditions: CopySourceConditions, headers: Headers): void {
  let value = `/${source.Bucket}/${encodeKey(source.Key)}`
  if (source.VersionId !== undefined) value += `?versionId=${escapeUri(source.VersionId)}`
  headers['x-amz-copy-source'] = value
  if (conditions.CopySourceIfMatch !== undefined) headers['x-amz-copy-source-if-match'] = conditions.CopySourceIfMatch
  if (conditions.CopySourceIfNoneMatch !== undefined) headers['x-amz-copy-source-if-none-match'] = conditions.CopySourceIfNoneMatch
  if (conditions.CopySourceIfModifiedSince) headers['x-amz-copy-source-if-modified-since'] = conditions.CopySourceIfModifiedSince.toUTCString()
  if (conditions.CopySourceIfUnmodifiedSince) headers['x-amz-copy-source-if-unmodified-since'] = conditions.CopySourceIfUnmodifiedSince.toUTCString()
}

export function conditionHeaders(input: { IfMatch?: string; IfNoneMatch?: string; IfModifiedSince?: Date; IfUnmodifiedSince?: Date }, headers: Headers): void {
  if (input.IfMatch !== undefined) headers['if-match'] = input.IfMatch
  if (input.IfNoneMatch !== undefined) headers['if-none-match'] = input.IfNoneMatch
  if (input.IfModifiedSince) headers['if-modified-since'] = input.IfModifiedSince.toUTCString()
  if (input.IfUnmodifiedSince) headers['if-unmodified-since'] = input.IfUnmodifiedSince.toUTCString()
}

export function queryOf(values: Record<string, string | number | undefined>): Record<string, string> | undefined {
  let query: Record<string, string> | undefined
  for (const k in values) {
    const v = values[k]
    if (v !== undefined) (query ??= {})[k] = String(v)
  }
  return query
}

export function requestIdOf(a: Answer): { RequestId?: string } {
  const requestId = header(a.headers, 'x-amz-request-id')
  return requestId === undefined ? {} : { RequestId: requestId }
}

export function flatHeaders(h: Answer['headers']): Record<string, string> {
  const out: Record<string, string> = {}
  for (const k in h) {
    const v = header(h, k)
    if (v !== undefined) out[k] = v
  }
  return out
}

export function copyOutput(root: XmlElement, a: Answer): CopyObjectOutput {
  const out: CopyObjectOutput = {}
  const etag = childText(root, 'ETag')
  if (etag !== undefined) out.ETag = quoteEtag(etag)!
  const modified = childText(root, 'LastModified')
  if (modified !== undefined) {
    const d = new Date(modified)
    if (!Number.isNaN(d.getTime())) out.LastModified = d
  }
  for (const name of ['ChecksumCRC32', 'ChecksumCRC32C', 'ChecksumCRC64NVME', 'ChecksumSHA1', 'ChecksumSHA256', 'ChecksumType'] as const) {
    const v = childText(root, name)
    if (v !== undefined) out[name] = v
  }
  copyHeaders(a.headers, out as unknown as Record<string, unknown>, [
    ['x-amz-version-id', 'VersionId'],
    ['x-amz-copy-source-version-id', 'CopySourceVersionId'],
    ['x-amz-request-id', 'RequestId'],
    ...CHECKSUM_HEADERS,
  ])
  return out
}
