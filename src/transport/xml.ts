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

/** An element: its name (prefix included), its text (decoded) and its child elements. */
export interface XmlElement {
  name: string
  /** Concatenated character data directly inside the element (decoded). */
  text: string
  children: XmlElement[]
}

/** A document that is not well-formed (or uses what S3 never sends: DTDs, custom entities). */
export class XmlError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'XmlError'
  }
}

function fromCodePoint(cp: number, ref: string): string {
  // XML 1.1 allows every code point but NUL as a reference; surrogates are never characters.
  if (!(cp > 0 && cp <= 0x10ffff) || (cp >= 0xd800 && cp <= 0xdfff)) throw new XmlError(`Invalid character reference ${ref}`)
  return String.fromCodePoint(cp)
}

const HEX = /^[0-9a-fA-F]{1,6}$/
const DEC = /^[0-9]{1,7}$/

function decodeRef(ref: string): string {
  switch (ref) {
    case 'quot':
      return '"'
    case 'amp':
      return '&'
    case 'lt':
      return '<'
    case 'gt':
      return '>'
    case 'apos':
      return "'"
  }
  if (ref.charCodeAt(0) === 35) {
    const hex = ref.charCodeAt(1) === 120
    const digits = ref.slice(hex ? 2 : 1)
    if ((hex ? HEX : DEC).test(digits)) return fromCodePoint(parseInt(digits, hex ? 16 : 10), `&${ref};`)
  }
  throw new XmlError(`Malformed entity reference &${ref.slice(0, 20)}`)
}

/**
 * Decode the predefined entities and numeric character references of `text`. Throws
 * {@link XmlError} for any other `&` (XML allows no other without a DTD).
 */
export function decodeEntities(text: string): string {
  let amp = text.indexOf('&')
  if (amp === -1) return text
  let out = ''
  let last = 0
  while (amp !== -1) {
    const semi = text.indexOf(';', amp + 1)
    if (semi === -1 || semi - amp > 12) throw new XmlError(`Malformed entity reference ${JSON.stringify(text.slice(amp, amp + 12))}`)
    out += text.slice(last, amp) + decodeRef(text.slice(amp + 1, semi))
    last = semi + 1
    amp = text.indexOf('&', last)
  }
  return out + text.slice(last)
}

/** Escape text for an element's content (and attribute values). */
export function escapeXml(text: string): string {
  let out = ''
  let last = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    let rep: string | undefined
    if (c === 38) rep = '&amp;'
    else if (c === 60) rep = '&lt;'
    else if (c === 62) rep = '&gt;'
    else if (c === 34) rep = '&quot;'
    else if (c === 39) rep = '&apos;'
    // Control characters (and CR, LF, TAB, which a parser would fold or normalise) go as
    // numeric references, as S3 documents for keys in XML requests.
    else if (c < 32 || c === 127) rep = `&#${c};`
    else if (c === 0xfffe || c === 0xffff) rep = `&#${c};`
    if (rep !== undefined) {
      out += text.slice(last, i) + rep
      last = i + 1
    }
  }
  return last === 0 ? text : out + text.slice(last)
}

function isNameEnd(c: number): boolean {
  // whitespace, '/', '>'
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 47 || c === 62
}

/** Find the '>' that ends the tag opened at `from`, skipping quoted attribute values. */
function tagEnd(xml: string, from: number): number {
  let gt = xml.indexOf('>', from)
  if (gt === -1) return -1
  // Tags are short: look for a quote inside this one only.
  for (let i = from; i < gt; i++) {
    const c = xml.charCodeAt(i)
    if (c === 34 || c === 39) {
      const close = xml.indexOf(c === 34 ? '"' : "'", i + 1)
      if (close === -1) return -1
      i = close
      if (close > gt) {
        gt = xml.indexOf('>', close + 1)
        if (gt === -1) return -1
      }
    }
  }
  return gt
}

/** Thrown inside the reader when the input ends in the middle of an element. */
const INCOMPLETE = Symbol('incomplete')

/**
 * Skip whitespace, processing instructions and comments from `i`. Returns the index of the next
 * '<' that opens or closes an element (or of non-whitespace text), `-1` when the input ends
 * first (more may come), or throws on a DOCTYPE.
 */
