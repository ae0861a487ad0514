/** Local paths for downloads: never outside the destination folder. */
import { isAbsolute, resolve, sep } from 'node:path'
import { InvalidArgumentError } from './errors.js'

/**
 * The local path that mirrors `key` under `dir`. Throws InvalidArgumentError when the key would
 * land outside `dir` (`../x`, `/abs`, `a/../../x`) or names a folder (ends with `/`).
 */
export function safeDestination(dir: string, key: string, bucket?: string): string {
  const root = resolve(dir)
  const where = { key, argument: 'key', ...(bucket === undefined ? {} : { bucket }) }
  if (key.endsWith('/') || key.length === 0) {
    throw new InvalidArgumentError(`Key ${JSON.stringify(key)} names a folder, not a file; nothing to write under ${root}`, where)
  }
  const target = resolve(root, key)
  if (isAbsolute(key) || key.includes('\0') || !(target.startsWith(root + sep))) {
    throw new InvalidArgumentError(`Key ${JSON.stringify(key)} would be written outside the destination folder ${root}`, where)
  }
  return target
}
