/**
 * A fault-injecting HTTP proxy for tests, on 127.0.0.1 only. Point a client's `endpoint` at
 * `proxy.url`; every request is forwarded unchanged (Host header included, so SigV4 signatures
 * still match) to the real S3 server, and recorded. Rules inject faults into chosen requests:
 * resets before or after the server saw the request, 500 / 503 SlowDown answers, stalls (before
 * the answer or in the middle of its body), truncated or corrupted bodies, dropped ETags, a 200
 * with an `<Error>` document (CompleteMultipartUpload, CopyObject), corrupted request bodies,
 * listing pages that lie, and delays. `randomFaults` injects them at a rate from a seeded PRNG
 * (the soak in test/faults/).
 *
 * @example
 * ```ts
 * const proxy = await FaultProxy.start(s3.endpoint)
 * proxy.addRule({ match: (r) => r.op === 'UploadPart' && r.partNumber === 2, reset: true, times: 1 })
 * proxy.addRule({ match: (r) => r.op === 'GetObject', fault: 'corrupt-body', times: 1 })
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
  | 'CopyObject'
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
  fault?: 'reset' | 'delay' | 'rewrite' | 'respond' | FaultKind
  /** When the proxy started sending the response (status and headers) to the client. */
  respondedAt?: number
  /** Set when the request finished (response sent or connection reset). */
  finishedAt?: number
  startedAt: number
}

/**
 * A kind of fault:
 * - `reset`: reset the connection before the server sees the request (once part of its body came);
 * - `reset-after`: forward the request, let the server answer, then reset the connection (the
 *   server did the work; the client never hears of it);
 * - `status-500` / `status-503`: answer InternalError / SlowDown without forwarding;
 * - `stall`: never answer (the client's idle timeout must fire); not forwarded;
 * - `stall-body`: forward; send the headers and half the body, then nothing;
 * - `truncate`: forward; send the headers and half the body, then close the connection;
 * - `corrupt-body`: forward; flip one byte in the middle of the answer's body (same length);
 * - `drop-etag`: forward; remove the ETag header;
 * - `error-200`: forward (the server completes); answer 200 with an `<Error>` document;
 * - `error-200-unprocessed`: answer 200 with an `<Error>` document without forwarding;
 * - `corrupt-request`: flip one byte of the request body before forwarding;
 * - `no-such-upload`: answer 404 NoSuchUpload without forwarding;
 * - `list-drop-entry`: forward; remove one `<Contents>` of a listing page (KeyCount unchanged);
 * - `list-no-token`: forward; remove the NextContinuationToken of a truncated page;
 * - `list-stale-token`: forward; replace the NextContinuationToken by the request's own;
 * - `add-crc32`: forward; add an `x-amz-checksum-crc32` header computed over the body (as AWS
 *   sends for an object stored with a CRC32), so checksum verification can be tested.
 */
export type FaultKind =
  | 'reset'
  | 'reset-after'
  | 'status-500'
  | 'status-503'
  | 'stall'
  | 'stall-body'
  | 'truncate'
  | 'corrupt-body'
  | 'drop-etag'
  | 'error-200'
  | 'error-200-unprocessed'
  | 'corrupt-request'
  | 'no-such-upload'
  | 'list-drop-entry'
  | 'list-no-token'
  | 'list-stale-token'
  | 'add-crc32'

/** A fault rule: the first rule whose `match` accepts a request (and has `times` left) applies. */
export interface FaultRule {
  match: (request: ProxiedRequest) => boolean
  /** Reset the client connection (TCP RST) once part of the request body has arrived. */
  reset?: boolean
  /** A fault to inject (see {@link FaultKind}). */
  fault?: FaultKind
  /** For `error-200`: what follows `</Error>` (e.g. '\n'). Default ''. */
  trailing?: string
  /** For `add-crc32` with `corrupt-body`: also corrupt the body (after computing the checksum). */
  corrupt?: boolean
  /** For stalls: give up (close the connection) after this many ms. Default 60 000. */
  stallMs?: number
  /** Answer this S3 error without forwarding (e.g. `{ status: 403, code: 'InvalidObjectState' }`). */
  respond?: { status: number; code: string; message?: string }
  /** Delay the response by this many milliseconds (the request is forwarded at once). */
  delayMs?: number
  /**
   * Change the response headers before they reach the client (e.g. a wrong Content-Length on a
   * HEAD, to simulate a server that stored something else).
   */
  rewriteHeaders?: (headers: IncomingHttpHeaders) => IncomingHttpHeaders
  /** Apply to this many matching requests, then stop. Default: every matching request. */
  times?: number
}

