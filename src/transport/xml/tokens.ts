/**
 * The tokenizer under the XML reader (see `../xml.ts`): entities and references, escaping, and
 * the one-pass element reader that builds the compact tree. Internal to the transport.
 *
 * @packageDocumentation
 */

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

export function isNameEnd(c: number): boolean {
  // whitespace, '/', '>'
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 47 || c === 62
}

/** Find the '>' that ends the tag opened at `from`, skipping quoted attribute values. */
export function tagEnd(xml: string, from: number): number {
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
export const INCOMPLETE = Symbol('incomplete')

/**
 * Skip whitespace, processing instructions and comments from `i`. Returns the index of the next
 * '<' that opens or closes an element (or of non-whitespace text), `-1` when the input ends
 * first (more may come), or throws on a DOCTYPE.
 */
export function skipMisc(xml: string, i: number): number {
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
export function onlyMisc(rest: string): boolean {
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
export function readElement(xml: string, start: number): [XmlElement, number] | typeof INCOMPLETE {
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
