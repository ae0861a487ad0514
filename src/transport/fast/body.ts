/**
 * Errors and bodies of the `fast` transport: undici's errors in the SDK's shape, and the few
 * ways an answer's body is read or dropped.
 *
 * @packageDocumentation
 */
import type { Readable } from 'node:stream'
import { abortError, TransportError } from '../error.js'
import type { Answer } from './headers.js'

const UNDICI_TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

/**
 * Give an undici or socket error the SDK's shape: timeouts are `TimeoutError` (code
 * `ETIMEDOUT`), a socket closed by the other side is `ECONNRESET`; Node errno codes are kept.
 */
export function networkError(err: unknown, signal: AbortSignal | undefined): Error {
  if (signal?.aborted) return abortError(signal)
  if (err instanceof TransportError) return err
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string } }
  if (e?.name === 'AbortError') return err as Error
  if (e?.code !== undefined && UNDICI_TIMEOUTS.has(e.code)) {
    const kind = e.code === 'UND_ERR_CONNECT_TIMEOUT' ? 'connect' : 'idle'
    return new TransportError('TimeoutError', `${kind === 'connect' ? 'Connect' : 'Idle'} timeout: ${e.message ?? ''}`.trim(), {
      code: 'ETIMEDOUT',
      cause: err,
    })
  }
  let code = e?.code
  if (code === undefined || code.startsWith('UND_ERR')) code = e?.cause?.code ?? (code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED' ? 'ECONNRESET' : code)
  return new TransportError(code ?? 'NetworkError', e?.message ?? String(err), { ...(code === undefined ? {} : { code }), cause: err })
}

/** Give a body stream's errors the same shape (in place: the stream emits undici's objects). */
export function shapeBodyErrors(body: Readable, signal: AbortSignal | undefined): void {
  body.prependListener('error', (err: Error & { code?: string; $metadata?: unknown; Code?: string }) => {
    if (signal?.aborted) return
    if (err.code !== undefined && UNDICI_TIMEOUTS.has(err.code)) {
      err.name = 'TimeoutError'
      err.Code = 'TimeoutError'
      err.code = 'ETIMEDOUT'
    } else if (err.code === 'UND_ERR_SOCKET') {
      err.code = (err.cause as { code?: string } | undefined)?.code ?? 'ECONNRESET'
    }
  })
}

/** Drop a body we do not read (without an unhandled 'error' from undici's destroy). */
export function discard(body: Readable): void {
  body.on('error', () => undefined)
  body.destroy()
}

export async function readText(body: Answer['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) {
      discard(body)
      break
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}
