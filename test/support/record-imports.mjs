/**
 * Preload (`node --import`) that prints `loaded <url>` on stderr for every file module the
 * process loads: what a test of the import graph reads.
 */
import { register } from 'node:module'

const hooks = `
import { writeSync } from 'node:fs'
export async function load(url, context, next) {
  if (url.startsWith('file:')) writeSync(2, 'loaded ' + url + '\\n')
  return next(url, context)
}
`
register(`data:text/javascript,${encodeURIComponent(hooks)}`, import.meta.url)
