/**
 * What a download can be verified against, and the hashers to do it: the MD5 an ETag is for a
 * single-part unencrypted (or SSE-S3) object, the `md5(md5(part 1) || ... )-N` of a multipart
 * ETag when the part boundaries are known, a stored full-object checksum (CRC32, CRC32C,
 * CRC64NVME, SHA-1, SHA-256, returned with `x-amz-checksum-mode: ENABLED`), or else the length.
 *
 * MD5, SHA and CRC32 are native (`node:crypto`, `zlib.crc32` where Node has it); CRC32C and
 * CRC64NVME are table-driven JavaScript (only AWS returns them, and bucketflow prefers a native
 * algorithm when the server offers more than one).
 *
 * @example
 * ```ts
 * import { createHasher } from 'bucketflow'
 * const h = createHasher('crc32')
 * h.update(Buffer.from('123456789'))
 * h.digest() // 'y/Q5JQ==' (0xcbf43926, base64 as S3 sends it)
 * ```
 * @packageDocumentation
 */
import { createHash } from 'node:crypto'
import * as zlib from 'node:zlib'

/**
 * What a download was checked against: `md5` (a plain ETag), `md5-parts` (a multipart ETag,
 * part by part), a stored checksum (`crc32`, `crc32c`, `crc64nvme`, `sha1`, `sha256`), only its
 * length (`size`: nothing better was offered), or nothing (`none`: `verify: false`).
 */
export type Verification = 'md5' | 'md5-parts' | 'crc32' | 'crc32c' | 'crc64nvme' | 'sha1' | 'sha256' | 'size' | 'none'

/** A checksum algorithm bucketflow can compute. */
export type ChecksumAlgorithm = 'md5' | 'crc32' | 'crc32c' | 'crc64nvme' | 'sha1' | 'sha256'

/** An incremental checksum. `digest()` is in the encoding S3 uses for it (hex for md5, else base64). */
export interface Hasher {
  update(bytes: Uint8Array): void
  digest(): string
}

// ---- CRC tables -------------------------------------------------------------------------------

function crc32Table(poly: number): Uint32Array {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1
    table[n] = c >>> 0
  }
  return table
}

let CRC32_TABLE: Uint32Array | undefined
let CRC32C_TABLE: Uint32Array | undefined

