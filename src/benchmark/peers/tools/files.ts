/**
 * Local files and output of the node peers' phases, apart from any S3 client: a peer that
 * imports these loads no SDK it does not use (the SDK's start-up is then the SDK peers' alone).
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { PhaseTask } from './types.js'

/** The files of a flat folder, sorted. */
export async function sourceFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort()
}

/** Where a downloaded key goes: `dir/<key minus prefix>`. */
export function localPath(task: PhaseTask, key: string): string {
  return join(task.dir, key.slice(task.prefix.length))
}

/** Print keys, one a line, and wait until standard output has taken them. */
export async function printKeys(keys: readonly string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => process.stdout.write(keys.length ? `${keys.join('\n')}\n` : '', (err) => (err ? reject(err) : resolve())))
}
