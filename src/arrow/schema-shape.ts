/**
 * A check of a log schema's shape that does not load apache-arrow: what the rotating sink can
 * check when it is created, before its Parquet builder (and Arrow) is loaded. The full check
 * (`validateLogSchema`: an apache-arrow `Schema` of this package's copy of apache-arrow) runs
 * when that builder is loaded, before the first line is written.
 *
 * @example
 * ```ts
 * checkLogSchemaShape({ fields: [] }) // throws InvalidArgumentError: A schema needs at least one field
 * ```
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js'
import { describeValue } from '../validate.js'

/**
 * Arrow's type ids (`Type` in apache-arrow, fixed by the Arrow columnar format) that NDJSON lines
 * can fill: Int, Float, Utf8, Bool, Date, Timestamp, LargeUtf8.
 */
const FILLABLE_TYPE_IDS = new Set([2, 3, 5, 6, 8, 10, 20])

/** Throws InvalidArgumentError unless `schema` looks like an Arrow schema whose fields JSON can fill. */
export function checkLogSchemaShape(schema: unknown): void {
  const fields = (schema as { fields?: unknown } | null)?.fields
  if (typeof schema !== 'object' || schema === null || !Array.isArray(fields)) {
    throw new InvalidArgumentError(`Expected schema to be an apache-arrow Schema, got ${describeValue(schema)}`, { argument: 'schema' })
  }
  if (fields.length === 0) throw new InvalidArgumentError('A schema needs at least one field', { argument: 'schema' })
  for (const f of fields as { name?: unknown; type?: { typeId?: unknown } }[]) {
    if (!FILLABLE_TYPE_IDS.has(f?.type?.typeId as number)) {
      throw new InvalidArgumentError(
        `Field ${JSON.stringify(f?.name)} has type ${String(f?.type)}, which NDJSON lines cannot be turned into; use utf8, bool, int*, uint*, float*, timestamp or date32`,
        { argument: 'schema' },
      )
    }
  }
}
