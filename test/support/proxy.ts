/**
 * A fault-injecting HTTP proxy for tests, on 127.0.0.1 only. Point a client's `endpoint` at
 * `proxy.url`; every request is forwarded unchanged (Host header included, so SigV4 signatures
 * still match) to the real S3 server, and recorded. Rules can reset the connection of chosen
 * requests (e.g. the first UploadPart attempt of part 2) or delay their responses (a slow
 * server).
 *
 * @example
 * ```ts
 * const proxy = await FaultProxy.start(s3.endpoint)
 * proxy.addRule({ match: (r) => r.op === 'UploadPart' && r.partNumber === 2, reset: true, times: 1 })
 * const bucket = new Bucket(name, s3Options({ endpoint: proxy.url }))
 * ...
 * expect(proxy.count('UploadPart')).toBe(5)
 * await proxy.close()
 * ```
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** The S3 operation a request is, as far as the proxy can tell from method, path and query. */
export type S3Op =
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'ListMultipartUploads'
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'DeleteObjects'
  | 'ListObjects'
  | 'HeadBucket'
  | 'CreateBucket'
  | 'DeleteBucket'
  | 'CreateSession'
  | 'Other'

/** What the proxy saw of one request. */
export interface ProxiedRequest {
  /** 1, 2, 3... in arrival order. */
  id: number
  method: string
  /** Path and query as sent. */
  url: string
  /** Bucket and key from the path (path-style addressing). */
  bucket: string
  key: string
  query: URLSearchParams
  headers: IncomingHttpHeaders
  op: S3Op
  /** UploadPart's part number. */
  partNumber?: number
  /** Request body bytes received so far. */
  bytes: number
  /** Response status sent to the client; undefined while in flight or when reset. */
  status?: number
  /** The fault applied, if any. */
  fault?: 'reset' | 'delay' | 'rewrite' | 'stall'
  /** When the proxy started sending the response (status and headers) to the client. */
  respondedAt?: number
  /** Set when the request finished (response sent or connection reset). */
  finishedAt?: number
  startedAt: number
}

/** A fault rule: the first rule whose `match` accepts a request (and has `times` left) applies. */
export interface FaultRule {
  match: (request: ProxiedRequest) => boolean
  /** Reset the client connection (TCP RST) once part of the request body has arrived. */
  reset?: boolean
  /** Delay the response by this many milliseconds (the request is forwarded at once). */
  delayMs?: number
  /**
   * Change the response headers before they reach the client (e.g. a wrong Content-Length on a
   * HEAD, to simulate a server that stored something else).
   */
  rewriteHeaders?: (headers: IncomingHttpHeaders) => IncomingHttpHeaders
  /**
   * Send the response's status, headers and first this many body bytes, then nothing more (a
   * server that stalls mid-body); the connection stays open until a side closes it.
   */
  stallAfterBytes?: number
  /** Apply to this many matching requests, then stop. Default: every matching request. */
  times?: number
}

