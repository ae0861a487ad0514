/**
 * `lines`: bytes (or a tail with markers) in, lines out.
 *
 * @example
 * ```ts
 * for await (const line of lines(bucket.tail('logs/app.log'))) console.log(line)
 * ```
 * @packageDocumentation
 */
import { sniffCompression } from '../../compression.js'
import type { TailMarker } from './types.js'
import { ChunkDecoder } from './read.js'

/**
 * True for a {@link TailMarker} (false for a Buffer or string chunk).
 *
 * @example
 * ```ts
 * for await (const item of bucket.tail('app.log', { markers: true })) {
 *   if (isTailMarker(item)) console.warn(`app.log ${item.marker}`)
 *   else process.stdout.write(item)
 * }
 * ```
 */
export function isTailMarker(value: unknown): value is TailMarker {
  return value !== null && typeof value === 'object' && !(value instanceof Uint8Array) && 'marker' in value
}

/** Options for {@link lines}. */
export interface LinesOptions {
  /**
   * Decompress gzip and zstd data, told by its first bytes (gzip `1f 8b 08`, zstd
   * `28 b5 2f fd`: never the start of UTF-8 text), at the start and after each object marker.
   * Default true.
   */
  decompress?: boolean
}

/**
 * Turn chunks (Buffers, Uint8Arrays or strings) into lines: split at '\n' (a trailing '\r' is
 * removed too), UTF-8 decoded, without the line ending. A line split across chunks (even inside
 * a multi-byte character) comes out whole; a last line without a newline comes out at the end.
 * gzip- or zstd-compressed bytes (a stored `.gz` / `.zst` object) are decompressed first.
 * {@link TailMarker}s pass through: a reset drops the partial line it interrupted (the content
 * starts over), a new object ends the partial line before it.
 * Memory: one partial line (and a decompressor's window).
 *
 * @example
 * ```ts
 * for await (const line of lines(bucket.stream('data.ndjson'))) console.log(JSON.parse(line))
 * for await (const line of lines(bucket.stream('logs/20261201T000000.000Z-000001.log.gz'))) console.log(line)
 * ```
 */
export function lines(source: AsyncIterable<Uint8Array | string>, options?: LinesOptions): AsyncGenerator<string>
export function lines(source: AsyncIterable<Uint8Array | string | TailMarker>, options?: LinesOptions): AsyncGenerator<string | TailMarker>
export async function* lines(source: AsyncIterable<Uint8Array | string | TailMarker>, options: LinesOptions = {}): AsyncGenerator<string | TailMarker> {
  const decompress = options.decompress ?? true
  let carry: Buffer[] = []
  /** Until the first bytes of a part (the stream, or an object) tell: held bytes. */
  let state: 'sniff' | 'plain' | ChunkDecoder = decompress ? 'sniff' : 'plain'
  let head: Buffer[] = []
  const text = (bytes: Buffer) => {
    const s = bytes.toString('utf8')
    return s.endsWith('\r') ? s.slice(0, -1) : s
  }
  function* split(buf: Buffer): Generator<string> {
    let start = 0
    for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      const piece = buf.subarray(start, nl)
      yield text(carry.length > 0 ? Buffer.concat([...carry, piece]) : piece)
      carry = []
      start = nl + 1
    }
    if (start < buf.length) carry.push(Buffer.from(buf.subarray(start)))
  }
  async function* feed(input: Buffer): AsyncGenerator<string> {
    let buf = input
    if (state === 'sniff') {
      head.push(buf)
      const all = head.length === 1 ? buf : Buffer.concat(head)
      const kind = sniffCompression(all)
      if (kind === undefined) return
      head = []
      state = kind === 'none' ? 'plain' : new ChunkDecoder(kind, 'the stream')
      buf = all
    }
    if (state === 'plain') yield* split(buf)
    else for (const out of await state.write(buf)) yield* split(out)
  }
  /** The end of a part: what is held is plain text; a decoder is finished (or dropped on a reset). */
  async function* endPart(complete: boolean): AsyncGenerator<string> {
    const held = head
    head = []
    if (state === 'sniff' && held.length > 0) yield* split(Buffer.concat(held))
    else if (state instanceof ChunkDecoder) {
      const decoder = state
      state = 'plain'
      if (complete) for (const out of await decoder.end()) yield* split(out)
      decoder.destroy()
    }
    state = decompress ? 'sniff' : 'plain'
  }
  for await (const item of source) {
    if (isTailMarker(item)) {
      yield* endPart(item.marker === 'object')
      if (item.marker === 'object' && carry.length > 0) yield text(Buffer.concat(carry))
      carry = []
      yield item
      continue
    }
    if (typeof item === 'string') {
      if (state === 'sniff') state = 'plain'
      yield* split(Buffer.from(item, 'utf8'))
    } else yield* feed(Buffer.isBuffer(item) ? item : Buffer.from(item.buffer, item.byteOffset, item.byteLength))
  }
  yield* endPart(true)
  if (carry.length > 0) yield text(Buffer.concat(carry))
}
