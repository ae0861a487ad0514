/**
 * What a handler of the local server gets (a parsed request, its body decoded) and returns (a
 * reply), and the request-body decoding: aws-chunked framing and the checksums a client sends.
 * @packageDocumentation
 */
import { createHash } from 'node:crypto'
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import * as zlib from 'node:zlib'
import { S3Fault } from './errors.js'
import type { Store } from './store.js'
import { toXml, type XmlValue } from './xml.js'

/** A parsed request. `key` is '' for bucket-level requests, `bucket` '' for the service. */
export interface Ctx {
  store: Store
  region: string
  method: string
  bucket: string
  key: string
  query: URLSearchParams
  headers: IncomingHttpHeaders
  /** The payload, aws-chunked framing removed and checksums verified. */
  body: Buffer
}

/** What a handler answers. */
export interface Reply {
  status?: number
  headers?: Record<string, string | number>
  body?: Buffer | string
}

export type Handler = (ctx: Ctx) => Reply | Promise<Reply>

/** One request header as a string (repeated ones joined with ','). */
export function header(ctx: Pick<Ctx, 'headers'>, name: string): string | undefined {
  const v = ctx.headers[name]
  return Array.isArray(v) ? v.join(',') : v
}

/** A 200 (or `status`) reply with an S3 XML document. */
export function xmlReply(root: string, body: XmlValue, status = 200): Reply {
  return { status, headers: { 'content-type': 'application/xml' }, body: toXml(root, body) }
}

/** Read the whole request body. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Remove aws-chunked framing (`size;chunk-signature=...\r\n data \r\n ... 0\r\n trailers \r\n`). */
function decodeAwsChunked(raw: Buffer): { data: Buffer; trailers: Record<string, string> } {
  const chunks: Buffer[] = []
  let at = 0
  for (;;) {
    const eol = raw.indexOf('\r\n', at)
    const size = eol < 0 ? NaN : parseInt(raw.toString('latin1', at, eol).split(';')[0]!, 16)
    if (!Number.isSafeInteger(size) || size < 0) throw new S3Fault('IncompleteBody', 'Malformed aws-chunked body')
    at = eol + 2
    if (size === 0) break
    if (at + size + 2 > raw.length || raw.toString('latin1', at + size, at + size + 2) !== '\r\n') {
      throw new S3Fault('IncompleteBody', 'Truncated aws-chunked body')
    }
    chunks.push(raw.subarray(at, at + size))
    at += size + 2
  }
  const trailers: Record<string, string> = {}
  for (const line of raw.toString('latin1', at).split('\r\n')) {
    const colon = line.indexOf(':')
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { data: Buffer.concat(chunks), trailers }
}

const CHECKSUMS: Record<string, (data: Buffer) => Buffer> = {
  'content-md5': (d) => createHash('md5').update(d).digest(),
  'x-amz-checksum-crc32': (d) => Buffer.from(zlib.crc32(d).toString(16).padStart(8, '0'), 'hex'),
  'x-amz-checksum-sha1': (d) => createHash('sha1').update(d).digest(),
  'x-amz-checksum-sha256': (d) => createHash('sha256').update(d).digest(),
}

/**
 * The payload of a request: aws-chunked framing removed (checked against
 * x-amz-decoded-content-length), then Content-MD5 and x-amz-checksum-{crc32,sha1,sha256}
 * (headers or trailers) verified. CRC32C and CRC64NVME checksums are accepted unverified.
 */
export function decodeBody(headers: IncomingHttpHeaders, raw: Buffer): Buffer {
  let data = raw
  let sums: Record<string, unknown> = headers
  if (/(^|,)\s*aws-chunked\s*(,|$)/.test(String(headers['content-encoding'] ?? '')) || String(headers['x-amz-content-sha256']).startsWith('STREAMING-')) {
    const decoded = decodeAwsChunked(raw)
    data = decoded.data
    sums = { ...headers, ...decoded.trailers }
    const expected = headers['x-amz-decoded-content-length']
    if (expected !== undefined && Number(expected) !== data.length) {
      throw new S3Fault('IncompleteBody', `Expected ${String(expected)} decoded bytes, got ${data.length}`)
    }
  }
  for (const [name, digest] of Object.entries(CHECKSUMS)) {
    const sent = sums[name]
    if (typeof sent !== 'string' || (name.endsWith('crc32') && typeof zlib.crc32 !== 'function')) continue // zlib.crc32: Node >= 20.15
    const want = Buffer.from(sent, 'base64')
    const got = digest(data)
    if (want.length !== got.length) throw new S3Fault('InvalidDigest', `The ${name} you specified is not valid.`)
    if (!want.equals(got)) throw new S3Fault('BadDigest', `The ${name} you specified did not match the calculated checksum.`)
  }
  return data
}
