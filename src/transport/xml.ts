/**
 * A small XML reader and writer for the few documents S3 exchanges (ListBucketResult,
 * DeleteResult, InitiateMultipartUploadResult, CompleteMultipartUploadResult,
 * ListMultipartUploadsResult, CopyObjectResult, CopyPartResult, Error; Delete and
 * CompleteMultipartUpload requests).
 *
 * The reader builds a compact element tree in one pass (`indexOf` jumps from tag to tag; text
 * is sliced, and decoded only when it holds an entity): the predefined entities and numeric
 * references (`&#13;`, `&#x1F600;`) are decoded, CDATA sections are kept verbatim, comments and
 * processing instructions are skipped. A document type declaration (and so any custom entity)
 * is refused, as is anything malformed or truncated: a reader that guesses could hand back a
 * wrong key. Attributes are skipped (S3's answers carry only `xmlns`). Text is kept as sent, line
 * ends included (no `\r\n` folding: keys must come back byte for byte).
 *
 * @packageDocumentation
 */
import { isAscii } from 'node:buffer'
import { FALLBACK, readRecord, replayRecord, type RecordSink } from './xml/records.js'
import { decodeEntities, INCOMPLETE, isNameEnd, onlyMisc, readElement, skipMisc, tagEnd, XmlError, type XmlElement } from './xml/tokens.js'

export { dateAt, etagAt, integerAt, knownName, textOf, type RecordSink } from './xml/records.js'
export { decodeEntities, escapeXml, XmlError, type XmlElement } from './xml/tokens.js'

/**
 * Parse a whole document into its root element. Throws {@link XmlError} for anything not
 * well-formed: mismatched or unclosed tags, text outside the root, a DOCTYPE, bad references.
 */
export function parseXml(xml: string): XmlElement {
  const at = skipMisc(xml, 0)
  if (at === -1) throw new XmlError('No root element')
  if (xml.charCodeAt(at) !== 60 || xml.charCodeAt(at + 1) === 47) throw new XmlError('Text before the root element')
  const read = readElement(xml, at)
  if (read === INCOMPLETE) throw new XmlError('The document ends inside an element (truncated?)')
  const after = skipMisc(xml, read[1])
  if (after !== -1 || !onlyMisc(xml.slice(read[1]))) throw new XmlError('Content after the root element')
  return read[0]
}

/**
 * A streaming reader for documents whose root holds a long list of small children (a listing
 * page): feed it the body's chunks as they arrive; it calls `onChild` for each complete child
 * of the root, in order, holding only the unfinished child in memory. No large string is ever
 * built (V8 allocates strings over ~128 KiB in a slow space: decoding a 300 KB page in one
 * piece costs more than parsing it).
 */
export class XmlStreamReader {
  /** The root element's name, once its start tag was read. */
  rootName: string | undefined
  /** Text directly inside the root (outside its children), decoded. */
  rootText = ''
  #carry = ''
  #closed = false
  readonly #decoder = new TextDecoder('utf-8', { fatal: true })
  readonly #onChild: (element: XmlElement) => void
  readonly #records: [string, RecordSink][]
  /** Chunks so far were ASCII: decoded as latin1 without the UTF-8 decoder's state. */
  #ascii = true

  /**
   * `onChild` receives each child of the root as a tree, except children named in `records`,
   * whose fields go to their {@link RecordSink} without a tree being built (the fast path for
   * `<Contents>`, `<Upload>`, `<Deleted>`...).
   */
  constructor(onChild: (element: XmlElement) => void, records: Record<string, RecordSink> = {}) {
    this.#onChild = onChild
    this.#records = Object.entries(records)
  }

  /** Feed the next chunk of the body. */
  push(chunk: Uint8Array): void {
    let text: string
    if (this.#ascii && isAscii(chunk)) {
      // The common case (keys arrive url-encoded): no UTF-8 decoding work at all.
      this.#feed(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1'))
      return
    }
    this.#ascii = false
    try {
      text = this.#decoder.decode(chunk, { stream: true })
    } catch {
      throw new XmlError('The document is not valid UTF-8')
    }
    this.#feed(text)
  }

