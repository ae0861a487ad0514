/** The AWS SDK with `Promise.all` over batches of the concurrency. */
import { batches, runSdk } from './sdk.js'
import type { PhaseTask } from './types.js'

export function run(task: PhaseTask): Promise<void> {
  return runSdk(task, batches(task.concurrency))
}
