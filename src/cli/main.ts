#!/usr/bin/env node
/**
 * `bucketflow`: the command line. One file per subcommand under src/cli/; the program is in
 * program.ts. Here: the process around it. SIGINT and SIGTERM abort one AbortSignal that every
 * request of the run listens to (a second one exits at once); a closed stdout ends the run
 * quietly. Exit codes: 0 ok, 1 some items failed, 2 usage error, 130/143 interrupted.
 */
import { Interrupted, signalCounter } from './common.js'
import { run } from './program.js'

// The SDK's Node-version notice is for the library's users; the CLI keeps its stderr for results.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

const controller = new AbortController()
const signals = signalCounter()
for (const name of ['SIGINT', 'SIGTERM'] as const) {
  process.on(name, () => {
    const reason = new Interrupted(name)
    const seen = signals()
    if (seen === 'again') process.exit(reason.exitCode)
    if (seen === 'first') controller.abort(reason)
  })
}
// A reader that went away (`| head`) is the run's end, not a crash.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined)
process.on('uncaughtException', (err) => {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})

const code = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  stderrIsTTY: process.stderr.isTTY === true,
  signal: controller.signal,
})
if (controller.signal.aborted) process.exit(code)
process.exitCode = code
