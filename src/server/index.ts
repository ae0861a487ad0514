/**
 * `bucketflow/server`: the embedded S3 server (for demos and quick local runs, not for tests of
 * S3 fidelity). Kept out of the main entry: `import 'bucketflow'` does not load it.
 *
 * @example
 * ```ts
 * import { startLocalS3 } from 'bucketflow/server'
 * const s3 = await startLocalS3({ port: 0 })
 * console.log(s3.endpoint)
 * await s3.close()
 * ```
 * @packageDocumentation
 */
export { startLocalS3, type LocalS3, type LocalS3Options } from './server.js'