function skipMisc(xml: string, i: number): number {
  const n = xml.length
  for (;;) {
    while (i < n) {
      const c = xml.charCodeAt(i)
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break
      i++
    }
    if (i >= n) return -1
    if (xml.charCodeAt(i) !== 60) return i
    if (i + 1 >= n) return -1
    const c = xml.charCodeAt(i + 1)
    if (c === 63) {
      const end = xml.indexOf('?>', i + 2)
      if (end === -1) return -1
      i = end + 2
    } else if (c === 33) {
      if (xml.startsWith('<!--', i)) {
        const end = xml.indexOf('-->', i + 4)
        if (end === -1) return -1
        i = end + 3
      } else if (xml.startsWith('<![CDATA[', i)) {
        return i
      } else if (n - i < 9) {
        return -1
      } else {
        throw new XmlError('Document type declarations are not accepted')
      }
    } else {
      return i
    }
  }
}

/** True when `rest` holds only whitespace, complete comments and processing instructions. */
function onlyMisc(rest: string): boolean {
  const at = skipMisc(rest, 0)
  if (at !== -1) return false
  // -1 also means "an unfinished comment": whitespace-only is what remains after complete ones.
  return rest.replace(/<!--[\s\S]*?-->|<\?[\s\S]*?\?>/g, '').trim() === ''
}

/**
 * Read one element starting at `start` (which must be at its '<'), with everything inside it.
 * Returns the element and the index after its end tag, or {@link INCOMPLETE} when the input
 * ends before the element does.
 */
function readElement(xml: string, start: number): [XmlElement, number] | typeof INCOMPLETE {
  const n = xml.length
  const stack: XmlElement[] = []
  let first: XmlElement | undefined
  let i = start
  for (;;) {
    const lt = xml.indexOf('<', i)
    if (lt === -1) return INCOMPLETE
    if (lt > i) {
      const top = stack[stack.length - 1]
      if (!top) throw new XmlError('Text outside an element')
      const raw = xml.slice(i, lt)
      top.text = top.text === '' ? decodeEntities(raw) : top.text + decodeEntities(raw)
    }
    if (lt + 1 >= n) return INCOMPLETE
    const c = xml.charCodeAt(lt + 1)
    if (c === 63) {
      const end = xml.indexOf('?>', lt + 2)
      if (end === -1) return INCOMPLETE
      i = end + 2
      continue
    }
    if (c === 33) {
      if (xml.startsWith('<!--', lt)) {
        const end = xml.indexOf('-->', lt + 4)
        if (end === -1) return INCOMPLETE
        i = end + 3
        continue
      }
      if (xml.startsWith('<![CDATA[', lt)) {
        const end = xml.indexOf(']]>', lt + 9)
        if (end === -1) return INCOMPLETE
        const top = stack[stack.length - 1]
        if (!top) throw new XmlError('CDATA outside an element')
        top.text += xml.slice(lt + 9, end)
        i = end + 3
        continue
      }
      if (n - lt < 9) return INCOMPLETE
      throw new XmlError('Document type declarations are not accepted')
    }
    const gt = tagEnd(xml, lt + 1)
    if (gt === -1) return INCOMPLETE
    if (c === 47) {
      const name = xml.slice(lt + 2, gt).trimEnd()
      const top = stack.pop()
      if (!top || top.name !== name) throw new XmlError(`Unexpected </${name}>${top ? ` in <${top.name}>` : ''}`)
      // Whitespace between child elements is not text.
      if (top.children.length > 0 && top.text !== '' && top.text.trim() === '') top.text = ''
      if (stack.length === 0) return [top, gt + 1]
      i = gt + 1
      continue
    }
    let e = lt + 1
    while (e < gt && !isNameEnd(xml.charCodeAt(e))) e++
    if (e === lt + 1) throw new XmlError('Empty tag name')
    const element: XmlElement = { name: xml.slice(lt + 1, e), text: '', children: [] }
    const parent = stack[stack.length - 1]
    if (parent) parent.children.push(element)
    else first = element
    if (xml.charCodeAt(gt - 1) === 47) {
      if (!parent) return [first!, gt + 1]
    } else {
      stack.push(element)
    }
    i = gt + 1
  }
}

