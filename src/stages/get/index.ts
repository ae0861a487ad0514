/**
 * Downloads: into memory, into a local file, or as a stream; whole objects or byte ranges.
 *
 * Ranges use Python slice semantics, like hostess: `{ start, end }` is the half-open interval
 * [start, end); negative numbers count from the end of the object (`{ start: 0, end: -1 }` is all
 * but the last byte; `{ start: -100 }` is the last 100 bytes). An end past the object is clamped
 * to it, and a start at or past the end (or past `end`) gives 0 bytes, as `bytes[a:b]` does in
 * Python; only a non-integer is an {@link InvalidArgumentError}, raised before any request.
 * `{ offset, length }` is the same as `{ start: offset, end: offset + length }` (a negative
 * offset counts from the end; the length is clamped to the object). A range costs one ranged
 * GET, no HEAD: the server clamps the end, a 416 means the start is past the end (0 bytes), and a
 * negative end is applied once the first answer's Content-Range has told the object's size.
 *
 * **Verification.** Unless `verify: false`, every download is checked against what the server
 * offers: a whole object against a stored full-object checksum (CRC32, SHA-256, SHA-1, CRC64NVME,
 * CRC32C, asked for with `x-amz-checksum-mode: ENABLED`) or the MD5 its ETag is (single-part,
 * not SSE-KMS/SSE-C), or, for a multipart ETag (`...-N`), the MD5 of each `partSize` part when
 * that gives the object exactly N parts; otherwise, and for ranges, its length. A mismatch is an
 * {@link IntegrityError} with `algorithm`, `expected` and `actual`; a file destination is then
 * left untouched (the bytes go to a temporary file that is renamed into place only once
 * verified), and a download to a file or to memory is fetched again once before failing. What
 * was verified is reported through `onVerified` (and as `verified` on the results of the array
 * forms, and a `'verified'` event on streams).
 *
 * **Faults.** A response body that breaks (a reset, a truncated body, or no byte for the client's
 * `idleTimeout`) is resumed with a ranged GET from the first byte not yet received, pinned to the
 * object's ETag (`If-Match`; else its VersionId or Last-Modified), up to the client's
 * `maxAttempts` times in a row without progress; then the download fails with a typed error.
 *
 * **Parallel ranges.** With `rangeConcurrency` > 1, {@link getToFile} and {@link streamObject} split
 * an object (or range) larger than `partSize` into ranged GETs of `partSize` bytes,
 * `rangeConcurrency` at a time, each pinned to the first response's ETag (or, if it has none, a HEAD's), so an object
 * replaced during the download fails with {@link IntegrityError} instead of mixing two versions.
 * With nothing to pin to, the download is one plain GET. The assembled object is verified
 * against its ETag as above.
 *
 * @packageDocumentation
 */
export { getObject } from './object.js'
export { getObjects, type GetItem, type GetObjectsOptions } from './objects.js'
export { getToFile } from './file.js'
export {
  DEFAULT_GET_CONCURRENCY,
  DEFAULT_GET_PART_SIZE,
  MAX_GET_PART_SIZE,
  MIN_GET_PART_SIZE,
  validateGetOptions,
  type DownloadInfo,
  type GetOptions,
} from './options.js'
export { streamObject } from './stream.js'
export { normalizeRange, resolveRange, type ByteRange } from '../../ranges.js'
