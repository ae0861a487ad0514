/**
 * Content types of uploaded files, from their extension: the `mime` package (the IANA and
 * Apache types of mime-db), plus the data formats this library writes and reads that mime-db
 * does not name. Unknown extensions get no content type (S3 then stores
 * `binary/octet-stream`, as aws-cli's uploads do).
 *
 * @packageDocumentation
 */
import mime from 'mime'

/** Data formats missing from mime-db. */
const DATA_TYPES: Record<string, string> = {
  parquet: 'application/vnd.apache.parquet',
  ndjson: 'application/x-ndjson',
  jsonl: 'application/jsonl',
  arrow: 'application/vnd.apache.arrow.file',
  arrows: 'application/vnd.apache.arrow.stream',
  avro: 'application/avro',
}

/**
 * The content type of a file from its name's extension (case-insensitive), or undefined when
 * the extension is unknown.
 *
 * @example
 * ```ts
 * contentTypeOf('photos/cat.PNG') // 'image/png'
 * contentTypeOf('index.parquet') // 'application/vnd.apache.parquet'
 * contentTypeOf('README') // undefined
 * ```
 */
export function contentTypeOf(path: string): string | undefined {
  const name = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1)
  const dot = name.lastIndexOf('.')
  if (dot <= 0) return undefined
  const ext = name.slice(dot + 1).toLowerCase()
  return DATA_TYPES[ext] ?? mime.getType(ext) ?? undefined
}
