/**
 * S3Client construction tuned for bulk work: endpoint and path style for S3-compatible
 * servers, checksum mode that they accept, enough sockets for the configured concurrency,
 * connect and idle timeouts, and a check of the answers S3 may turn into errors after a `200`.
 *
 * @example
 * ```ts
 * import { createClient } from 'bucketflow'
 * const client = createClient({ endpoint: 'http://127.0.0.1:7480', concurrency: 32, idleTimeout: 30_000 })
 * ```
 * @packageDocumentation
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'
import { validateConcurrency, validateInteger } from './validate.js'

/**
 * Default time to establish a TCP connection: 10 s.
 *
 * @example
 * ```ts
 * new Bucket('data', { connectTimeout: DEFAULT_CONNECT_TIMEOUT / 2 })
 * ```
 */
export const DEFAULT_CONNECT_TIMEOUT = 10_000
/**
 * Default time a request may go without a byte moving in either direction: 60 s (botocore's and
 * aws-cli's read timeout). Long server-side operations (a CompleteMultipartUpload of thousands of
 * parts, a large CopyObject) keep the connection alive with whitespace, so they are not idle.
 *
 * @example
 * ```ts
 * new Bucket('data', { idleTimeout: 2 * DEFAULT_IDLE_TIMEOUT }) // a very slow server
 * ```
 */
export const DEFAULT_IDLE_TIMEOUT = 60_000
/** Default attempts per request (the first included). */
export const DEFAULT_MAX_ATTEMPTS = 3

/** Options shared by {@link createClient} and `new Bucket(name, options)`. */
export interface ClientOptions {
  /**
   * Use this client as it is; every other option here is then ignored (timeouts and retries
   * are the client's own). bucketflow adds one middleware to it: the check that a
   * CompleteMultipartUpload, CopyObject or UploadPartCopy answered with its result, not an
   * `<Error>` inside a 200.
   */
  client?: S3Client
  /**
   * S3 endpoint URL, e.g. `http://127.0.0.1:7480`. Defaults to `AWS_ENDPOINT_URL_S3`, then
   * `AWS_ENDPOINT_URL`, then AWS itself.
   */
  endpoint?: string
  /** Region. Defaults to `AWS_REGION`, `AWS_DEFAULT_REGION`, then `us-east-1`. */
  region?: string
  /** Credentials or a provider. Defaults to the SDK's chain (environment, profile, IMDS, ...). */
  credentials?: S3ClientConfig['credentials']
  /** Path-style URLs. Defaults to true for a non-AWS endpoint, false for AWS. */
  forcePathStyle?: boolean
  /**
   * Parallel requests the client must serve; sizes the socket pool (maxSockets =
   * max(64, 2 x concurrency)). Default 8.
   */
  concurrency?: number
  /**
   * Attempts per request, including the first (SDK retry strategy). A download body that breaks
   * may also resume this many times in a row without progress. Default 3.
   */
  maxAttempts?: number
  /** Checksum mode. Defaults to WHEN_REQUIRED for a non-AWS endpoint, the SDK default for AWS. */
  checksums?: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED'
  /**
   * Milliseconds to wait for a TCP (and TLS) connection before the attempt fails and is retried.
   * An integer >= 1. @default 10000
   */
  connectTimeout?: number
  /**
   * Milliseconds a request may go without a byte moving (waiting for the answer, sending the
   * body, or reading it) before it is given up as stalled: a transient failure, retried like a
   * reset (a download resumes where it stopped). An integer >= 1. @default 60000
   */
  idleTimeout?: number
}

/** What bucketflow's own code needs to know of a client beyond what the SDK exposes. */
export interface ClientSettings {
  /** Milliseconds without a byte before a request (or a response body) counts as stalled. */
  idleTimeout: number
  /** Milliseconds to connect. */
  connectTimeout: number
  /** Attempts per request (and resumes in a row of a download body). */
  maxAttempts: number
  /** True when the SDK computes flexible checksums (CRC32/CRC64NVME) for uploads itself. */
  sdkChecksums: boolean
}

const settings = new WeakMap<S3Client, ClientSettings>()

/**
 * The settings bucketflow applies on top of an S3Client: those given to {@link createClient}, or
 * the defaults for a client built elsewhere (its checksum mode is read from its config).
 *
 * @example
 * ```ts
 * const { idleTimeout } = clientSettings(bucket.client) // 60000 unless set
 * ```
 */
export function clientSettings(client: S3Client): ClientSettings {
  let s = settings.get(client)
  if (!s) {
    const calc = (client.config as { requestChecksumCalculation?: unknown }).requestChecksumCalculation
    s = {
      idleTimeout: DEFAULT_IDLE_TIMEOUT,
      connectTimeout: DEFAULT_CONNECT_TIMEOUT,
      maxAttempts: DEFAULT_MAX_ATTEMPTS,
      // A client made elsewhere: unless it was explicitly set to WHEN_REQUIRED, the SDK adds its
      // own checksums (its default since 3.729).
      sdkChecksums: calc !== 'WHEN_REQUIRED' && typeof calc !== 'function',
    }
    settings.set(client, s)
    installResultCheck(client)
  }
  return s
}

/** The endpoint the options or the standard AWS environment point at, if any. */
export function resolveEndpoint(options: ClientOptions = {}): string | undefined {
  return options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL ?? undefined
}

/** True when the endpoint is AWS's own (or none is set, which means AWS). */
export function isAwsEndpoint(endpoint: string | undefined): boolean {
  if (!endpoint) return true
  try {
    const host = new URL(endpoint).hostname
    return host.endsWith('.amazonaws.com') || host.endsWith('.amazonaws.com.cn')
  } catch {
    return false
  }
}

