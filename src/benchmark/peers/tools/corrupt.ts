/**
 * A control peer, never run unless named: the SDK batches peer with the first byte of every
 * payload flipped. Its samples must come out as failed verification, never as timings.
 */
import { batches, runSdk } from './sdk.js'
import type { PhaseTask } from './types.js'

export function run(task: PhaseTask): Promise<void> {
  return runSdk(task, batches(task.concurrency), { corrupt: true })
}
