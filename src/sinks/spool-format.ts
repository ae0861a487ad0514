/**
 * The spool's file format: how a segment file is framed, read back and recovered (pure
 * functions of the files). The spool itself (folder, lock, writer) is in spool.ts.
 *
 * A segment file is a series of records `[type: u8][length: u32 LE][crc32 of payload: u32 LE]
 * [payload]`:
 * - `H` (first): the object's header as JSON (key, time, seq, how to build it), a newline, then
 *   the partial line carried over from the previous segment, if any.
 * - `D`: bytes of the object.
 * - `P`: part of a line whose newline has not come yet. It becomes object bytes only as part of
 *   a later `D` (the whole line) or, when the stream stops there, as the object's last bytes.
 * - `S`: the seal: the object is complete (JSON `{ bytes }`); nothing follows.
 *
 * A record that is cut short or fails its CRC ends the file (a crash in the middle of an append:
 * that write was never acknowledged). Recovery, a pure function of the files (so a crash during
 * recovery is recovered the same way):
 * - a sealed segment is its `D` bytes;
 * - an unsealed segment followed by another of the same generation is its `D` bytes (its
 *   trailing partial line was copied into the next one's header before it would have been
 *   sealed);
 * - the last segment of a generation, unsealed, is its `D` bytes and its trailing `P` bytes (the
 *   stream stopped there, as if `end()` had been called);
 * - a segment without a valid header holds nothing yet and is removed.
 *
 * @packageDocumentation
 */
import { open } from 'node:fs/promises'
import zlib from 'node:zlib'
import { IntegrityError } from '../errors.js'

export const TYPE_HEADER = 0x48 // H
export const TYPE_DATA = 0x44 // D
export const TYPE_PENDING = 0x50 // P
export const TYPE_SEAL = 0x53 // S
export const RECORD_HEADER = 9
/** Records are at most this long (bigger writes become several records): bounds the reader's buffer. */
export const MAX_RECORD = 1024 * 1024
const READ_BLOCK = 1024 * 1024

/** CRC-32 (IEEE): zlib's native one (Node >= 20.15), else a table. */
export const crc32: (data: Uint8Array, value?: number) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function'
    ? (zlib as unknown as { crc32: (d: Uint8Array, v?: number) => number }).crc32
    : (() => {
        const table = new Uint32Array(256)
        for (let n = 0; n < 256; n++) {
          let c = n
          for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
          table[n] = c >>> 0
        }
        return (data: Uint8Array, value = 0) => {
          let c = ~value >>> 0
          for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)
          return ~c >>> 0
        }
      })()

/** How a segment's object is built: stored in its header, so a later process builds the same object. */
export interface SegmentHeader {
  v: 1
  /** The object's key. */
  key: string
  /** When the object was opened (ms since the epoch). */
  time: number
  seq: number
  /** Bytes of a partial line carried over from the previous segment (they follow the JSON in the header record). */
  carried: number
  /** What the stream was configured to build; opaque to the spool. */
  build: Record<string, unknown>
}

/** A segment found when the spool was opened: what to upload, and how. */
export interface RecoveredSegment {
  name: string
  path: string
  header: SegmentHeader
  /** Include the trailing partial line (the stream stopped in the middle of it). */
  includePending: boolean
  /** Sealed by the process that wrote it. */
  sealed: boolean
  fileBytes: number
}

export function frame(type: number, payload: Uint8Array): Buffer {
  const head = Buffer.allocUnsafe(RECORD_HEADER)
  head[0] = type
  head.writeUInt32LE(payload.length, 1)
  head.writeUInt32LE(crc32(payload), 5)
  return head
}

/** One record of a segment file, as read back: its type and payload (a view of a read block that is never reused). */
interface RecordView {
  type: number
  payload: Buffer
}

/**
 * Read the valid records of a segment file in order; stops at the first record that is cut
 * short, fails its CRC or has an unknown type (the torn end of a crashed append). Memory: one
 * read block (1 MiB, or one record when longer) at a time, plus the blocks the consumer still
 * holds views of.
 */
