/**
 * Answers of the `fast` transport read into results: error answers into TransportErrors, small
 * result documents (Copy, Complete, Initiate) and streamed listings, and a write's headers.
 *
 * @packageDocumentation
 */
import { codeForStatus, describeContent, isHtml, notS3Message, TransportError } from '../error.js'
import { parseErrorBody, readResultDocument, type DocumentReader, type ErrorDocument } from '../documents.js'
import type { PutObjectOutput } from '../types.js'
import type { XmlElement } from '../xml.js'
import { discard, networkError, readText } from './body.js'
import { checksumHeaders, copyHeaders, header, type Answer } from './headers.js'

/** Listing and batch answers are read up to this many bytes (1000 keys of 1024 bytes url-encoded fit many times). */
const MAX_DOCUMENT = 64 * 1024 * 1024
/** Error answers are read up to this many bytes (they are small documents). */
const MAX_ERROR_BODY = 64 * 1024

export async function errorAnswer(answer: Answer, method: string, signal: AbortSignal | undefined): Promise<TransportError> {
  let doc: ErrorDocument | undefined
  let text = ''
  if (method !== 'HEAD' && answer.status !== 304) {
    try {
      text = await readText(answer.body, MAX_ERROR_BODY)
      doc = parseErrorBody(text)
    } catch (err) {
      const e = networkError(err, signal)
      if (e.name === 'AbortError') throw e
    }
  } else {
    await answer.body.dump()
  }
  const requestId = doc?.RequestId ?? header(answer.headers, 'x-amz-request-id')
  const extended = header(answer.headers, 'x-amz-id-2')
  // A HEAD has no body to tell: only a body that is not an <Error> document shows the answer is not S3's.
  const clientSide = (answer.status >= 400 && answer.status < 500) || answer.status === 501
  const foreign = doc === undefined && clientSide && method !== 'HEAD' ? foreignBody(text, header(answer.headers, 'content-type')) : undefined
  const code = doc?.Code ?? (foreign ? 'UnexpectedResponse' : codeForStatus(answer.status))
  const message = foreign ? notS3Message(answer.status, foreign) : (doc?.Message ?? `${code} (HTTP ${answer.status})`)
  const err = new TransportError(code, message, {
    status: answer.status,
    ...(requestId === undefined ? {} : { requestId }),
    ...(extended === undefined ? {} : { extendedRequestId: extended }),
    ...(doc?.Key === undefined ? {} : { key: doc.Key }),
    ...(doc?.BucketName === undefined ? {} : { bucket: doc.BucketName }),
  })
  return err
}

/**
 * What an error answer held instead of an S3 error document (an HTML page, other text), or
 * undefined when it held nothing (S3 answers some errors without a body).
 */
function foreignBody(text: string, contentType: string | undefined): string | undefined {
  if (text.trim() === '') return undefined
  if (isHtml(contentType) || /^\s*<(!doctype html|html)[\s>]/i.test(text)) return 'an HTML page'
  const start = text.trim().slice(0, 60).replace(/\s+/g, ' ')
  return `${describeContent(contentType)} (${JSON.stringify(start)}${text.trim().length > 60 ? '...' : ''})`
}

/**
 * Throws UnexpectedResponse (see notS3Message) for a success answer that is an HTML page where S3
 * sends an XML document (a captive portal, a web server at the endpoint); its body is dropped.
 */
function refuseHtml(answer: Answer): void {
  if (!isHtml(header(answer.headers, 'content-type'))) return
  discard(answer.body)
  throw new TransportError('UnexpectedResponse', notS3Message(answer.status, 'an HTML page'), { status: answer.status })
}

/** A request whose answer is a small document that must have `expected` as its root. */
export async function resultDocument<T>(answer: Answer, expected: string, build: (root: XmlElement) => T, allowEmpty = false): Promise<T> {
  refuseHtml(answer)
  return readText(answer.body, 16 * 1024 * 1024).then((text) => {
    if (allowEmpty && text.trim() === '') return build({ name: expected, text: '', children: [] })
    const doc = readResultDocument(text, expected)
    const requestId = header(answer.headers, 'x-amz-request-id')
    if (doc.kind === 'error') {
      throw new TransportError(doc.error.Code, doc.error.Message ?? `${doc.error.Code} (in a ${answer.status} answer)`, {
        status: answer.status,
        inBody: true,
        ...((doc.error.RequestId ?? requestId) === undefined ? {} : { requestId: (doc.error.RequestId ?? requestId)! }),
      })
    }
    if (doc.kind === 'invalid') {
      throw new TransportError('InvalidResponse', `Expected <${expected}> in the ${answer.status} answer, got ${doc.reason}`, {
        status: answer.status,
        inBody: true,
        ...(requestId === undefined ? {} : { requestId }),
      })
    }
    return build(doc.root)
  })
}

export async function streamDocument<T>(answer: Answer, reader: DocumentReader<T>): Promise<T> {
  refuseHtml(answer)
  const malformed = (err: unknown) => {
    const requestId = header(answer.headers, 'x-amz-request-id')
    return new TransportError('InvalidResponse', `Malformed ${answer.status} answer: ${(err as Error).message}`, {
      status: answer.status,
      inBody: true,
      ...(requestId === undefined ? {} : { requestId }),
      cause: err,
    })
  }
  let size = 0
  for await (const chunk of answer.body as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_DOCUMENT) {
      discard(answer.body)
      throw new TransportError('InvalidResponse', `The ${answer.status} answer is larger than ${MAX_DOCUMENT} bytes: not an S3 listing`, {
        status: answer.status,
        inBody: true,
      })
    }
    try {
      reader.push(chunk)
    } catch (err) {
      discard(answer.body)
      throw malformed(err)
    }
  }
  let done: ReturnType<DocumentReader<T>['end']>
  try {
    done = reader.end()
  } catch (err) {
    throw malformed(err)
  }
  if ('error' in done) {
    throw new TransportError(done.error.Code, done.error.Message ?? done.error.Code, {
      status: answer.status,
      inBody: true,
      ...(done.error.RequestId === undefined ? {} : { requestId: done.error.RequestId }),
    })
  }
  return done.result
}

/** The result of a PutObject or UploadPart: ETag, version, request id and checksums from the headers. */
export async function putOutput(a: Answer): Promise<PutObjectOutput> {
  await a.body.dump()
  const out: PutObjectOutput = {}
  copyHeaders(a.headers, out as unknown as Record<string, unknown>, [
    ['etag', 'ETag'],
    ['x-amz-version-id', 'VersionId'],
    ['x-amz-request-id', 'RequestId'],
  ])
  checksumHeaders(a.headers, out as unknown as Record<string, unknown>)
  return out
}