class Crc32Js implements Hasher {
  #crc = 0xffffffff
  constructor(readonly table: Uint32Array) {}
  update(bytes: Uint8Array): void {
    const t = this.table
    let c = this.#crc
    for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
    this.#crc = c
  }
  digest(): string {
    return u32ToBase64((this.#crc ^ 0xffffffff) >>> 0)
  }
}

/** zlib.crc32 (Node >= 20.15 / 22.2): native, several GB/s. */
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32

class Crc32Native implements Hasher {
  #crc = 0
  update(bytes: Uint8Array): void {
    this.#crc = nativeCrc32!(bytes, this.#crc)
  }
  digest(): string {
    return u32ToBase64(this.#crc >>> 0)
  }
}

function u32ToBase64(v: number): string {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(v >>> 0)
  return b.toString('base64')
}

// CRC-64/NVME: reflected polynomial 0x9a6c9329ac4bc9b5, init and xorout all ones. Kept as two
// 32-bit halves (BigInt per byte would be far slower).
let CRC64_HI: Uint32Array | undefined
let CRC64_LO: Uint32Array | undefined

function crc64Tables(): [Uint32Array, Uint32Array] {
  if (!CRC64_HI || !CRC64_LO) {
    const hiTable = new Uint32Array(256)
    const loTable = new Uint32Array(256)
    const polyHi = 0x9a6c9329
    const polyLo = 0xac4bc9b5
    for (let n = 0; n < 256; n++) {
      let hi = 0
      let lo = n
      for (let k = 0; k < 8; k++) {
        const bit = lo & 1
        lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0
        hi = hi >>> 1
        if (bit) {
          hi = (hi ^ polyHi) >>> 0
          lo = (lo ^ polyLo) >>> 0
        }
      }
      hiTable[n] = hi
      loTable[n] = lo
    }
    CRC64_HI = hiTable
    CRC64_LO = loTable
  }
  return [CRC64_HI, CRC64_LO]
}

class Crc64Nvme implements Hasher {
  #hi = 0xffffffff
  #lo = 0xffffffff
  readonly #tables = crc64Tables()
  update(bytes: Uint8Array): void {
    const [th, tl] = this.#tables
    let hi = this.#hi
    let lo = this.#lo
    for (let i = 0; i < bytes.length; i++) {
      const idx = (lo ^ bytes[i]!) & 0xff
      // crc = table[idx] ^ (crc >>> 8), over 64 bits
      lo = (((lo >>> 8) | ((hi & 0xff) << 24)) ^ tl[idx]!) >>> 0
      hi = ((hi >>> 8) ^ th[idx]!) >>> 0
    }
    this.#hi = hi
    this.#lo = lo
  }
  digest(): string {
    const b = Buffer.alloc(8)
    b.writeUInt32BE((this.#hi ^ 0xffffffff) >>> 0, 0)
    b.writeUInt32BE((this.#lo ^ 0xffffffff) >>> 0, 4)
    return b.toString('base64')
  }
}

class NodeHash implements Hasher {
  readonly #hash
  constructor(
    algorithm: string,
    readonly encoding: 'hex' | 'base64',
  ) {
    this.#hash = createHash(algorithm)
  }
  update(bytes: Uint8Array): void {
    this.#hash.update(bytes)
  }
  digest(): string {
    return this.#hash.digest(this.encoding)
  }
}

/**
 * A new incremental hasher. `md5` digests to lowercase hex (as in an ETag), the others to base64
 * of the big-endian value (as in S3's `x-amz-checksum-*` headers).
 *
 * @example
 * ```ts
 * declare const chunks: AsyncIterable<Uint8Array>, headers: Record<string, string | undefined>
 * const h = createHasher('crc64nvme')
 * for await (const chunk of chunks) h.update(chunk)
 * if (h.digest() !== headers['x-amz-checksum-crc64nvme']) throw new Error('corrupt')
 * ```
 */
export function createHasher(algorithm: ChecksumAlgorithm): Hasher {
  switch (algorithm) {
    case 'md5':
      return new NodeHash('md5', 'hex')
    case 'sha1':
      return new NodeHash('sha1', 'base64')
    case 'sha256':
      return new NodeHash('sha256', 'base64')
    case 'crc32':
      if (nativeCrc32) return new Crc32Native()
      return new Crc32Js((CRC32_TABLE ??= crc32Table(0xedb88320)))
    case 'crc32c':
      return new Crc32Js((CRC32C_TABLE ??= crc32Table(0x82f63b78)))
    case 'crc64nvme':
      return new Crc64Nvme()
  }
}

/**
 * The multipart ETag of bytes cut into parts of `partSize`: `md5(md5(p1) || md5(p2) ...)-N`.
 * Each byte is hashed once, as for a plain MD5.
 */
export class PartsMd5 implements Hasher {
  readonly #partSize: number
  #current = createHash('md5')
  #filled = 0
  readonly #digests: Buffer[] = []
  constructor(partSize: number) {
    this.#partSize = partSize
  }
  update(bytes: Uint8Array): void {
    let at = 0
    while (at < bytes.length) {
      const n = Math.min(this.#partSize - this.#filled, bytes.length - at)
      this.#current.update(n === bytes.length && at === 0 ? bytes : bytes.subarray(at, at + n))
      this.#filled += n
      at += n
      if (this.#filled === this.#partSize) this.#close()
    }
  }
  #close(): void {
    this.#digests.push(this.#current.digest())
    this.#current = createHash('md5')
    this.#filled = 0
  }
  /** Add a part's MD5 (hex or ETag) computed elsewhere, in part order. */
  addPartDigest(md5: Buffer): void {
    this.#digests.push(md5)
  }
  digest(): string {
    if (this.#filled > 0) this.#close()
    return `${createHash('md5').update(Buffer.concat(this.#digests)).digest('hex')}-${this.#digests.length}`
  }
}

/**
 * The multipart ETag S3 gives an object made of parts with these ETags (each the part's MD5,
 * quoted or not): `md5(md5(p1) || ...)-N`. Undefined when a part ETag is not a plain MD5 (as with
 * SSE-KMS).
 *
 * @example
 * ```ts
 * multipartEtag(['"9a27...c7fd"', '"08b4...99af"']) // '42d3...06bb-2'
 * ```
 */
export function multipartEtag(partEtags: readonly string[]): string | undefined {
  const digests: Buffer[] = []
  for (const etag of partEtags) {
    const hex = plainMd5(etag)
    if (hex === undefined) return undefined
    digests.push(Buffer.from(hex, 'hex'))
  }
  return `${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${digests.length}`
}

/** The hex MD5 in an ETag (quotes stripped), or undefined when it is not a plain 32-hex MD5. */
export function plainMd5(etag: string | undefined): string | undefined {
  const m = /^"?([0-9a-fA-F]{32})"?$/.exec(etag ?? '')
  return m ? m[1]!.toLowerCase() : undefined
}

/** The hex and part count of a multipart ETag (`"<32 hex>-N"`), or undefined. */
export function multipartEtagParts(etag: string | undefined): { hex: string; parts: number } | undefined {
  const m = /^"?([0-9a-fA-F]{32})-(\d+)"?$/.exec(etag ?? '')
  return m ? { hex: m[1]!.toLowerCase(), parts: Number(m[2]) } : undefined
}

/** The headers of a GET (or HEAD) answer that say what its content should be. */
export interface ContentClaims {
  ETag?: string | undefined
  ServerSideEncryption?: string | undefined
  SSECustomerAlgorithm?: string | undefined
  ChecksumCRC32?: string | undefined
  ChecksumCRC32C?: string | undefined
  ChecksumCRC64NVME?: string | undefined
  ChecksumSHA1?: string | undefined
  ChecksumSHA256?: string | undefined
  ChecksumType?: string | undefined
}

/** What to compare a whole object's bytes with. */
export interface Expectation {
  algorithm: Exclude<Verification, 'size' | 'none'>
  /** The value as the server gave it (hex MD5, ETag with `-N`, or base64 checksum). */
  expected: string
  /** For `md5-parts`: the part size the composite is computed with. */
  partSize?: number
}

const NATIVE_CRC32 = nativeCrc32 !== undefined

/**
 * Pick the cheapest strong check a whole-object answer offers: a full-object stored checksum
 * computed natively (CRC32 with zlib, SHA-256, SHA-1), the MD5 of a plain ETag (unless SSE-KMS or
 * SSE-C make it something else), a JavaScript CRC (CRC64NVME, CRC32C), then a multipart ETag
 * when `partSize` gives the object exactly its part count. Undefined: only the size can be
 * checked. Composite checksums (`...-N`, `ChecksumType: COMPOSITE`) are not whole-object sums
 * and are skipped.
 *
 * @example
 * ```ts
 * expectationFor({ ETag: '"900150983cd24fb0d6963f7d28e17f72"' }, 3) // { algorithm: 'md5', expected: '9001...7f72' }
 * ```
 */
export function expectationFor(claims: ContentClaims, size: number, partSize?: number): Expectation | undefined {
  const full = (v: string | undefined) => (v && !v.includes('-') && claims.ChecksumType !== 'COMPOSITE' ? v : undefined)
  const crc32 = full(claims.ChecksumCRC32)
  if (crc32 && NATIVE_CRC32) return { algorithm: 'crc32', expected: crc32 }
  const sha256 = full(claims.ChecksumSHA256)
  if (sha256) return { algorithm: 'sha256', expected: sha256 }
  const sha1 = full(claims.ChecksumSHA1)
  if (sha1) return { algorithm: 'sha1', expected: sha1 }
  const encrypted = claims.SSECustomerAlgorithm !== undefined || (claims.ServerSideEncryption !== undefined && claims.ServerSideEncryption !== 'AES256')
  const md5 = encrypted ? undefined : plainMd5(claims.ETag)
  if (md5) return { algorithm: 'md5', expected: md5 }
  if (crc32) return { algorithm: 'crc32', expected: crc32 }
  const crc64 = full(claims.ChecksumCRC64NVME)
  if (crc64) return { algorithm: 'crc64nvme', expected: crc64 }
  const crc32c = full(claims.ChecksumCRC32C)
  if (crc32c) return { algorithm: 'crc32c', expected: crc32c }
  const mp = encrypted ? undefined : multipartEtagParts(claims.ETag)
  const layout = mp ? guessPartSize(size, mp.parts, partSize) : undefined
  if (mp && layout !== undefined) return { algorithm: 'md5-parts', expected: `${mp.hex}-${mp.parts}`, partSize: layout }
  return undefined
}

const MiB = 1024 * 1024
/**
 * Part sizes uploaders use by default, most common first: 8 MiB (aws-cli, boto3, bucketflow),
 * 5 MiB (lib-storage, rclone), 16 MiB, 50 MiB (s5cmd), 64 MiB, 100 MiB, 128 MiB.
 */
const COMMON_PART_SIZES = [8 * MiB, 5 * MiB, 16 * MiB, 50 * MiB, 64 * MiB, 100 * MiB, 128 * MiB]

/**
 * The part size to check a multipart ETag of `parts` parts with: `preferred` (the download's
 * `partSize`) when it cuts `size` bytes into exactly that many parts, else the first common
 * uploader default that does. A guess: a mismatch with it proves nothing until the layout is
 * confirmed (see the downloads).
 *
 * @example
 * ```ts
 * guessPartSize(12 * 1024 * 1024, 3, 8 * 1024 * 1024) // 5 MiB: 8 MiB parts would make 2
 * ```
 */
export function guessPartSize(size: number, parts: number, preferred?: number): number | undefined {
  if (size <= 0 || parts < 1) return undefined
  const fits = (p: number) => p > 0 && Math.ceil(size / p) === parts
  if (preferred !== undefined && fits(preferred)) return preferred
  return COMMON_PART_SIZES.find(fits)
}

/** A hasher for an expectation. */
export function hasherFor(expectation: Expectation): Hasher {
  if (expectation.algorithm === 'md5-parts') return new PartsMd5(expectation.partSize!)
  return createHasher(expectation.algorithm)
}
