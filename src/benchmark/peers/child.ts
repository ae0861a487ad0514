/**
 * Entry of the child process that runs one node peer for one phase, so that its CPU time and
 * peak RSS are its own: `node child.js <peer> <base64url task JSON>`, or `<peer> --startup` to
 * only load the peer's code (its start-up cost). Exit code 0 on success; 1 with the error on stderr.
 */
import { writeFileSync } from 'node:fs'
import { RUSAGE_ENV } from './measure.js'
import { NODE_PEER_CODE } from './tools/index.js'
import type { PhaseTask } from './tools/types.js'

function finish(code: number): void {
  const file = process.env[RUSAGE_ENV]
  if (file) {
    const u = process.resourceUsage()
    writeFileSync(file, JSON.stringify({ user: u.userCPUTime / 1e6, sys: u.systemCPUTime / 1e6, maxRssKiB: u.maxRSS }))
  }
  process.exit(code)
}

async function main(): Promise<void> {
  const [name = '', arg = ''] = process.argv.slice(2)
  const load = NODE_PEER_CODE[name]
  if (!load) throw new Error(`unknown peer ${JSON.stringify(name)}`)
  const peer = await load()
  if (arg === '--startup') return
  const task = JSON.parse(Buffer.from(arg, 'base64url').toString('utf8')) as PhaseTask
  await peer.run(task)
  // Let standard output drain before exiting.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()))
}

main().then(
  () => finish(0),
  (err: unknown) => {
    const e = err as { name?: string; code?: string; message?: string; stack?: string }
    process.stderr.write(`${e?.name ?? 'Error'}${e?.code ? ` (${e.code})` : ''}: ${e?.message ?? String(err)}\n`)
    finish(1)
  },
)
