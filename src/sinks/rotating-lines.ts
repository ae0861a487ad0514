/**
 * Where a rotating log stream cuts its objects: line-safe (only whole lines reach an object, a
 * partial line waits for its newline, an overlong one is streamed and the rotation waits for its
 * end) or at exactly `rotateBytes`.
 *
 * @packageDocumentation
 */
import { NEWLINE } from './rotating-stats.js'

/** What the splitter writes into: the stream's open object. */
export interface LineTarget {
  /** Write bytes into the open object (opening one if needed). */
  emit(bytes: Buffer): Promise<void>
  /** Close the open object. */
  close(): Promise<void>
  /** Bytes in the open object (0 when none is open). */
  currentBytes(): number
  /** A partial line was kept (a copy): make it durable before the write is acknowledged (spool). */
  pending(copy: Buffer): Promise<void>
}

/**
 * Splits written bytes into objects. Memory: one partial line of at most `maxLineBytes` (a
 * copy, never the writer's buffer).
 */
export class LineSplitter {
  /** The open object ends inside an overlong line: no rotation until its newline. */
  midLine = false
  /** A rotation came due inside an overlong line: it happens at the line's end. */
  rotateDue = false
  #carry: Buffer[] = []
  #carryBytes = 0
  readonly #target: LineTarget
  readonly #lineSafe: boolean
  readonly #rotateBytes: number
  readonly #maxLineBytes: number

  constructor(target: LineTarget, o: { lineSafe: boolean; rotateBytes: number; maxLineBytes: number }) {
    this.#target = target
    this.#lineSafe = o.lineSafe
    this.#rotateBytes = o.rotateBytes
    this.#maxLineBytes = o.maxLineBytes
  }

  /** Bytes of the partial line waiting for its newline. */
  get carryBytes(): number {
    return this.#carryBytes
  }

  /** The partial line waiting for its newline (kept), if any. */
  carried(): Buffer | undefined {
    return this.#carryBytes > 0 ? Buffer.concat(this.#carry) : undefined
  }

  /** The partial line waiting for its newline, handed over (and forgotten), if any. */
  takeCarry(): Buffer | undefined {
    const rest = this.carried()
    this.clear()
    return rest
  }

  /** Forget the partial line. */
  clear(): void {
    this.#carry = []
    this.#carryBytes = 0
  }

  accept(chunk: Buffer): Promise<void> {
    return this.#lineSafe ? this.#acceptLines(chunk) : this.#acceptBytes(chunk)
  }

  /** Line-safe: only whole lines reach an object; a partial line waits in `#carry`. */
  async #acceptLines(chunk: Buffer): Promise<void> {
    const target = this.#target
    let off = 0
    if (this.midLine) {
      const nl = chunk.indexOf(NEWLINE)
      if (nl < 0) return target.emit(chunk)
      await target.emit(chunk.subarray(0, nl + 1))
      this.midLine = false
      off = nl + 1
      if (this.rotateDue || target.currentBytes() >= this.#rotateBytes) await target.close()
    }
    const last = chunk.lastIndexOf(NEWLINE)
    if (last >= off) {
      const lines = chunk.subarray(off, last + 1)
      const complete = this.#carryBytes > 0 ? Buffer.concat([...this.#carry, lines]) : lines
      this.clear()
      await this.#emitLines(complete)
      off = last + 1
    }
    if (off < chunk.length) {
      const tail = chunk.subarray(off)
      if (this.#carryBytes + tail.length > this.#maxLineBytes) {
        // An overlong line: stream it into the current object; rotation waits for its end.
        const pending = this.#carry
        this.clear()
        for (const piece of pending) await target.emit(piece)
        await target.emit(tail)
        this.midLine = true
      } else {
        const copy = Buffer.from(tail) // a copy: never pin the writer's buffer
        this.#carry.push(copy)
        this.#carryBytes += tail.length
        await target.pending(copy)
      }
    }
  }

  /** Whole lines: rotate at line boundaries so no object exceeds rotateBytes (unless one line does). */
  async #emitLines(buf: Buffer): Promise<void> {
    const target = this.#target
    let pos = 0
    while (pos < buf.length) {
      const used = target.currentBytes()
      const room = this.#rotateBytes - used
      if (buf.length - pos <= room) {
        await target.emit(buf.subarray(pos))
        break
      }
      const cut = room > 0 ? buf.lastIndexOf(NEWLINE, pos + room - 1) : -1
      if (cut >= pos) {
        await target.emit(buf.subarray(pos, cut + 1))
        pos = cut + 1
      } else if (used === 0) {
        // One line longer than rotateBytes: it goes whole into an object of its own.
        const nl = buf.indexOf(NEWLINE, pos)
        await target.emit(buf.subarray(pos, nl + 1))
        pos = nl + 1
      }
      await target.close()
    }
    if (target.currentBytes() >= this.#rotateBytes) await target.close()
  }

  /** Not line-safe: rotate at exactly rotateBytes. */
  async #acceptBytes(chunk: Buffer): Promise<void> {
    const target = this.#target
    let pos = 0
    while (pos < chunk.length) {
      const room = this.#rotateBytes - target.currentBytes()
      const n = Math.min(room, chunk.length - pos)
      await target.emit(chunk.subarray(pos, pos + n))
      pos += n
      if (target.currentBytes() >= this.#rotateBytes) await target.close()
    }
  }
}
