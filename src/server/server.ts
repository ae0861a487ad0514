/**
 * An embedded S3 server on `node:http`, in process and in memory: routing and HTTP. See
 * {@link startLocalS3}.
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createBucket, deleteBucket, getBucketLocation, headBucket, listBuckets, listObjects } from './buckets.js'
import { S3Fault } from './errors.js'
import { abortUpload, completeUpload, createUpload, listParts, listUploads, uploadPart } from './multipart.js'
import { copyObject, deleteObject, deleteObjects, getObject, putObject, restoreObject } from './objects.js'
import { decodeBody, readBody, type Handler, type Reply } from './request.js'
import { Store } from './store.js'

/** Options for {@link startLocalS3}. */
export interface LocalS3Options {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number
  /** Address to bind. Default '127.0.0.1'; the server checks no credentials, so keep it on loopback. */
  host?: '127.0.0.1' | string
  /** Region the server reports. Default 'us-east-1'. */
  region?: string
}

/** A running embedded S3 server. */
export interface LocalS3 {
  /** Its URL, e.g. `http://127.0.0.1:41234`. Use path-style requests. */
  endpoint: string
  region: string
  /** Credentials to sign with (any are accepted). */
  credentials: { accessKeyId: string; secretAccessKey: string }
  /** The standard AWS environment variables that point a client at it. */
  env(): Record<string, string>
  /** Stop listening, drop open connections and forget every bucket. */
  close(): Promise<void>
}

/** Operations by `METHOD level selector`; the selector is the query parameter naming a subresource. */
const ROUTES: Record<string, Handler> = {
  'GET service ': listBuckets,
  'PUT bucket ': createBucket,
  'HEAD bucket ': headBucket,
  'DELETE bucket ': deleteBucket,
  'GET bucket ': listObjects,
  'GET bucket location': getBucketLocation,
  'GET bucket uploads': listUploads,
  'POST bucket delete': deleteObjects,
  'PUT object ': (ctx) => (ctx.headers['x-amz-copy-source'] === undefined ? putObject(ctx) : copyObject(ctx)),
  'GET object ': getObject,
  'HEAD object ': getObject,
  'DELETE object ': deleteObject,
  'POST object uploads': createUpload,
  'PUT object uploadId': uploadPart,
  'GET object uploadId': listParts,
  'POST object uploadId': completeUpload,
  'DELETE object uploadId': abortUpload,
  'POST object restore': restoreObject,
}
const SELECTORS = ['uploads', 'uploadId', 'delete', 'restore', 'location']
/** Query parameters the operations above take; any other names an operation the server lacks. */
const PARAMS = new Set([
  ...SELECTORS,
  ...'x-id list-type prefix delimiter max-keys start-after continuation-token fetch-owner encoding-type marker'.split(' '),
  ...'key-marker upload-id-marker max-uploads part-number-marker max-parts partNumber'.split(' '),
  ...'cache-control content-disposition content-encoding content-language content-type expires'.split(' ').map((h) => `response-${h}`),
])

function route(method: string, bucket: string, key: string, query: URLSearchParams): Handler {
  const unknown = [...query.keys()].find((p) => !PARAMS.has(p) && !p.toLowerCase().startsWith('x-amz-'))
  const partOfObject = query.has('partNumber') && !query.has('uploadId')
  const level = bucket === '' ? 'service' : key === '' ? 'bucket' : 'object'
  const handler = ROUTES[`${method} ${level} ${SELECTORS.find((s) => query.has(s)) ?? ''}`]
  if (!handler || unknown !== undefined || partOfObject) {
    const what = unknown === undefined ? `${method} on the ${level}` : `the '${unknown}' subresource`
    throw new S3Fault('NotImplemented', `This local S3 server does not implement ${what}`)
  }
  return handler
}

async function handle(store: Store, region: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomBytes(8).toString('hex').toUpperCase()
  const method = req.method ?? 'GET'
  let resource = '/'
  let reply: Reply
  try {
    const raw = await readBody(req)
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q < 0 ? url : url.slice(0, q)
    const slash = path.indexOf('/', 1)
    let bucket: string
    let key: string
    try {
      resource = decodeURIComponent(path)
      bucket = decodeURIComponent(slash < 0 ? path.slice(1) : path.slice(1, slash))
      key = slash < 0 ? '' : decodeURIComponent(path.slice(slash + 1))
    } catch {
      throw new S3Fault('InvalidURI')
    }
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1))
    const handler = route(method, bucket, key, query)
    reply = await handler({ store, region, method, bucket, key, query, headers: req.headers, body: decodeBody(req.headers, raw) })
  } catch (err) {
    const fault = err instanceof S3Fault ? err : new S3Fault('InternalError', err instanceof Error ? err.message : String(err))
    reply = { status: fault.status, headers: { 'content-type': 'application/xml' }, body: fault.toXml(resource, requestId) }
  }
  if (res.destroyed) return
  const length = reply.body === undefined ? 0 : Buffer.byteLength(reply.body)
  res.writeHead(reply.status ?? 200, {
    'content-length': length,
    ...reply.headers,
    'x-amz-request-id': requestId,
    'x-amz-id-2': requestId,
    server: 'bucketflow-local-s3',
  })
  res.end(method === 'HEAD' ? undefined : reply.body)
}

/**
 * Start an embedded S3 server in this process, for the zero-install demo, `bucketflow serve`
 * and local experiments. It speaks path-style S3 for what bucketflow uses (buckets; objects
 * with ranges, conditions and metadata; copies; batch deletes; listings in UTF-8 byte order;
 * multipart uploads; storage classes and restores) and answers anything else with 501
 * NotImplemented.
 *
 * For local use on loopback only: it accepts any credentials and does not verify SigV4
 * signatures. Memory: every object and uploaded part stays in RAM until deleted, and each
 * request body is held whole while it is handled; nothing survives `close()`.
 *
 * @example
 * ```ts
 * import { Bucket } from 'bucketflow'
 * import { startLocalS3 } from 'bucketflow/server'
 * const s3 = await startLocalS3()
 * const bucket = await Bucket.create('cats', { endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials })
 * await bucket.put('meow', 'hello.txt', { literal: true })
 * console.log(await bucket.read('hello.txt')) // 'meow'
 * await s3.close()
 * ```
 */
export async function startLocalS3(options: LocalS3Options = {}): Promise<LocalS3> {
  const host = options.host ?? '127.0.0.1'
  const region = options.region ?? 'us-east-1'
  const store = new Store()
  const server = createServer((req, res) => {
    handle(store, region, req, res).catch(() => res.destroy())
  })
  server.keepAliveTimeout = 65_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  const credentials = { accessKeyId: 'bucketflow-local', secretAccessKey: 'bucketflow-local-secret' }
  return {
    endpoint,
    region,
    credentials,
    env: () => ({
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: region,
    }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => {
          store.buckets.clear()
          if (err) reject(err)
          else resolve()
        })
        server.closeAllConnections()
      }),
  }
}
