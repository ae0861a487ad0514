/**
 * A scripted HTTP proxy for request-layer tests, on 127.0.0.1 only: every request is recorded
 * and, unless a script step claims it, forwarded unchanged to the real S3 server. A step can
 * answer by itself (a 503 SlowDown, a 200 carrying an `<Error>`, a DeleteResult with per-key
 * errors), stall (never answer, or stop a body after some bytes: an idle server), or forward
 * and then rewrite the answer's body. Faults the fault proxy (proxy.ts) does not script.
 *
 * @example
 * ```ts
 * const proxy = await ScriptedProxy.start(s3.endpoint)
 * proxy.script({ match: (r) => r.method === 'POST' && r.query.has('uploadId'), times: 1, action: { respond: { status: 200, body: '<Error><Code>InternalError</Code></Error>\n' } } })
 * ```
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** One request as the proxy saw it. */
export interface SeenRequest {
  method: string
  /** Path and query as sent. */
  url: string
  path: string
  query: URLSearchParams
  headers: IncomingHttpHeaders
  /** Request body bytes received (known once the request was forwarded or answered). */
  bytes: number
}

/** What to do with a matching request. */
export type ScriptAction =
  | { respond: { status: number; headers?: Record<string, string>; body?: string | Buffer } }
  /** Read the request, then never answer (until the client gives up or the proxy closes). */
  | { stall: 'headers' }
  /** Forward; pass the answer's headers and its first `afterBytes` body bytes, then go silent. */
  | { stall: 'body'; afterBytes: number }
  /** Forward; replace the answer's body (status and headers kept but the length). */
  | { rewrite: (body: Buffer, status: number) => { status?: number; body: string | Buffer } }

/** A script step: the first step that matches (and has `times` left) applies. */
export interface ScriptStep {
  match: (request: SeenRequest) => boolean
  action: ScriptAction
  /** Apply to this many matching requests. Default: all. */
  times?: number
}

/** The proxy. Create with {@link ScriptedProxy.start}. */
export class ScriptedProxy {
  readonly requests: SeenRequest[] = []
  readonly #server: Server
  readonly #target: URL
  readonly #steps: { step: ScriptStep; left: number }[] = []
  readonly #sockets = new Set<Socket>()

  private constructor(server: Server, target: URL) {
    this.#server = server
    this.#target = target
  }

  /** Start in front of `target` (a local http:// endpoint). */
  static async start(target: string): Promise<ScriptedProxy> {
    const url = new URL(target)
    if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost'].includes(url.hostname)) throw new Error(`Only a local http endpoint, got ${target}`)
    const server = createServer()
    const proxy = new ScriptedProxy(server, url)
    server.on('request', (req, res) => proxy.#handle(req, res))
    server.on('connection', (socket) => {
      proxy.#sockets.add(socket)
      socket.on('close', () => proxy.#sockets.delete(socket))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return proxy
  }

  /** `http://127.0.0.1:PORT`. */
  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
  }

  /** Add a step (tried in the order added). */
  script(step: ScriptStep): void {
    this.#steps.push({ step, left: step.times ?? Infinity })
  }

  /** Remove every step and forget recorded requests. */
  reset(): void {
    this.#steps.length = 0
    this.requests.length = 0
  }

  /** Recorded requests matching `where`. */
  seen(where: (r: SeenRequest) => boolean = () => true): SeenRequest[] {
    return this.requests.filter(where)
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #pick(seen: SeenRequest): ScriptAction | undefined {
    for (const entry of this.#steps) {
      if (entry.left > 0 && entry.step.match(seen)) {
        entry.left--
        return entry.step.action
      }
    }
    return undefined
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://proxy')
    const seen: SeenRequest = { method: req.method ?? 'GET', url: req.url ?? '/', path: url.pathname, query: url.searchParams, headers: req.headers, bytes: 0 }
    this.requests.push(seen)
    req.on('data', (chunk: Buffer) => {
      seen.bytes += chunk.length
    })
    const action = this.#pick(seen)
    if (action && 'respond' in action) {
      req.resume()
      req.on('end', () => {
        const body = action.respond.body ?? ''
        res.writeHead(action.respond.status, { 'content-length': String(Buffer.byteLength(body)), 'x-amz-request-id': 'scripted', ...action.respond.headers })
        res.end(body)
      })
      return
    }
    if (action && 'stall' in action && action.stall === 'headers') {
      req.resume()
      return
    }
    const upstream = httpRequest({ host: this.#target.hostname, port: this.#target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      if (action && 'rewrite' in action) {
        const chunks: Buffer[] = []
        up.on('data', (c: Buffer) => chunks.push(c))
        up.on('end', () => {
          const out = action.rewrite(Buffer.concat(chunks), up.statusCode ?? 502)
          const headers = { ...up.headers, 'content-length': String(Buffer.byteLength(out.body)) }
          delete headers['transfer-encoding']
          res.writeHead(out.status ?? up.statusCode ?? 502, headers)
          res.end(out.body)
        })
        return
      }
      res.writeHead(up.statusCode ?? 502, up.headers)
      if (action && 'stall' in action && action.stall === 'body') {
        let sent = 0
        up.on('data', (c: Buffer) => {
          if (sent >= action.afterBytes) return
          const part = c.subarray(0, action.afterBytes - sent)
          sent += part.length
          res.write(part)
        })
        return
      }
      up.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy()
    })
    req.pipe(upstream)
  }
}
