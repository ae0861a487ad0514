/**
 * A request recorder that works on both transports: the `sdk` transport's requests are taken
 * from the S3Client's middleware (as they are about to be sent), the `fast` transport's from
 * undici's `undici:request:create` diagnostics channel (filtered to the bucket's path, since the
 * channel is process-wide). Both record what goes on the wire: method, path (query included) and
 * the Range header, so a test counts and inspects requests the same way on either transport.
 */
import diagnostics from 'node:diagnostics_channel'
import type { Bucket } from '../../src/bucket.js'
import { transportOf } from '../../src/bucket-ref.js'

/** One request as it left the client. */
export interface RecordedRequest {
  method: string
  /** Path and query, e.g. `/bucket/key?partNumber=1&uploadId=...`. */
  path: string
  range?: string
}

/** What {@link recordRequests} returns: the requests so far (cleared with `length = 0`) and how to stop. */
export interface Recorder {
  requests: RecordedRequest[]
  stop(): void
}

/** Record the requests `bucket` sends (whichever transport it uses) until `stop()`. */
export function recordRequests(bucket: Bucket): Recorder {
  const requests: RecordedRequest[] = []
  if (transportOf(bucket).kind === 'fast') {
    const prefix = `/${bucket.name}`
    const onCreate = (message: unknown) => {
      const request = (message as { request: { method: string; path: string; headers: string[] | string } }).request
      if (request.path !== prefix && !request.path.startsWith(`${prefix}/`) && !request.path.startsWith(`${prefix}?`)) return
      const out: RecordedRequest = { method: request.method, path: request.path }
      const headers = request.headers
      if (Array.isArray(headers)) {
        for (let i = 0; i + 1 < headers.length; i += 2) if (headers[i]!.toLowerCase() === 'range') out.range = headers[i + 1]!
      }
      requests.push(out)
    }
    diagnostics.subscribe('undici:request:create', onCreate)
    return { requests, stop: () => diagnostics.unsubscribe('undici:request:create', onCreate) }
  }
  const name = `record-${Math.random()}`
  bucket.client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { method: string; path: string; query?: Record<string, string | string[] | null>; headers: Record<string, string> }
      const query = Object.entries(request.query ?? {})
        .map(([k, v]) => (v === null ? k : `${k}=${String(v)}`))
        .join('&')
      const out: RecordedRequest = { method: request.method, path: query ? `${request.path}?${query}` : request.path }
      const range = Object.entries(request.headers).find(([k]) => k.toLowerCase() === 'range')?.[1]
      if (range !== undefined) out.range = range
      requests.push(out)
      return next(args)
    },
    { step: 'finalizeRequest', name },
  )
  return { requests, stop: () => void bucket.client.middlewareStack.remove(name) }
}
