/**
 * The long fault-injection soak: the CI soak's mixed operations (test/faults/soak-engine.ts) for
 * as many operations as asked, against radosgw behind the seeded fault proxy.
 *
 *   npx tsx bench/soak.ts [--ops 100000] [--fault-rate 0.05] [--seed N] [--concurrency 32]
 *                         [--idle-timeout 3000]
 *
 * The server: S3_ENDPOINT (with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), or a radosgw started
 * for the run (scripts/local-s3.sh) and stopped at the end. Prints operations, faults injected by
 * kind, retries, typed failures, lost / corrupt / orphans (each must be 0) and p50 / p99
 * latency; exits 1 if anything was lost, corrupt, untyped, orphaned or written outside its
 * destination.
 */
import { closeServer, openServer } from '../src/benchmark/peers/server.js'
import { formatReport, runSoak } from '../test/faults/soak-engine.js'

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback
}

const ops = Number(arg('ops', '100000'))
const faultRate = Number(arg('fault-rate', '0.05'))
const seed = Number(arg('seed', String(Math.floor(Math.random() * 2 ** 31))))
const concurrency = Number(arg('concurrency', '32'))
const idleTimeout = Number(arg('idle-timeout', '3000'))
for (const [name, value] of [
  ['ops', ops],
  ['fault-rate', faultRate],
  ['seed', seed],
  ['concurrency', concurrency],
  ['idle-timeout', idleTimeout],
] as const) {
  if (!Number.isFinite(value) || value < 0) {
    console.error(`--${name} must be a number >= 0`)
    process.exit(2)
  }
}

const log = (line: string) => process.stderr.write(`${line}\n`)
const server = await openServer(undefined, log)
log(`soak: ${ops} operations, fault rate ${faultRate}, seed ${seed} (replay with --seed ${seed}), concurrency ${concurrency}, against ${server.source}`)
let failed = false
try {
  const report = await runSoak({ s3: server, ops, faultRate, seed, concurrency, idleTimeout, log })
  console.log(formatReport(report))
  const problems = [...report.lost, ...report.corrupt, ...report.untyped, ...report.orphans, ...report.outside]
  for (const p of problems.slice(0, 50)) console.log(`  problem: ${p}`)
  failed = problems.length > 0
} finally {
  await closeServer(server)
}
process.exit(failed ? 1 : 0)