/** Options of {@link FaultProxy.randomFaults}. */
export interface RandomFaults {
  /** Seed of the PRNG that decides which requests get a fault, and which. */
  seed: number
  /** Probability that a request gets a fault, 0 to 1. */
  rate: number
  /** The kinds to choose from (each only where it applies to the operation). Default: all that apply. */
  kinds?: FaultKind[]
  /** Only requests this accepts may get a fault. Default: all. */
  eligible?: (request: ProxiedRequest) => boolean
  /** For stalls: give up after this many ms. Default 60 000. */
  stallMs?: number
}

/** Which fault kinds make sense for which operation. */
export function applicableFaults(op: S3Op): FaultKind[] {
  const common: FaultKind[] = ['reset', 'reset-after', 'status-500', 'status-503', 'stall']
  switch (op) {
    case 'GetObject':
      return [...common, 'stall-body', 'truncate', 'corrupt-body', 'drop-etag']
    case 'HeadObject':
      return [...common, 'drop-etag']
    case 'PutObject':
    case 'UploadPart':
      return [...common, 'corrupt-request']
    case 'CompleteMultipartUpload':
    case 'CopyObject':
      return [...common, 'error-200', 'error-200-unprocessed']
    case 'ListObjects':
      return [...common, 'list-drop-entry', 'list-no-token', 'list-stale-token']
    default:
      return common
  }
}

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const ERROR_XML = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`

function classify(method: string, path: string, q: URLSearchParams, headers: IncomingHttpHeaders): { op: S3Op; bucket: string; key: string } {
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
  else if (method === 'PUT' && has('partNumber') && has('uploadId')) op = headers['x-amz-copy-source'] ? 'Other' : 'UploadPart'
  else if (method === 'POST' && has('uploadId')) op = 'CompleteMultipartUpload'
  else if (method === 'DELETE' && has('uploadId')) op = 'AbortMultipartUpload'
  else if (method === 'GET' && has('uploadId')) op = 'ListParts'
  else if (method === 'PUT') op = headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject'
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

  /**
   * Inject faults at random into requests no rule matched: each eligible request gets one with
   * probability `rate`, of a kind chosen uniformly among those that apply to its operation.
   * `injected` counts them by kind. Returns the PRNG's seed (to print).
   */
  randomFaults(options: RandomFaults): number {
    this.#random = { ...options, next: prng(options.seed) }
    return options.seed
  }

  /** Stop injecting random faults. */
  stopRandomFaults(): void {
    this.#random = undefined
  }

  /** Faults injected so far, by kind (rules and random ones). */
  readonly injected: Partial<Record<FaultKind | 'delay' | 'rewrite' | 'respond', number>> = {}

  #random: (RandomFaults & { next: () => number }) | undefined

  /** Give a rule back the use a request took when its fault could not apply to the answer. */
  #refund(rule: FaultRule | undefined): void {
    const entry = this.#rules.find((e) => e.rule === rule)
    if (entry && Number.isFinite(entry.left)) entry.left++
  }

  #pick(info: ProxiedRequest): FaultRule | undefined {
    for (const entry of this.#rules) {
      if (entry.left > 0 && entry.rule.match(info)) {
        entry.left--
        return entry.rule
      }
    }
    const random = this.#random
    if (random && (random.eligible?.(info) ?? true) && random.next() < random.rate) {
      const kinds = applicableFaults(info.op).filter((k) => random.kinds?.includes(k) ?? true)
      if (kinds.length === 0) return undefined
      const fault = kinds[Math.floor(random.next() * kinds.length)]!
      const rule: FaultRule = { match: () => true, fault }
      if (random.stallMs !== undefined) rule.stallMs = random.stallMs
      if (fault === 'error-200') rule.trailing = ['', '\n', '\r\n  \n'][Math.floor(random.next() * 3)]!
      return rule
    }
    return undefined
  }

  #count(kind: FaultKind | 'delay' | 'rewrite' | 'respond'): void {
    this.injected[kind] = (this.injected[kind] ?? 0) + 1
  }

  /** Hold a connection open for `ms`, then close it (unless the client gave up first). */
  #stall(req: IncomingMessage, res: ServerResponse, info: ProxiedRequest, ms: number): void {
    const timer = setTimeout(() => {
      info.finishedAt = Date.now()
      res.destroy()
    }, ms)
    res.on('close', () => {
      clearTimeout(timer)
      info.finishedAt ??= Date.now()
    })
    req.on('close', () => clearTimeout(timer))
  }

  /** Answer without forwarding, after reading the request body. */
  #answer(req: IncomingMessage, res: ServerResponse, info: ProxiedRequest, status: number, body: string, headers: Record<string, string> = {}): void {
    req.resume()
    req.once('end', () => {
      info.status = status
      info.respondedAt = Date.now()
      const bytes = req.method === 'HEAD' ? '' : body
      res.writeHead(status, {
        'content-type': 'application/xml',
        'content-length': String(Buffer.byteLength(bytes)),
        'x-amz-request-id': 'fault-proxy',
        ...headers,
      })
      res.end(bytes)
      res.on('finish', () => {
        info.finishedAt = Date.now()
      })
    })
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://proxy')
    const { op, bucket, key } = classify(req.method ?? 'GET', url.pathname, url.searchParams, req.headers)
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
    const fault = rule?.reset ? 'reset' : rule?.fault
    const stallMs = rule?.stallMs ?? 60_000

    if (fault === 'reset') {
      info.fault = 'reset'
      this.#count('reset')
      const kill = () => {
        info.finishedAt = Date.now()
        req.socket.resetAndDestroy()
      }
      const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined
      if (hasBody) req.once('data', kill)
      else kill()
      return
    }
    if (fault === 'status-500' || fault === 'status-503' || fault === 'no-such-upload' || fault === 'error-200-unprocessed') {
      info.fault = fault
      this.#count(fault)
      if (fault === 'status-500') this.#answer(req, res, info, 500, ERROR_XML('InternalError', 'We encountered an internal error. Please try again.'))
      else if (fault === 'status-503') this.#answer(req, res, info, 503, ERROR_XML('SlowDown', 'Please reduce your request rate.'))
      else if (fault === 'no-such-upload') this.#answer(req, res, info, 404, ERROR_XML('NoSuchUpload', 'The specified upload does not exist.'))
      else this.#answer(req, res, info, 200, ERROR_XML('InternalError', 'We encountered an internal error. Please try again.') + (rule?.trailing ?? ''))
      return
    }
    if (rule?.respond) {
      info.fault = 'respond'
      this.#count('respond')
      this.#answer(req, res, info, rule.respond.status, ERROR_XML(rule.respond.code, rule.respond.message ?? rule.respond.code))
      return
    }
    if (fault === 'stall') {
      info.fault = 'stall'
      this.#count('stall')
      this.#stall(req, res, info, stallMs)
      return
    }
    if (rule?.delayMs) {
      info.fault = 'delay'
      this.#count('delay')
    } else if (rule?.rewriteHeaders) {
      info.fault = 'rewrite'
      this.#count('rewrite')
    }

    const forward = (body?: Buffer) => {
      const upstream = httpRequest(
        {
          host: this.#target.hostname,
          port: this.#target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (up) => this.#respond(req, res, up, info, rule, fault, stallMs),
      )
      upstream.on('error', () => {
        info.finishedAt = Date.now()
        res.destroy()
      })
      req.on('error', () => upstream.destroy())
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy()
      })
      if (body) upstream.end(body)
      else req.pipe(upstream)
    }
    if (fault === 'corrupt-request') {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks)
        if (body.length > 0) {
          info.fault = 'corrupt-request'
          this.#count('corrupt-request')
          body[Math.floor(body.length / 2)]! ^= 0x5a
        }
        forward(body)
      })
      return
    }
    forward()
  }

  /** Send the upstream answer to the client, with the rule's fault. */
  #respond(
    req: IncomingMessage,
    res: ServerResponse,
    up: IncomingMessage,
    info: ProxiedRequest,
    rule: FaultRule | undefined,
    fault: FaultKind | undefined,
    stallMs: number,
  ): void {
    const status = up.statusCode ?? 502
    const mark = (kind: FaultKind) => {
      info.fault = kind
      this.#count(kind)
    }
    if (fault === 'reset-after') {
      mark('reset-after')
      up.resume()
      up.once('end', () => {
        info.finishedAt = Date.now()
        req.socket.resetAndDestroy()
      })
      return
    }
    const bodyFaults: (FaultKind | undefined)[] = [
      'stall-body',
      'truncate',
      'corrupt-body',
      'error-200',
      'list-drop-entry',
      'list-no-token',
      'list-stale-token',
      'add-crc32',
    ]
    if (!bodyFaults.includes(fault)) {
      let headers = rule?.rewriteHeaders ? rule.rewriteHeaders({ ...up.headers }) : up.headers
      if (fault === 'drop-etag' && headers.etag !== undefined) {
        mark('drop-etag')
        headers = { ...headers }
        delete headers.etag
      }
      const send = () => {
        info.status = status
        info.respondedAt = Date.now()
        res.writeHead(status, headers)
        up.pipe(res)
        res.on('finish', () => {
          info.finishedAt = Date.now()
        })
      }
      if (rule?.delayMs) sleep(rule.delayMs).then(send, send)
      else send()
      return
    }
    // Faults on the body: take it whole first.
    const chunks: Buffer[] = []
    up.on('data', (c: Buffer) => chunks.push(c))
    up.on('error', () => res.destroy())
    up.on('end', () => {
      let body = Buffer.concat(chunks)
      const headers: IncomingHttpHeaders = { ...up.headers }
      let sendStatus = status
      let cut: number | undefined
      let stall = false
      const ok = status >= 200 && status < 300
      if (fault === 'error-200') {
        mark('error-200')
        sendStatus = 200
        body = Buffer.from(ERROR_XML('InternalError', 'We encountered an internal error. Please try again.') + (rule?.trailing ?? ''))
        headers['content-type'] = 'application/xml'
      } else if (ok && body.length > 0 && (fault === 'corrupt-body' || fault === 'add-crc32')) {
        if (fault === 'add-crc32') {
          mark('add-crc32')
          headers['x-amz-checksum-crc32'] = crc32Base64(body)
        }
        if (fault === 'corrupt-body' || rule?.corrupt) {
          if (fault === 'corrupt-body') mark('corrupt-body')
          body = Buffer.from(body)
          body[Math.floor(body.length / 2)]! ^= 0x5a
        }
      } else if (ok && body.length > 1 && (fault === 'truncate' || fault === 'stall-body')) {
        mark(fault)
        cut = Math.floor(body.length / 2)
        stall = fault === 'stall-body'
      } else if (ok && fault === 'list-drop-entry' && (body.toString().match(/<Contents>/g) ?? []).length >= 2) {
        mark('list-drop-entry')
        body = Buffer.from(body.toString().replace(/<Contents>[\s\S]*?<\/Contents>/, ''))
      } else if (ok && fault === 'list-no-token' && /<IsTruncated>true<\/IsTruncated>/.test(body.toString())) {
        mark('list-no-token')
        body = Buffer.from(body.toString().replace(/<NextContinuationToken>[\s\S]*?<\/NextContinuationToken>/, ''))
      } else if (ok && fault === 'list-stale-token' && /<NextContinuationToken>/.test(body.toString())) {
        const own = info.query.get('continuation-token')
        if (own !== null) {
          mark('list-stale-token')
          body = Buffer.from(
            body.toString().replace(/<NextContinuationToken>[\s\S]*?<\/NextContinuationToken>/, `<NextContinuationToken>${own}</NextContinuationToken>`),
          )
        }
      }
      // A listing fault that found nothing to change (a page without a token, a last page): the
      // rule stays armed for the next matching request instead of passing for injected.
      if ((fault === 'list-drop-entry' || fault === 'list-no-token' || fault === 'list-stale-token') && info.fault !== fault) this.#refund(rule)
      if (cut === undefined) headers['content-length'] = String(body.length)
      delete headers['transfer-encoding']
      info.status = sendStatus
      info.respondedAt = Date.now()
      res.writeHead(sendStatus, headers)
      if (cut === undefined) {
        res.end(body)
        res.on('finish', () => {
          info.finishedAt = Date.now()
        })
        return
      }
      res.write(body.subarray(0, cut))
      if (stall) this.#stall(req, res, info, stallMs)
      else
        setTimeout(() => {
          info.finishedAt = Date.now()
          res.socket?.destroy()
        }, 20)
    })
  }
}

let CRC_TABLE: Int32Array | undefined
function crc32Base64(bytes: Uint8Array): string {
  if (!CRC_TABLE) {
    CRC_TABLE = new Int32Array(256)
    for (let n = 0; n < 256; n++) {
      let c = n
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1
      CRC_TABLE[n] = c
    }
  }
  let crc = -1
  for (const b of bytes) crc = CRC_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8)
  const out = Buffer.alloc(4)
  out.writeUInt32BE((crc ^ -1) >>> 0)
  return out.toString('base64')
}
