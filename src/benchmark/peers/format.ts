/** Number formatting shared by the table and the chart. */

/** 1234.5 -> "1235", 12.34 -> "12.3", 1.234 -> "1.23"; null -> "-". */
export function num(value: number | null, digits?: number): string {
  if (value === null) return '-'
  if (digits !== undefined) return value.toFixed(digits)
  const a = Math.abs(value)
  return value.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 2)
}
