// The two undici modules the fast transport loads directly (see pool.ts); undici publishes
// types for its package entry only.
declare module 'undici/lib/dispatcher/agent.js' {
  const Agent: typeof import('undici').Agent
  export default Agent
}
declare module 'undici/lib/api/api-request.js' {
  function request(this: import('undici').Dispatcher, options: import('undici').Dispatcher.RequestOptions): Promise<import('undici').Dispatcher.ResponseData>
  export default request
}
