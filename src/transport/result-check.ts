/**
 * The one check, for the S3Client path, that a CompleteMultipartUpload, CopyObject or
 * UploadPartCopy succeeded: its 200 must carry the operation's result element. S3 may answer
 * 200 and send an `<Error>` afterwards (after whitespace that keeps the connection open), which
 * the SDK's own check misses when anything follows the document. The `fast` transport applies
 * the same rule with {@link readResultDocument} on its own answers.
 *
 * Installed once per client (by `createClient`, `clientSettings` and the `sdk` transport): an
 * answer without the result element becomes a 503, so the SDK parses the error and retries it
 * as transient; {@link errorInBodyOf} tells, from the error finally thrown, that it came in the
 * body of a 200 and what the body said.
 *
 * @packageDocumentation
 */
import type { S3Client } from '@aws-sdk/client-s3'
import { readResultDocument } from './documents.js'

/** The result element a successful answer must have, per command whose 200 may hide an error. */
const RESULT_ELEMENT: Record<string, string> = {
  CompleteMultipartUploadCommand: 'CompleteMultipartUploadResult',
  CopyObjectCommand: 'CopyObjectResult',
  UploadPartCopyCommand: 'CopyPartResult',
}

/** What a 200 answer held instead of its result element. */
export interface ErrorInBody {
  /** The `<Code>` of the `<Error>` it held, or `InvalidResponse` for anything else. */
  code: string
  message: string
}

const checked = new WeakSet<S3Client>()
/** Raw answers the check turned from a 200 into a 503, with what their body said. */
const errorsInBody = new WeakMap<object, ErrorInBody>()

interface RawResponse {
  statusCode: number
  headers: Record<string, string>
  body: unknown
}

function isRawResponse(value: unknown): value is RawResponse {
  return value != null && typeof (value as RawResponse).statusCode === 'number' && typeof (value as RawResponse).headers === 'object'
}

async function collectBytes(body: unknown): Promise<Uint8Array> {
  if (body == null) return new Uint8Array(0)
  if (body instanceof Uint8Array) return body
  const chunks: Uint8Array[] = []
  for await (const chunk of body as AsyncIterable<Uint8Array | string>) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  return Buffer.concat(chunks)
}

const escapeXml = (s: string) => s.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!)

/**
 * The error a 200 answer's body held instead of its result element, when `err` (thrown by
 * `client.send`) stems from such an answer; undefined otherwise.
 */
export function errorInBodyOf(err: unknown): ErrorInBody | undefined {
  const response = (err as { $response?: unknown } | null | undefined)?.$response
  return response != null && typeof response === 'object' ? errorsInBody.get(response) : undefined
}

/**
 * Install the result check on `client` (once; later calls do nothing). Memory: one answer body
 * of the three operations at a time per request (they are small XML documents).
 */
export function installResultCheck(client: S3Client): void {
  if (checked.has(client)) return
  checked.add(client)
  const middleware = (next: (args: unknown) => Promise<{ response: unknown }>, context: { commandName?: string }) => async (args: unknown) => {
    const result = await next(args)
    const element = RESULT_ELEMENT[context.commandName ?? '']
    const response = result.response
    if (element === undefined || !isRawResponse(response) || response.statusCode < 200 || response.statusCode >= 300) return result
    const bytes = await collectBytes(response.body)
    response.body = bytes
    const status = response.statusCode
    const doc = readResultDocument(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), element)
    if (doc.kind === 'result') return result
    response.statusCode = 503
    if (doc.kind === 'error') {
      errorsInBody.set(response, { code: doc.error.Code, message: doc.error.Message ?? `${doc.error.Code} (in a ${status} answer)` })
    } else {
      const op = (context.commandName ?? '').replace(/Command$/, '')
      const message = `${op} answered ${status} with ${doc.reason} instead of <${element}>`
      errorsInBody.set(response, { code: 'InvalidResponse', message })
      response.body = Buffer.from(`<Error><Code>InternalError</Code><Message>${escapeXml(message)}</Message></Error>`)
    }
    return result
  }
  // Next to the deserializer on the client's stack: inside the SDK's own 200-with-error check
  // (which each command adds), so this one sees the answer as the server sent it.
  client.middlewareStack.addRelativeTo(middleware as unknown as Parameters<S3Client['middlewareStack']['addRelativeTo']>[0], {
    relation: 'after',
    toMiddleware: 'deserializerMiddleware',
    name: 'bucketflowResultCheck',
    override: true,
  })
}
