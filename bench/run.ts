/**
 * The peer benchmark from a checkout, without building: `npx tsx bench/run.ts [--runs 3]
 * [--only W1,W3] [--scale 0.25] [--tools ...] [--no-external]` (the same flags as
 * `bucketflow bench peers`, which `npm run bench` runs compiled). Engine: src/benchmark/peers/.
 */
import { Command } from 'commander'
import { register } from '../src/cli/bench.js'
import { addGlobalOptions } from '../src/cli/common.js'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
const program = addGlobalOptions(new Command('bench-runner'))
register(program)
await program.parseAsync(['bench', 'peers', ...process.argv.slice(2)], { from: 'user' })
