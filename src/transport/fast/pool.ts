/// <reference path="./undici-modules.d.ts" />
/**
 * undici's connection pool (`Agent`) and its `request` call, loaded from their own modules.
 * undici's package entry also loads fetch, WebSocket, caches, mocks and more — about 150 ms of
 * CPU at every process start, against about 60 ms for these two (Node 20). The entry is also what
 * puts `request` on the dispatchers' prototype, so here it is called on the agent.
 *
 * @packageDocumentation
 */
import type { Agent as UndiciAgent, Dispatcher } from 'undici'
import AgentClass from 'undici/lib/dispatcher/agent.js'
import requestCall from 'undici/lib/api/api-request.js'

/** undici's `Agent`: keep-alive connection pools, one per origin. */
export const Agent: typeof UndiciAgent = AgentClass
export type Agent = UndiciAgent

/** undici's `request`, sent through `agent`. */
export function request(agent: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> {
  return requestCall.call(agent, options)
}
