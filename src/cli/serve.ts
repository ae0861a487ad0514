/** `bucketflow serve`: run the embedded in-memory S3 server until interrupted. */
import type { Command } from 'commander'
import { act, EXIT_OK, globals, Output, type CliContext } from './common.js'

export function register(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('run the embedded in-memory S3 server on 127.0.0.1 (for demos and experiments; it keeps everything in RAM and checks no credentials)')
    .option('-p, --port <port>', 'port (default: a free one)', (v) => Number(v), 0)
    .addHelpText('after', '\nExample:\n  bucketflow serve --port 9000 &\n  AWS_ENDPOINT_URL_S3=http://127.0.0.1:9000 bucketflow ls')
    .action(
      act(ctx, async (opts: { port: number }, cmd: Command) => {
        const out = new Output(ctx, globals(cmd))
        // Loaded on use: the other commands do not load the embedded server.
        const { startLocalS3 } = await import('../server/index.js')
        const server = await startLocalS3({ port: opts.port })
        const env = server.env()
        out.data(
          Object.entries(env)
            .map(([k, v]) => `${k}=${v}`)
            .join('\n'),
          env,
        )
        out.summary(`serving S3 at ${server.endpoint}; Ctrl-C to stop`)
        // Ctrl-C (or SIGTERM) is how this command ends: not an interruption.
        ctx.interruptEndsNormally = true
        await new Promise<void>((resolve) => {
          if (ctx.signal.aborted) resolve()
          else ctx.signal.addEventListener('abort', () => resolve(), { once: true })
        })
        await server.close()
        return EXIT_OK
      }),
    )
}