export async function* readRecords(path: string): AsyncGenerator<RecordView> {
  const fh = await open(path, 'r')
  try {
    const size = (await fh.stat()).size
    let consumed = 0
    let buf = Buffer.alloc(0)
    let start = 0
    let position = 0
    /** Make `need` bytes available from `start`; a new buffer each time, so views handed out stay valid. */
    const fill = async (need: number): Promise<boolean> => {
      if (buf.length - start >= need) return true
      if (position >= size) return false
      const rest = buf.length - start
      const next = Buffer.allocUnsafe(Math.max(need, Math.min(READ_BLOCK, size - position + rest)))
      buf.copy(next, 0, start)
      let end = rest
      while (end < next.length && position < size) {
        const { bytesRead } = await fh.read(next, end, next.length - end, position)
        if (bytesRead === 0) break
        position += bytesRead
        end += bytesRead
      }
      buf = next.subarray(0, end)
      start = 0
      return buf.length >= need
    }
    for (;;) {
      if (!(await fill(RECORD_HEADER))) return
      const type = buf[start]!
      const length = buf.readUInt32LE(start + 1)
      const crc = buf.readUInt32LE(start + 5)
      if (type !== TYPE_HEADER && type !== TYPE_DATA && type !== TYPE_PENDING && type !== TYPE_SEAL) return
      // A length past the end of the file: a torn header (and never a huge allocation).
      if (consumed + RECORD_HEADER + length > size) return
      if (!(await fill(RECORD_HEADER + length))) return
      const payload = buf.subarray(start + RECORD_HEADER, start + RECORD_HEADER + length)
      if (crc32(payload) !== crc) return
      start += RECORD_HEADER + length
      consumed += RECORD_HEADER + length
      yield { type, payload }
      if (type === TYPE_SEAL) return
    }
  } finally {
    await fh.close()
  }
}

export function parseHeader(payload: Buffer): { header: SegmentHeader; carry: Buffer } | undefined {
  const nl = payload.indexOf(0x0a)
  if (nl < 0) return undefined
  try {
    const header = JSON.parse(payload.subarray(0, nl).toString('utf8')) as SegmentHeader
    if (header.v !== 1 || typeof header.key !== 'string' || payload.length - nl - 1 !== header.carried) return undefined
    return { header, carry: payload.subarray(nl + 1) }
  } catch {
    return undefined
  }
}

/**
 * The object bytes of a segment file, in order (views of read blocks that are never reused, so
 * the caller may keep them). Throws
 * IntegrityError when the file does not hold what it held when it was written (`expectBytes`).
 *
 * Memory: one read block (1 MiB) and the trailing partial line (at most `maxLineBytes` of the
 * stream that wrote it).
 */
export async function* segmentContent(path: string, includePending: boolean, expectBytes?: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = []
  let bytes = 0
  let sealed = false
  let first = true
  for await (const record of readRecords(path)) {
    if (first) {
      first = false
      const parsed = record.type === TYPE_HEADER ? parseHeader(record.payload) : undefined
      if (!parsed) throw new IntegrityError(`Spool segment ${path} has no valid header`)
      if (parsed.carry.length > 0) pending.push(Buffer.from(parsed.carry))
      continue
    }
    if (record.type === TYPE_DATA) {
      pending = []
      bytes += record.payload.length
      yield record.payload
    } else if (record.type === TYPE_PENDING) pending.push(Buffer.from(record.payload))
    else if (record.type === TYPE_SEAL) sealed = true
  }
  if (includePending && !sealed) {
    for (const piece of pending) {
      bytes += piece.length
      yield piece
    }
  }
  if (expectBytes !== undefined && bytes !== expectBytes) {
    throw new IntegrityError(`Spool segment ${path} holds ${bytes} bytes of the object, expected ${expectBytes}: the file was changed or damaged`)
  }
}

/** Summarize a segment file: header, whether sealed, bytes of D and of trailing P records. */
export async function scanSegment(path: string): Promise<{ header: SegmentHeader; sealed: boolean; dataBytes: number; pendingBytes: number } | undefined> {
  let header: SegmentHeader | undefined
  let sealed = false
  let dataBytes = 0
  let pendingBytes = 0
  for await (const record of readRecords(path)) {
    if (!header) {
      const parsed = record.type === TYPE_HEADER ? parseHeader(record.payload) : undefined
      if (!parsed) return undefined
      header = parsed.header
      pendingBytes = parsed.carry.length
      continue
    }
    if (record.type === TYPE_DATA) {
      dataBytes += record.payload.length
      pendingBytes = 0
    } else if (record.type === TYPE_PENDING) pendingBytes += record.payload.length
    else if (record.type === TYPE_SEAL) sealed = true
  }
  return header ? { header, sealed, dataBytes, pendingBytes } : undefined
}
