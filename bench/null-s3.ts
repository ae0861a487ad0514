/**
 * A null S3 server: answers just enough of the protocol for the load generator's put, get and
 * stat workloads (and its prefix check and cleanup), keeping only each key's size, and sending
 * zero bytes as object content. It does no storage work, so a benchmark against it measures the
 * client alone: how many requests per second one core of client can drive.
 *
 * `npx tsx bench/null-s3.ts [--port N]` prints `NULL_S3=http://127.0.0.1:PORT` and serves until
 * killed. It accepts any credentials and checks no signature. Listens on 127.0.0.1 only.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

const sizes = new Map<string, number>()
const ZERO = Buffer.alloc(1024 * 1024)

function xml(res: ServerResponse, status: number, body: string): void {
  const bytes = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`)
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': bytes.length, 'x-amz-request-id': 'null' })
  res.end(bytes)
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

async function drain(req: IncomingMessage): Promise<number> {
  let n = 0
  for await (const c of req) n += (c as Buffer).length
  return n
}

function list(res: ServerResponse, bucket: string, q: URLSearchParams): void {
  const prefix = q.get('prefix') ?? ''
  const delimiter = q.get('delimiter') ?? ''
  const max = Number(q.get('max-keys') ?? 1000)
  const after = q.get('continuation-token') ?? q.get('start-after') ?? ''
  const keys = [...sizes.keys()].filter((k) => k.startsWith(prefix) && k > after).sort()
  const contents: string[] = []
  const prefixes = new Set<string>()
  let last = ''
  let truncated = false
  for (const k of keys) {
    if (contents.length + prefixes.size >= max) {
      truncated = true
      break
    }
    const cut = delimiter ? k.indexOf(delimiter, prefix.length) : -1
    if (cut >= 0) prefixes.add(k.slice(0, cut + delimiter.length))
    else
      contents.push(
        `<Contents><Key>${esc(k)}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>"0"</ETag><Size>${sizes.get(k)}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
      )
    last = k
  }
  xml(
    res,
    200,
    `<ListBucketResult><Name>${esc(bucket)}</Name><Prefix>${esc(prefix)}</Prefix><KeyCount>${contents.length + prefixes.size}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${
      truncated ? `<NextContinuationToken>${esc(last)}</NextContinuationToken>` : ''
    }${contents.join('')}${[...prefixes].map((p) => `<CommonPrefixes><Prefix>${esc(p)}</Prefix></CommonPrefixes>`).join('')}</ListBucketResult>`,
  )
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://null')
  const [, bucket = '', ...rest] = url.pathname.split('/')
  const key = rest.map(decodeURIComponent).join('/')
  const q = url.searchParams
  const method = req.method ?? 'GET'
  const id = `${bucket}/${key}`
  if (key === '') {
    if (method === 'GET' && q.has('uploads'))
      return xml(res, 200, `<ListMultipartUploadsResult><Bucket>${esc(bucket)}</Bucket><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>`)
    if (method === 'GET') return list(res, bucket, q)
    if (method === 'POST' && q.has('delete')) {
      const text = (await body(req)).toString('utf8')
      const keys = [...text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!)
      for (const k of keys) sizes.delete(`${bucket}/${k.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')}`)
      return xml(res, 200, `<DeleteResult>${keys.map((k) => `<Deleted><Key>${k}</Key></Deleted>`).join('')}</DeleteResult>`)
    }
    await drain(req)
    res.writeHead(200, { 'content-length': 0 }).end()
    return
  }
  if (method === 'PUT') {
    sizes.set(id, await drain(req))
    res.writeHead(200, { etag: '"0"', 'content-length': 0 }).end()
    return
  }
  if (method === 'DELETE') {
    sizes.delete(id)
    res.writeHead(204).end()
    return
  }
  const size = sizes.get(id)
  if (size === undefined) return xml(res, 404, `<Error><Code>NoSuchKey</Code><Message>no</Message><Key>${esc(key)}</Key></Error>`)
  const headers = { 'content-length': size, etag: '"0"', 'last-modified': 'Thu, 01 Jan 2026 00:00:00 GMT', 'content-type': 'application/octet-stream' }
  if (method === 'HEAD') {
    res.writeHead(200, headers).end()
    return
  }
  res.writeHead(200, headers)
  for (let sent = 0; sent < size; sent += ZERO.length) {
    if (!res.write(ZERO.subarray(0, Math.min(ZERO.length, size - sent)))) await new Promise((r) => res.once('drain', r))
  }
  res.end()
}

/** Start the null server on 127.0.0.1; resolves to its URL and a close function. */
export async function startNullS3(port = 0): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.destroy(err as Error)
    })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--port')
  const { url } = await startNullS3(i > 0 ? Number(process.argv[i + 1]) : 0)
  process.stdout.write(`NULL_S3=${url}\n`)
}