  /** The body has ended: throws {@link XmlError} unless the document was complete. */
  end(): void {
    let text: string
    try {
      text = this.#decoder.decode()
    } catch {
      throw new XmlError('The document is not valid UTF-8')
    }
    this.#feed(text)
    if (!this.#closed) throw new XmlError(this.rootName ? `The document ends inside <${this.rootName}> (truncated?)` : 'No root element')
    if (!onlyMisc(this.#carry)) throw new XmlError('Content after the root element')
  }

  /** The sink for the record whose start tag is at `lt`, if its name is one of `records`. */
  #recordSink(xml: string, lt: number): [string, RecordSink] | undefined {
    const records = this.#records
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!
      const name = record[0]
      if (xml.startsWith(name, lt + 1)) {
        const c = xml.charCodeAt(lt + 1 + name.length)
        if (c === 62 || c === 32 || c === 47 || c === 9 || c === 10 || c === 13) return record
      }
    }
    return undefined
  }

  #feed(text: string): void {
    const xml = this.#carry === '' ? text : this.#carry + text
    let i = 0
    if (this.rootName === undefined) {
      const at = skipMisc(xml, 0)
      if (at === -1) {
        this.#carry = xml
        return
      }
      if (xml.charCodeAt(at) !== 60 || xml.charCodeAt(at + 1) === 47) throw new XmlError('Text before the root element')
      const gt = tagEnd(xml, at + 1)
      if (gt === -1) {
        this.#carry = xml
        return
      }
      let e = at + 1
      while (e < gt && !isNameEnd(xml.charCodeAt(e))) e++
      this.rootName = xml.slice(at + 1, e)
      i = gt + 1
      if (xml.charCodeAt(gt - 1) === 47) this.#closed = true
    }
    while (!this.#closed) {
      const lt = xml.indexOf('<', i)
      const textEnd = lt === -1 ? xml.length : lt
      if (textEnd > i) {
        // Keep a partial entity reference for the next chunk.
        const raw = xml.slice(i, textEnd)
        const amp = lt === -1 ? raw.lastIndexOf('&') : -1
        if (amp !== -1 && raw.indexOf(';', amp) === -1) {
          this.rootText += decodeEntities(raw.slice(0, amp))
          this.#carry = raw.slice(amp)
          return
        }
        this.rootText += decodeEntities(raw)
      }
      if (lt === -1) {
        this.#carry = ''
        return
      }
      if (lt + 1 >= xml.length) {
        this.#carry = xml.slice(lt)
        return
      }
      if (xml.charCodeAt(lt + 1) === 47) {
        const gt = xml.indexOf('>', lt)
        if (gt === -1) {
          this.#carry = xml.slice(lt)
          return
        }
        const name = xml.slice(lt + 2, gt).trimEnd()
        if (name !== this.rootName) throw new XmlError(`Unexpected </${name}> in <${this.rootName}>`)
        this.#closed = true
        i = gt + 1
        break
      }
      const record = this.#recordSink(xml, lt)
      const sink = record?.[1]
      if (record !== undefined) {
        const end = readRecord(xml, lt, record[1], record[0])
        if (end === INCOMPLETE) {
          this.#carry = xml.slice(lt)
          return
        }
        if (end !== FALLBACK) {
          i = end
          continue
        }
      }
      const read = readElement(xml, lt)
      if (read === INCOMPLETE) {
        this.#carry = xml.slice(lt)
        return
      }
      if (sink !== undefined) replayRecord(read[0], sink)
      else this.#onChild(read[0])
      i = read[1]
    }
    // After the root: only whitespace, comments, processing instructions.
    const rest = xml.slice(i)
    const after = skipMisc(rest, 0)
    if (after !== -1) throw new XmlError('Content after the root element')
    this.#carry = rest
    if (this.rootText.trim() === '') this.rootText = ''
  }
}

/** The first child named `name`, if any. */
export function child(element: XmlElement, name: string): XmlElement | undefined {
  for (const c of element.children) if (c.name === name) return c
  return undefined
}

/** The text of the first child named `name`, if there is one. */
export function childText(element: XmlElement, name: string): string | undefined {
  for (const c of element.children) if (c.name === name) return c.text
  return undefined
}

/** The name of a document's root element without parsing it all (whitespace and prolog skipped). */
export function rootName(xml: string): string | undefined {
  let i = 0
  for (;;) {
    const lt = xml.indexOf('<', i)
    if (lt === -1) return undefined
    if (xml.slice(i, lt).trim() !== '') return undefined
    const c = xml.charCodeAt(lt + 1)
    if (c === 63 || (c === 33 && xml.startsWith('<!--', lt))) {
      const end = c === 63 ? xml.indexOf('?>', lt) : xml.indexOf('-->', lt)
      if (end === -1) return undefined
      i = end + (c === 63 ? 2 : 3)
      continue
    }
    let e = lt + 1
    while (e < xml.length && !isNameEnd(xml.charCodeAt(e))) e++
    return xml.slice(lt + 1, e)
  }
}

/**
 * Decode a value S3 sent url-encoded (`encoding-type=url`): form encoding, `+` for a space.
 * Throws {@link XmlError} on a malformed escape (never returns a guessed key).
 */
export function decodeUrlValue(value: string): string {
  if (value.indexOf('%') === -1 && value.indexOf('+') === -1) return value
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '))
  } catch {
    throw new XmlError(`Malformed url-encoded value ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`)
  }
}
