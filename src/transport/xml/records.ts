/**
 * The fast path of the streaming XML reader: records (the repeated small elements of a listing)
 * read field by field into a {@link RecordSink} without building a tree, and the readers of
 * numbers, dates and ETags straight from the document text. Internal to the transport.
 *
 * @packageDocumentation
 */
import { decodeEntities, escapeXml, INCOMPLETE, XmlError, type XmlElement } from './tokens.js'

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
export const FALLBACK = Symbol('fallback')

/**
 * Read a record at `lt` (its '<'): an element whose children are leaves or hold only leaves,
 * with no attributes, comments or CDATA — what every repeated element of S3's answers is. No
 * tree is built: each leaf goes to `sink.field` as it is read. Returns the index after the
 * record, {@link INCOMPLETE}, or {@link FALLBACK} (nothing was sent to the sink then... except
 * fields already read: callers only use it on a sink they reset on fallback).
 */
export function readRecord(xml: string, lt: number, sink: RecordSink, name: string): number | typeof INCOMPLETE | typeof FALLBACK {
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
export function replayRecord(element: XmlElement, sink: RecordSink): void {
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
