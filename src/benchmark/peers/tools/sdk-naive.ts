/** The naive AWS SDK loop: one awaited request after another. */
import { runSdk, serial } from './sdk.js'
import type { PhaseTask } from './types.js'

export function run(task: PhaseTask): Promise<void> {
  return runSdk(task, serial)
}
