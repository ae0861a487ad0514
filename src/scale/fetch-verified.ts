/**
 * Downloads checked against an MD5 from a manifest before anything reads them: into memory, or,
 * above `spoolBytes`, into a temporary file (so memory stays bounded whatever the file size).
 * Internal to the scale module.
 */
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { transportOf, type BucketRef } from '../bucket-ref.js'
import { IntegrityError, toBucketflowError } from '../errors.js'

/** A verified download: its bytes, or a temporary file holding them. */
export type VerifiedFile = { kind: 'memory'; bytes: Buffer; size: number } | { kind: 'file'; path: string; dir: string; size: number }

/** Default size above which a download goes to a temporary file instead of memory: 64 MiB. */
export const DEFAULT_SPOOL_BYTES = 64 * 1024 * 1024

async function open(ref: BucketRef, key: string, signal: AbortSignal | undefined): Promise<{ body: Readable; etag: string; length: number | undefined }> {
  try {
    const out = await transportOf(ref).getObject({ Bucket: ref.name, Key: key }, signal ? { signal } : {})
    return { body: out.Body as Readable, etag: out.ETag ?? '', length: out.ContentLength }
  } catch (err) {
    throw toBucketflowError(err, { bucket: ref.name, key, operation: 'GetObject' })
  }
}

/** A whole (small) object in memory and its ETag; its length is checked against Content-Length. */
export async function getBytes(ref: BucketRef, key: string, signal?: AbortSignal): Promise<{ bytes: Buffer; etag: string }> {
  const { body, etag, length } = await open(ref, key, signal)
  const chunks: Buffer[] = []
  try {
    for await (const chunk of body) chunks.push(chunk as Buffer)
  } catch (err) {
    throw toBucketflowError(err, { bucket: ref.name, key, operation: 'GetObject' })
  }
  const bytes = Buffer.concat(chunks)
  if (length !== undefined && bytes.length !== length) {
    throw new IntegrityError(`s3://${ref.name}/${key}: received ${bytes.length} bytes, the server announced ${length}`, { bucket: ref.name, key })
  }
  return { bytes, etag }
}

/** MD5 of bytes, as lower-case hex. */
export function md5Hex(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex')
}

/**
 * Download `key` and check it against `expect` (size and MD5 hex, when given) before returning
 * it. A mismatch is an IntegrityError and leaves nothing behind.
 */
export async function fetchVerified(
  ref: BucketRef,
  key: string,
  expect: { size?: number; md5?: string },
  options: { spoolBytes: number; signal?: AbortSignal },
): Promise<VerifiedFile> {
  const where = { bucket: ref.name, key }
  const { body, length } = await open(ref, key, options.signal)
  const announced = length ?? expect.size
  const hash = createHash('md5')
  let size = 0
  let result: VerifiedFile
  let dir: string | undefined
  try {
    if (announced !== undefined && announced > options.spoolBytes) {
      dir = await mkdtemp(join(tmpdir(), 'bucketflow-scale-'))
      const path = join(dir, 'data')
      const hasher = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk)
          size += chunk.length
          callback(null, chunk)
        },
      })
      await pipeline(body, hasher, createWriteStream(path, { flags: 'wx' }), options.signal ? { signal: options.signal } : {})
      result = { kind: 'file', path, dir, size }
    } else {
      const chunks: Buffer[] = []
      for await (const chunk of body) {
        hash.update(chunk as Buffer)
        size += (chunk as Buffer).length
        // More than announced: stop now rather than hold whatever the server keeps sending.
        if (announced !== undefined && size > announced) throw new IntegrityError(`s3://${ref.name}/${key}: more than the ${announced} bytes announced`, where)
        chunks.push(chunk as Buffer)
      }
      result = { kind: 'memory', bytes: Buffer.concat(chunks), size }
    }
  } catch (err) {
    body.destroy()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    throw toBucketflowError(err, { ...where, operation: 'GetObject' })
  }
  const fail = async (message: string): Promise<never> => {
    await release(result)
    throw new IntegrityError(`s3://${ref.name}/${key}: ${message}`, where)
  }
  if (length !== undefined && size !== length) await fail(`received ${size} bytes, the server announced ${length}`)
  if (expect.size !== undefined && size !== expect.size) await fail(`${size} bytes, the manifest says ${expect.size}`)
  if (expect.md5 !== undefined) {
    const actual = hash.digest('hex')
    if (actual !== expect.md5.toLowerCase()) await fail(`MD5 ${actual} does not match the manifest's ${expect.md5}`)
  }
  return result
}

/** Remove a verified file's temporary copy (nothing to do for one in memory). */
export async function release(file: VerifiedFile): Promise<void> {
  if (file.kind === 'file') await rm(file.dir, { recursive: true, force: true })
}
