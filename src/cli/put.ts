/** `bucketflow put <local...> s3://bucket/prefix`: upload files, folders (recursively), or stdin ('-'). */
import type { Command } from 'commander'
import { InvalidArgumentError } from '../index.js'
import { act, globals, Output, parseS3Url, type CliContext } from './common.js'
import { addSelection, addSymlinks, transferFlags, type SharedOptionValues } from './options.js'
import { upload } from './transfer.js'

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('put')
    .description('upload local files or folders (a folder always with everything under it), or stdin with "-", to S3')
    .argument('<sources...>', 'local files or folders, or - for stdin; the last argument is the s3:// destination')
  addSymlinks(addSelection(cmd, 'accepted for aws-cli habits: folders are always uploaded with everything under them'))
    .option('--storage-class <class>', 'storage class of the new objects')
    .option('--content-type <type>', "content type of the new objects (default: from each file's extension)")
    .option('--content-encoding <encoding>', 'Content-Encoding of the new objects, e.g. gzip for files that are gzip-compressed')
    .addHelpText(
      'after',
      "\nExamples:\n  bucketflow put photos/ s3://cats/photos/\n  bucketflow put report.csv s3://data/reports/2024.csv\n  bucketflow put --exclude '*.tmp' --dry-run logs s3://data/logs\n  tar c logs | bucketflow put - s3://backups/logs.tar\n\nA folder's files go under the destination folder (s3://b/p and s3://b/p/ both mean p/); one file to\ns3://b/p/ keeps its name, to s3://b/name takes that name.",
    )
    .action(
      act(ctx, async (args: string[], opts: SharedOptionValues, c: Command) => {
        const g = globals(c)
        if (args.length < 2) throw new InvalidArgumentError('Expected at least one source and an s3:// destination', { argument: 'sources' })
        const dest = parseS3Url(args.at(-1)!, 'destination')
        return upload(ctx, new Output(ctx, g), g, args.slice(0, -1), dest, transferFlags(c, opts), 'put')
      }),
    )
}
