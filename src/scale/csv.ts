/**
 * A strict, streaming CSV reader for S3's machine-written CSV (Inventory data files, Batch
 * Operations completion reports): RFC 4180 quoting (`""` inside a quoted field is a quote, quoted
 * fields may hold commas and newlines), `\n` or `\r\n` record ends, blank lines skipped (S3 ends
 * files with extra newlines). A quote inside an unquoted field, text after a closing quote, or an
 * unterminated quote is an error naming the record. Memory: the text of one unfinished record,
 * at most `maxRecord` characters (1 Mi by default; a longer one is an error).
 * Internal.
 */

/** A CSV syntax error at a record (1-based). */
export class CsvSyntaxError extends Error {
  constructor(
    message: string,
    readonly record: number,
  ) {
    super(`${message} (record ${record})`)
    this.name = 'CsvSyntaxError'
  }
}

const COMMA = 44
const LF = 10
const CR = 13
const QUOTE = 34

/** Feed text with `push`, then call `end`; each returns the records completed so far. */
export class CsvParser {
  #buf = ''
  #records = 0
  /** Longest unfinished record held, in UTF-16 units (S3's records are a few KB at most). */
  readonly maxRecord: number

  constructor(maxRecord = 1 << 20) {
    this.maxRecord = maxRecord
  }

  /** Records completed so far (including those returned). */
  get records(): number {
    return this.#records
  }

  push(text: string): string[][] {
    this.#buf = this.#buf.length === 0 ? text : this.#buf + text
    return this.#parse(false)
  }

  end(): string[][] {
    const rows = this.#parse(true)
    this.#buf = ''
    return rows
  }

  #parse(final: boolean): string[][] {
    const s = this.#buf
    const n = s.length
    const rows: string[][] = []
    let i = 0
    records: while (i < n) {
      const first = s.charCodeAt(i)
      if (first === LF) {
        i++
        continue
      }
      if (first === CR) {
        if (i + 1 >= n && !final) break
        if (i + 1 >= n || s.charCodeAt(i + 1) === LF) {
          i += i + 1 < n ? 2 : 1
          continue
        }
      }
      const row: string[] = []
      let pos = i
      const record = this.#records + 1
      for (;;) {
        if (pos < n && s.charCodeAt(pos) === QUOTE) {
          let value = ''
          let from = pos + 1
          for (;;) {
            const q = s.indexOf('"', from)
            if (q === -1) {
              if (!final) break records
              throw new CsvSyntaxError('Unterminated quoted field', record)
            }
            if (q + 1 >= n && !final) break records
            if (q + 1 < n && s.charCodeAt(q + 1) === QUOTE) {
              value += s.slice(from, q + 1)
              from = q + 2
              continue
            }
            value += s.slice(from, q)
            pos = q + 1
            break
          }
          row.push(value)
        } else {
          let end = pos
          while (end < n) {
            const c = s.charCodeAt(end)
            if (c === COMMA || c === LF || c === CR) break
            if (c === QUOTE) throw new CsvSyntaxError('A quote inside an unquoted field', record)
            end++
          }
          if (end >= n && !final) break records
          row.push(s.slice(pos, end))
          pos = end
        }
        if (pos >= n) {
          if (!final) break records
          rows.push(row)
          this.#records++
          i = pos
          break
        }
        const c = s.charCodeAt(pos)
        if (c === COMMA) {
          pos++
          continue
        }
        if (c === LF || c === CR) {
          if (c === CR) {
            if (pos + 1 >= n && !final) break records
            if (pos + 1 < n && s.charCodeAt(pos + 1) !== LF) throw new CsvSyntaxError('A carriage return without a line feed', record)
            pos += pos + 1 < n ? 2 : 1
          } else pos++
          rows.push(row)
          this.#records++
          i = pos
          break
        }
        throw new CsvSyntaxError('Text after a closing quote', record)
      }
    }
    this.#buf = i >= n ? '' : s.slice(i)
    if (this.#buf.length > this.maxRecord) throw new CsvSyntaxError(`A record longer than ${this.maxRecord} characters`, this.#records + 1)
    return rows
  }
}
