/**
 * What a rotating log stream counts: the objects and lines it stored, and what it dropped when
 * its spool was full (`whenFull: 'drop-newest'`, whole lines at a time).
 *
 * @packageDocumentation
 */
import type { StoredLogObject } from './log-objects.js'

export const NEWLINE = 0x0a

/** What was dropped because the spool was full (`whenFull: 'drop-newest'`). */
export interface DroppedCounts {
  /** Writes (chunks) that lost bytes. */
  writes: number
  bytes: number
  /** Lines dropped, each whole. */
  lines: number
}

/** What a finished log stream wrote. */
export interface LogStreamResult {
  /** Objects stored (error objects included). */
  objects: number
  /** Bytes stored in all of them (after compression or conversion). */
  size: number
  firstKey: string | undefined
  lastKey: string | undefined
  /** Bytes of lines stored (before compression or conversion). */
  bytes: number
  /** Lines stored: log lines, Parquet rows and error lines. */
  lines: number
  /** Parquet: lines that went to error objects. */
  errorLines: number
  /** Dropped because the spool was full. */
  dropped: DroppedCounts
  /** Objects finished from a spool left by an earlier process (stored now, or found already stored). */
  recovered: number
}

/** The running totals of one stream. Memory: constant. */
export class LogStats {
  objects = 0
  size = 0
  bytes = 0
  lines = 0
  errorLines = 0
  recovered = 0
  firstKey: string | undefined
  lastKey: string | undefined
  readonly dropped: DroppedCounts = { writes: 0, bytes: 0, lines: 0 }

  /** Count one stored object. */
  record(o: StoredLogObject): void {
    this.objects++
    this.size += o.size
    this.lines += o.lines
    if (o.kind === 'errors') this.errorLines += o.lines
    else this.bytes += o.rawBytes
    this.firstKey ??= o.key
    this.lastKey = o.key
  }

  /** A copy of the totals. */
  result(): LogStreamResult {
    return {
      objects: this.objects,
      size: this.size,
      firstKey: this.firstKey,
      lastKey: this.lastKey,
      bytes: this.bytes,
      lines: this.lines,
      errorLines: this.errorLines,
      dropped: { ...this.dropped },
      recovered: this.recovered,
    }
  }
}

function countNewlines(bytes: Buffer): number {
  let n = 0
  for (let at = bytes.indexOf(NEWLINE); at >= 0; at = bytes.indexOf(NEWLINE, at + 1)) n++
  return n
}

/** Where a chunk meets the spool: whether it is full, and whether a line is being written. */
export interface AdmitState {
  /** Whether `n` more bytes would overfill the spool. */
  full: (n: number) => boolean
  /** A line was accepted in part already (a carried partial line, or an overlong line). */
  inLine: boolean
}

/**
 * whenFull 'drop-newest': decides which part of a chunk is kept; whole lines are dropped and
 * counted in `dropped` (a line where its first byte is dropped), each drop reported to `onDrop`.
 */
export class DropNewest {
  readonly #lineSafe: boolean
  readonly #dropped: DroppedCounts
  readonly #onDrop: (drop: { bytes: number; lines: number }) => void
  /** The rest of a dropped line is still to come. */
  #dropUntilNewline = false

  constructor(lineSafe: boolean, dropped: DroppedCounts, onDrop: (drop: { bytes: number; lines: number }) => void) {
    this.#lineSafe = lineSafe
    this.#dropped = dropped
    this.#onDrop = onDrop
  }

  /**
   * The part of `chunk` that is kept, and whether the open object should be closed to make
   * room (the chunk met a full spool and nothing of it was kept).
   */
  admit(chunk: Buffer, state: AdmitState): { accepted: Buffer; makeRoom: boolean } {
    let keep = chunk
    let lost = false
    /** Drop bytes; a line is counted where its first byte is dropped (`continuing`: these start inside one). */
    const drop = (bytes: Buffer, continuing: boolean) => {
      if (bytes.length === 0) return
      const lines = this.#lineSafe ? countNewlines(bytes) + (bytes[bytes.length - 1] !== NEWLINE ? 1 : 0) - (continuing ? 1 : 0) : 0
      if (!lost) this.#dropped.writes++
      lost = true
      this.#dropped.bytes += bytes.length
      this.#dropped.lines += lines
      this.#onDrop({ bytes: bytes.length, lines })
    }
    if (this.#dropUntilNewline) {
      const nl = keep.indexOf(NEWLINE)
      if (nl < 0) {
        drop(keep, true)
        return { accepted: keep.subarray(keep.length), makeRoom: false }
      }
      drop(keep.subarray(0, nl + 1), true)
      this.#dropUntilNewline = false
      keep = keep.subarray(nl + 1)
    }
    if (keep.length === 0 || !state.full(keep.length)) return { accepted: keep, makeRoom: false }
    let accepted = keep.subarray(0, 0)
    if (this.#lineSafe && state.inLine) {
      // The line being written is finished first (it was accepted in part already).
      const nl = keep.indexOf(NEWLINE)
      if (nl < 0) return { accepted: keep, makeRoom: false }
      accepted = keep.subarray(0, nl + 1)
      keep = keep.subarray(nl + 1)
    }
    if (keep.length > 0) {
      const endsMidLine = this.#lineSafe && keep[keep.length - 1] !== NEWLINE
      drop(keep, false)
      if (endsMidLine) this.#dropUntilNewline = true
    }
    return { accepted, makeRoom: accepted.length === 0 }
  }
}