/**
 * Receives the fields of one record read by the fast path of {@link XmlStreamReader}. A record
 * cut by a chunk boundary is read again from its start when the rest has come (`begin` is
 * called again), so a sink commits what it gathered in `end` only.
 */
export interface RecordSink {
  /** Element names the sink knows: matched without allocating a string per tag. */
  readonly names?: readonly string[]
  /** A record element begins (e.g. `<Contents>`). */
  begin(name: string): void
  /**
   * A leaf field of the record: `parent` is undefined for the record's own children, or the
   * name of the child element that holds it (`Owner` for `Owner/ID`). Its text is
   * `xml.slice(start, end)`, entities not yet decoded (use {@link textOf}), so that numbers and
   * dates can be read without a string being made.
   */
  field(parent: string | undefined, name: string, xml: string, start: number, end: number): void
  /** The record's end tag was read. */
  end(): void
}

/** The decoded text of `xml.slice(start, end)`. */
export function textOf(xml: string, start: number, end: number): string {
  return decodeEntities(xml.slice(start, end))
}

/** An ETag's text: `&quot;...&quot;` read with one slice; anything else through {@link textOf}. */
export function etagAt(xml: string, start: number, end: number): string {
  if (end - start >= 12 && xml.startsWith('&quot;', start) && xml.startsWith('&quot;', end - 6)) {
    const inner = xml.slice(start + 6, end - 6)
    if (inner.indexOf('&') === -1) return `"${inner}"`
  }
  return textOf(xml, start, end)
}

/** A non-negative integer written at `xml[start, end)` (NaN if it is not one). */
export function integerAt(xml: string, start: number, end: number): number {
  if (end <= start || end - start > 15) return Number.NaN
  let n = 0
  for (let i = start; i < end; i++) {
    const d = xml.charCodeAt(i) - 48
    if (d < 0 || d > 9) return Number.NaN
    n = n * 10 + d
  }
  return n
}

