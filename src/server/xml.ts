/**
 * The little XML the local server needs: building S3 response bodies from plain objects, and
 * reading the few request bodies S3 takes (DeleteObjects, CompleteMultipartUpload,
 * RestoreObject).
 * @packageDocumentation
 */

/** A value to render: an object becomes child elements, an array repeats its element. */
export type XmlValue = string | number | boolean | Date | undefined | XmlValue[] | { [name: string]: XmlValue }

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }

/** Escape text for an element; control characters become numeric references so they survive. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"'\u0000-\u0008\u000b-\u001f\u0085\u2028]|\r|\n/g, (c) => ESCAPES[c] ?? `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`)
}

function element(name: string, value: XmlValue): string {
  if (value === undefined) return ''
  if (Array.isArray(value)) return value.map((v) => element(name, v)).join('')
  let inner: string
  if (value instanceof Date) inner = value.toISOString()
  else if (typeof value === 'object')
    inner = Object.entries(value)
      .map(([k, v]) => element(k, v))
      .join('')
  else inner = escapeXml(String(value))
  return `<${name}>${inner}</${name}>`
}

/** A whole document with `root` as the root element (in S3's namespace unless `namespaced` is false). */
export function toXml(root: string, body: XmlValue, namespaced = true): string {
  const ns = namespaced ? ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"' : ''
  return `<?xml version="1.0" encoding="UTF-8"?>\n${element(root, body).replace(`<${root}>`, `<${root}${ns}>`)}`
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

/** Resolve entity and character references. */
export function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (ref, name: string) => {
    if (name.startsWith('#x')) return String.fromCodePoint(parseInt(name.slice(2), 16))
    if (name.startsWith('#')) return String.fromCodePoint(parseInt(name.slice(1), 10))
    return NAMED[name] ?? ref
  })
}

/** The raw inner XML of every `<name>` element in `xml` (an empty `<name/>` gives ''). */
export function elements(xml: string, name: string): string[] {
  const re = new RegExp(`<${name}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${name}\\s*>)`, 'g')
  return [...xml.matchAll(re)].map((m) => m[1] ?? '')
}

/** The text of the first `<name>` element in `xml`, references resolved; undefined if absent. */
export function textOf(xml: string, name: string): string | undefined {
  const inner = elements(xml, name)[0]
  if (inner === undefined) return undefined
  const cdata = /^<!\[CDATA\[([\s\S]*)\]\]>$/.exec(inner)
  return cdata ? cdata[1]! : unescapeXml(inner)
}
