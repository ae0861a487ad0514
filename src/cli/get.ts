/** `bucketflow get s3://bucket/key [dest]` or `get -r s3://bucket/prefix dir`: download, mirroring keys as paths. */
import type { Command } from 'commander'
import { act, globals, Output, parseS3Url, type CliContext } from './common.js'
import { addSelection, transferFlags, type SharedOptionValues } from './options.js'
import { download } from './transfer.js'

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('get')
    .description(
      'download an object to a file, a folder or stdout (-), or every object under a prefix into a folder (keys become paths; keys that would escape the folder are refused)',
    )
    .argument('<url>', 's3://bucket/key, or s3://bucket/prefix/ (a trailing / or --recursive downloads the folder)')
    .argument('[destination]', 'local file, folder (existing, or ending in /), or - for stdout (default: the current folder)', '.')
  addSelection(cmd, 'download every key under the folder: s3://b/p means p/ (keys starting with p/)')
    .addHelpText(
      'after',
      "\nExamples:\n  bucketflow get s3://cats/cute/1.png cat.png\n  bucketflow get s3://cats/cute/1.png -  | file -\n  bucketflow get -r s3://cats/cute mirror\n  bucketflow get -r --exclude '*' --include '*.png' s3://cats/ pngs/\n\nExit code 1 when some objects failed (e.g. a key like ../x that would escape the folder); the rest are still downloaded.",
    )
    .action(
      act(ctx, async (url: string, destination: string, opts: SharedOptionValues, c: Command) => {
        const g = globals(c)
        return download(ctx, new Output(ctx, g), g, parseS3Url(url), destination, transferFlags(c, opts), 'get')
      }),
    )
}