function classify(method: string, path: string, q: URLSearchParams): { op: S3Op; bucket: string; key: string } {
  const parts = path.split('/')
  const bucket = decodeURIComponent(parts[1] ?? '')
  // S3 Express path-style URLs carry a double slash after the bucket.
  const key = parts.slice(2).map(decodeURIComponent).join('/').replace(/^\/+/, '')
  const has = (name: string) => q.has(name)
  let op: S3Op = 'Other'
  if (has('session')) op = 'CreateSession'
  else if (key === '') {
    if (method === 'GET' && has('uploads')) op = 'ListMultipartUploads'
    else if (method === 'GET') op = 'ListObjects'
    else if (method === 'HEAD') op = 'HeadBucket'
    else if (method === 'PUT') op = 'CreateBucket'
    else if (method === 'DELETE') op = 'DeleteBucket'
    else if (method === 'POST' && has('delete')) op = 'DeleteObjects'
  } else if (method === 'POST' && has('uploads')) op = 'CreateMultipartUpload'
  else if (method === 'PUT' && has('partNumber') && has('uploadId')) op = 'UploadPart'
  else if (method === 'POST' && has('uploadId')) op = 'CompleteMultipartUpload'
  else if (method === 'DELETE' && has('uploadId')) op = 'AbortMultipartUpload'
  else if (method === 'GET' && has('uploadId')) op = 'ListParts'
  else if (method === 'PUT') op = 'PutObject'
  else if (method === 'GET') op = 'GetObject'
  else if (method === 'HEAD') op = 'HeadObject'
  else if (method === 'DELETE') op = 'DeleteObject'
  return { op, bucket, key }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The proxy. Create with {@link FaultProxy.start}. */
export class FaultProxy {
  /** Every request seen, in arrival order. */
  readonly requests: ProxiedRequest[] = []
  readonly #server: Server
  readonly #target: URL
  readonly #rules: { rule: FaultRule; left: number }[] = []
  readonly #sockets = new Set<Socket>()

  private constructor(server: Server, target: URL) {
    this.#server = server
    this.#target = target
  }

  /** Start a proxy on 127.0.0.1 (a free port) in front of `target` (an http:// endpoint). */
  static async start(target: string): Promise<FaultProxy> {
    const url = new URL(target)
    if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost'].includes(url.hostname)) {
      throw new Error(`The fault proxy only forwards to a local http endpoint, got ${target}`)
    }
    const server = createServer()
    const proxy = new FaultProxy(server, url)
    server.on('request', (req, res) => proxy.#handle(req, res))
    server.on('connection', (socket) => {
      proxy.#sockets.add(socket)
      socket.on('close', () => proxy.#sockets.delete(socket))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return proxy
  }

  /** The endpoint to give a client: `http://127.0.0.1:PORT`. */
  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
  }

  /** Add a fault rule (rules are tried in the order added). */
  addRule(rule: FaultRule): void {
    this.#rules.push({ rule, left: rule.times ?? Infinity })
  }

  /** Remove every rule. */
  clearRules(): void {
    this.#rules.length = 0
  }

  /** Forget the recorded requests. */
  clearRequests(): void {
    this.requests.length = 0
  }

  /** Recorded requests of one operation (optionally only those matching `where`). */
  of(op: S3Op, where: (r: ProxiedRequest) => boolean = () => true): ProxiedRequest[] {
    return this.requests.filter((r) => r.op === op && where(r))
  }

  /** How many requests of one operation were seen. */
  count(op: S3Op): number {
    return this.of(op).length
  }

  /** Stop listening and drop every connection. */
  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #pick(info: ProxiedRequest): FaultRule | undefined {
    for (const entry of this.#rules) {
      if (entry.left > 0 && entry.rule.match(info)) {
        entry.left--
        return entry.rule
      }
    }
    return undefined
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://proxy')
    const { op, bucket, key } = classify(req.method ?? 'GET', url.pathname, url.searchParams)
    const info: ProxiedRequest = {
      id: this.requests.length + 1,
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      bucket,
      key,
      query: url.searchParams,
      headers: req.headers,
      op,
      bytes: 0,
      startedAt: Date.now(),
    }
    if (op === 'UploadPart') info.partNumber = Number(url.searchParams.get('partNumber'))
    this.requests.push(info)
    const rule = this.#pick(info)
    req.on('data', (chunk: Buffer) => {
      info.bytes += chunk.length
    })

    if (rule?.reset) {
      info.fault = 'reset'
      const kill = () => {
        info.finishedAt = Date.now()
        req.socket.resetAndDestroy()
      }
      const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined
      if (hasBody) req.once('data', kill)
      else kill()
      return
    }
    if (rule?.delayMs) info.fault = 'delay'
    else if (rule?.rewriteHeaders) info.fault = 'rewrite'
    else if (rule?.stallAfterBytes !== undefined) info.fault = 'stall'

    const upstream = httpRequest(
      {
        host: this.#target.hostname,
        port: this.#target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        const send = () => {
          info.status = up.statusCode ?? 502
          info.respondedAt = Date.now()
          res.writeHead(up.statusCode ?? 502, rule?.rewriteHeaders ? rule.rewriteHeaders({ ...up.headers }) : up.headers)
          const stallAt = rule?.stallAfterBytes
          if (stallAt === undefined) {
            up.pipe(res)
          } else {
            let sent = 0
            up.on('data', (chunk: Buffer) => {
              if (sent >= stallAt) return void up.pause()
              const part = chunk.subarray(0, stallAt - sent)
              sent += part.length
              res.write(part)
              if (sent >= stallAt) up.pause()
            })
          }
          res.on('finish', () => {
            info.finishedAt = Date.now()
          })
        }
        if (rule?.delayMs) sleep(rule.delayMs).then(send, send)
        else send()
      },
    )
    upstream.on('error', () => {
      info.finishedAt = Date.now()
      res.destroy()
    })
    req.on('error', () => upstream.destroy())
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy()
    })
    req.pipe(upstream)
  }
}