/**
 * Build an S3Client. For a non-AWS endpoint it turns on path style and sets request/response
 * checksums to WHEN_REQUIRED (S3-compatible servers reject or mangle the SDK's default CRC32
 * aws-chunked uploads; bucketflow sends Content-MD5 there instead); for AWS it keeps the SDK's
 * request checksums. Responses are verified by bucketflow itself (see `verify` on downloads),
 * so the SDK's own response validation is left to WHEN_REQUIRED everywhere: one pass over the
 * bytes, not two. Every request gets a connect and an idle timeout, and a CopyObject,
 * UploadPartCopy or CompleteMultipartUpload whose `200` carries an `<Error>` (or anything but
 * its result element) is a transient error the SDK retries.
 *
 * @example
 * ```ts
 * const client = createClient() // reads AWS_ENDPOINT_URL_S3, AWS_REGION, credentials chain
 * ```
 */
export function createClient(options: ClientOptions = {}): S3Client {
  if (options.client) {
    clientSettings(options.client)
    return options.client
  }
  const concurrency = options.concurrency ?? 8
  validateConcurrency(concurrency)
  const connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT
  const idleTimeout = options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
  validateInteger(connectTimeout, 'connectTimeout', 1)
  validateInteger(idleTimeout, 'idleTimeout', 1)
  validateInteger(maxAttempts, 'maxAttempts', 1)
  const endpoint = resolveEndpoint(options)
  const aws = isAwsEndpoint(endpoint)
  const maxSockets = Math.max(64, concurrency * 2)
  const config: S3ClientConfig = {
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: options.forcePathStyle ?? !aws,
    maxAttempts,
    requestHandler: {
      httpAgent: { keepAlive: true, maxSockets },
      httpsAgent: { keepAlive: true, maxSockets },
      connectionTimeout: connectTimeout,
      // The socket's idle timer: no byte in either direction for this long fails the request
      // (before its answer: retried by the SDK; within a body: resumed by bucketflow).
      socketTimeout: idleTimeout,
    },
  }
  if (endpoint) config.endpoint = endpoint
  if (options.credentials) config.credentials = options.credentials
  const checksums = options.checksums ?? (aws ? undefined : 'WHEN_REQUIRED')
  if (checksums) config.requestChecksumCalculation = checksums
  config.responseChecksumValidation = 'WHEN_REQUIRED'
  const client = new S3Client(config)
  settings.set(client, { idleTimeout, connectTimeout, maxAttempts, sdkChecksums: checksums !== 'WHEN_REQUIRED' })
  installResultCheck(client)
  return client
}

/** The result element a successful answer must have, per command whose 200 may hide an error. */
const RESULT_ELEMENT: Record<string, string> = {
  CompleteMultipartUploadCommand: 'CompleteMultipartUploadResult',
  CopyObjectCommand: 'CopyObjectResult',
  UploadPartCopyCommand: 'CopyPartResult',
}

const checked = new WeakSet<S3Client>()

/**
 * The raw answers the result check turned from a 200 into a 503 (so code that reads the answer
 * later, such as the `sdk` transport's own check, can still tell the error came in a 200's body).
 */
export const ANSWERS_WITH_ERROR_IN_BODY = new WeakSet<object>()

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

/**
 * The name of the first element of an XML document (after any BOM, declaration, comments and
 * whitespace), or undefined when there is none.
 *
 * @example
 * ```ts
 * rootElement('<?xml version="1.0"?>\n<Error><Code>InternalError</Code></Error>\n') // 'Error'
 * ```
 */
export function rootElement(xml: string): string | undefined {
  const s = xml.replace(/^\uFEFF/, '').replace(/<\?[\s\S]*?\?>|<!--[\s\S]*?-->/g, '').trimStart()
  return /^<([A-Za-z_][\w.:-]*)/.exec(s)?.[1]
}

const escapeXml = (s: string) => s.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!)

/**
 * Install, once per client, the middleware that proves a CompleteMultipartUpload, CopyObject or
 * UploadPartCopy succeeded: its 200 must carry the operation's result element. An `<Error>`
 * document (with any whitespace around it, which the SDK's own check misses) or anything else
 * turns the answer into a 503, so the SDK parses the error and retries it as transient.
 */
function installResultCheck(client: S3Client): void {
  if (checked.has(client)) return
  checked.add(client)
  const middleware = (next: (args: unknown) => Promise<{ response: unknown }>, context: { commandName?: string }) => async (args: unknown) => {
    const result = await next(args)
    const element = RESULT_ELEMENT[context.commandName ?? '']
    const response = result.response
    if (element === undefined || !isRawResponse(response) || response.statusCode < 200 || response.statusCode >= 300) return result
    const bytes = await collectBytes(response.body)
    response.body = bytes
    const root = rootElement(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
    if (root === element) return result
    response.statusCode = 503
    ANSWERS_WITH_ERROR_IN_BODY.add(response as object)
    if (root !== 'Error') {
      const what = root === undefined ? 'an empty or unreadable body' : `<${root}>`
      const op = (context.commandName ?? '').replace(/Command$/, '')
      response.body = Buffer.from(
        `<Error><Code>InternalError</Code><Message>${escapeXml(`${op} answered 200 with ${what} instead of <${element}>`)}</Message></Error>`,
      )
    }
    return result
  }
  client.middlewareStack.addRelativeTo(middleware as unknown as Parameters<S3Client['middlewareStack']['addRelativeTo']>[0], {
    relation: 'after',
    toMiddleware: 'deserializerMiddleware',
    name: 'bucketflowResultCheck',
    override: true,
  })
}
