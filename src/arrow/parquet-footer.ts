/**
 * The Parquet footer reader `writeParquet` checks its output with: the row and row-group
 * counts of a Thrift compact-protocol `FileMetaData`, read without parquet-wasm.
 * @packageDocumentation
 */
import { IntegrityError } from '../errors.js'

/**
 * Read `num_rows` (field 3) and the number of row groups (field 4) of a Parquet footer: the
 * Thrift compact-protocol `FileMetaData` at the end of the file (`<metadata><length>PAR1`).
 * Returns undefined when `tail` does not hold a whole footer.
 */
export function footerCounts(tail: Uint8Array): { rows: number; rowGroups: number } | undefined {
  const n = tail.length
  if (n < 12 || tail[n - 4] !== 0x50 || tail[n - 3] !== 0x41 || tail[n - 2] !== 0x52 || tail[n - 1] !== 0x31) return undefined
  const length = (tail[n - 8]! | (tail[n - 7]! << 8) | (tail[n - 6]! << 16)) + tail[n - 5]! * 2 ** 24
  if (length + 8 > n) return undefined
  let at = n - 8 - length
  const end = n - 8
  const byte = (): number => {
    if (at >= end) throw new IntegrityError('The Parquet footer is truncated')
    return tail[at++]!
  }
  const varint = (): number => {
    let result = 0
    let scale = 1
    for (;;) {
      const b = byte()
      result += (b & 0x7f) * scale
      if (b < 0x80) return result
      scale *= 128
    }
  }
  const zigzag = (): number => {
    const v = varint()
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2
  }
  const skip = (type: number): void => {
    switch (type) {
      case 1: // true
      case 2: // false
        return
      case 3:
        at++
        return
      case 4:
      case 5:
      case 6:
        varint()
        return
      case 7:
        at += 8
        return
      case 8: {
        const size = varint() // read first: `at += varint()` would add to the old position
        at += size
        return
      }
      case 9:
      case 10: {
        const header = byte()
        const size = header >> 4 === 15 ? varint() : header >> 4
        const element = header & 0x0f
        for (let i = 0; i < size; i++) skip(element === 1 || element === 2 ? 3 : element)
        return
      }
      case 11: {
        const size = varint()
        if (size === 0) return
        const types = byte()
        for (let i = 0; i < size; i++) {
          skip(types >> 4)
          skip(types & 0x0f)
        }
        return
      }
      case 12: {
        for (;;) {
          const header = byte()
          if (header === 0) return
          if (header >> 4 === 0) zigzag() // long form: the field id follows
          skip(header & 0x0f)
        }
      }
      default:
        throw new IntegrityError(`Unexpected Thrift type ${type} in the Parquet footer`)
    }
  }
  let field = 0
  let rows: number | undefined
  let rowGroups: number | undefined
  for (;;) {
    const header = byte()
    if (header === 0) break
    const delta = header >> 4
    const type = header & 0x0f
    field = delta === 0 ? zigzag() : field + delta
    if (field === 3 && type === 6) rows = zigzag()
    else if (field === 4 && type === 9) {
      const h = byte()
      rowGroups = h >> 4 === 15 ? varint() : h >> 4
      const element = h & 0x0f
      for (let i = 0; i < rowGroups; i++) skip(element)
    } else skip(type)
  }
  if (rows === undefined) return undefined
  return { rows, rowGroups: rowGroups ?? 0 }
}