function digits(xml: string, at: number, count: number): number {
  let n = 0
  for (let i = at; i < at + count; i++) {
    const d = xml.charCodeAt(i) - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146_097 + doe - 719_468
}

/**
 * The date written at `xml[start, end)`: S3's `YYYY-MM-DDTHH:MM:SS(.sss)Z` read directly,
 * anything else through `new Date(text)`.
 */
export function dateAt(xml: string, start: number, end: number): Date {
  const len = end - start
  if (
    (len === 24 || len === 20) &&
    xml.charCodeAt(start + 4) === 45 &&
    xml.charCodeAt(start + 7) === 45 &&
    xml.charCodeAt(start + 10) === 84 &&
    xml.charCodeAt(start + 13) === 58 &&
    xml.charCodeAt(start + 16) === 58 &&
    xml.charCodeAt(end - 1) === 90 &&
    (len === 20 || xml.charCodeAt(start + 19) === 46)
  ) {
    const y = digits(xml, start, 4)
    const mo = digits(xml, start + 5, 2)
    const d = digits(xml, start + 8, 2)
    const h = digits(xml, start + 11, 2)
    const mi = digits(xml, start + 14, 2)
    const sec = digits(xml, start + 17, 2)
    const ms = len === 24 ? digits(xml, start + 20, 3) : 0
    if (y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && sec >= 0 && sec <= 59 && ms >= 0) {
      return new Date(daysFromCivil(y, mo, d) * 86_400_000 + h * 3_600_000 + mi * 60_000 + sec * 1000 + ms)
    }
  }
  return new Date(textOf(xml, start, end))
}

/** The fast path met something it does not read (attributes, CDATA, comments, deeper nesting). */
const FALLBACK = Symbol('fallback')

/**
 * Read a record at `lt` (its '<'): an element whose children are leaves or hold only leaves,
 * with no attributes, comments or CDATA — what every repeated element of S3's answers is. No
 * tree is built: each leaf goes to `sink.field` as it is read. Returns the index after the
 * record, {@link INCOMPLETE}, or {@link FALLBACK} (nothing was sent to the sink then... except
 * fields already read: callers only use it on a sink they reset on fallback).
 */
function readRecord(xml: string, lt: number, sink: RecordSink, name: string): number | typeof INCOMPLETE | typeof FALLBACK {
  const n = xml.length
  let gt = lt + 1 + name.length
  if (gt >= n) return INCOMPLETE
  // `<Name>` exactly: attributes or a self-closing record take the general path.
  if (xml.charCodeAt(gt) !== 62) return FALLBACK
  sink.begin(name)
  let parent: string | undefined
  let i = gt + 1
  for (;;) {
    // The next tag: usually right here (S3 writes no whitespace between elements).
    let open = i
    if (xml.charCodeAt(i) !== 60) {
      open = xml.indexOf('<', i)
      if (open === -1) return INCOMPLETE
      for (let k = i; k < open; k++) {
        const w = xml.charCodeAt(k)
        if (w !== 32 && w !== 10 && w !== 13 && w !== 9) return FALLBACK
      }
    }
    if (open + 1 >= n) return INCOMPLETE
    const c = xml.charCodeAt(open + 1)
    if (c === 47) {
      // An end tag: of the open container, or of the record.
      const closing = parent ?? name
      const at = open + 2 + closing.length
      if (at >= n) return INCOMPLETE
      if (xml.charCodeAt(at) !== 62 || !xml.startsWith(closing, open + 2)) {
        const bad = xml.indexOf('>', open)
        if (bad === -1) return INCOMPLETE
        throw new XmlError(`Unexpected </${xml.slice(open + 2, bad)}> in <${closing}>`)
      }
      if (parent === undefined) {
        sink.end()
        return at + 1
      }
      parent = undefined
      i = at + 1
      continue
    }
    if (c === 33 || c === 63) return FALLBACK
    gt = xml.indexOf('>', open)
    if (gt === -1) return INCOMPLETE
    if (xml.charCodeAt(gt - 1) === 47) {
      // <Empty/>
      const leaf = xml.slice(open + 1, gt - 1).trimEnd()
      if (leaf.indexOf(' ') !== -1) return FALLBACK
      sink.field(parent, leaf, xml, gt, gt)
      i = gt + 1
      continue
    }
    let leaf = knownName(xml, open + 1, gt, sink.names)
    if (leaf === undefined) {
      leaf = xml.slice(open + 1, gt)
      if (leaf.indexOf(' ') !== -1) return FALLBACK
    }
    const next = xml.indexOf('<', gt + 1)
    if (next === -1 || next + 1 >= n) return INCOMPLETE
    if (xml.charCodeAt(next + 1) !== 47) {
      // A child element inside this one: a container (one level only).
      if (parent !== undefined) return FALLBACK
      for (let k = gt + 1; k < next; k++) {
        const w = xml.charCodeAt(k)
        if (w !== 32 && w !== 10 && w !== 13 && w !== 9) return FALLBACK
      }
      parent = leaf
      i = next
      continue
    }
    const at = next + 2 + leaf.length
    if (at >= n) return INCOMPLETE
    if (xml.charCodeAt(at) !== 62 || !xml.startsWith(leaf, next + 2)) {
      const bad = xml.indexOf('>', next)
      if (bad === -1) return INCOMPLETE
      throw new XmlError(`Unexpected </${xml.slice(next + 2, bad)}> in <${leaf}>`)
    }
    sink.field(parent, leaf, xml, gt + 1, next)
    i = at + 1
  }
}

/**
 * The text at `xml[start, end)` if it is one of `known` (returned without making a new string),
 * else undefined. Used for tag names and for values that repeat (storage classes).
 */
export function knownName(xml: string, start: number, end: number, known: readonly string[] | undefined): string | undefined {
  if (known === undefined) return undefined
  const len = end - start
  const first = xml.charCodeAt(start)
  for (let i = 0; i < known.length; i++) {
    const name = known[i]!
    if (name.length === len && name.charCodeAt(0) === first && xml.startsWith(name, start)) return name
  }
  return undefined
}

/** Send a tree element's leaves to a sink, as {@link readRecord} would (the slow path). */
function replayRecord(element: XmlElement, sink: RecordSink): void {
  const leaf = (parent: string | undefined, e: XmlElement) => {
    // The sink decodes entities: hand it the text escaped again.
    const raw = escapeXml(e.text)
    sink.field(parent, e.name, raw, 0, raw.length)
  }
  sink.begin(element.name)
  for (const c of element.children) {
    if (c.children.length === 0) leaf(undefined, c)
    else for (const g of c.children) leaf(c.name, g)
  }
  sink.end()
}

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
