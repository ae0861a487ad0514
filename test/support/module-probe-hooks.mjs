// Module hooks for a test: record every resolved URL; answer the list on request.
const seen = []
export async function initialize({ port }) {
  port.on('message', () => port.postMessage(seen))
  port.unref()
}
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  seen.push(result.url)
  return result
}
