/**
 * `bucketflow cp` and `bucketflow mv`, as `aws s3 cp` / `aws s3 mv`: between S3 URLs
 * (server-side), from local files or folders (or stdin `-`) to S3, from S3 to local files or
 * folders (or stdout `-`). Paths follow aws-cli's rules (src/cli/targets.ts).
 */
import type { Command } from 'commander'
import { InvalidArgumentError } from '../index.js'
import { act, globals, isS3Url, Output, parseS3Url, type CliContext } from './common.js'
import { addSelection, addSymlinks, transferFlags, type SharedOptionValues } from './options.js'
import { copy, download, upload } from './transfer.js'

function registerOne(program: Command, ctx: CliContext, verb: 'cp' | 'mv'): void {
  const cmd = program
    .command(verb)
    .description(
      verb === 'cp'
        ? 'copy objects server-side, or upload/download like aws s3 cp (a local path or - on either side)'
        : 'move objects (copy, then delete the source): between S3 URLs, or between S3 and local files',
    )
    .argument('<source>', 's3://bucket/key, a local path, or - (stdin); with --recursive a folder: s3://bucket/prefix or a local folder')
    .argument(
      verb === 'cp' ? '[destination]' : '<destination>',
      `s3://bucket/key-or-prefix/, a local path, or - (stdout)${verb === 'cp' ? '; default: the source itself (with --storage-class)' : ''}`,
    )
  addSymlinks(addSelection(cmd, 'every key (or file) under the source folder: s3://b/p means the folder p/'))
    .option('--storage-class <class>', 'storage class of the new objects')
    .option('--content-type <type>', 'content type of uploaded objects (default: from the file extension)')
    .option('--content-encoding <encoding>', 'Content-Encoding of uploaded objects, e.g. gzip for files that are gzip-compressed')
    .addHelpText(
      'after',
      `\nExamples:\n  bucketflow ${verb} s3://cats/cute/1.png s3://backup/cute/\n  bucketflow ${verb} -r s3://cats/cute s3://cats/adorable\n  bucketflow ${verb} -r --exclude '*' --include '*.png' photos s3://cats/photos\n  bucketflow ${verb} --dry-run -r s3://cats/2019 ./archive${verb === 'cp' ? '\n  bucketflow cp s3://cats/big.tar --storage-class STANDARD_IA' : ''}`,
    )
    .action(
      act(ctx, async (source: string, destination: string | undefined, opts: SharedOptionValues, c: Command) => {
        const g = globals(c)
        const out = new Output(ctx, g)
        const flags = transferFlags(c, opts)
        const dest = destination ?? source
        if (isS3Url(source) && isS3Url(dest)) return copy(ctx, out, g, parseS3Url(source), parseS3Url(dest, 'destination'), flags, verb === 'mv')
        if (isS3Url(dest)) return upload(ctx, out, g, [source], parseS3Url(dest, 'destination'), flags, verb)
        if (isS3Url(source)) return download(ctx, out, g, parseS3Url(source), dest, flags, verb)
        throw new InvalidArgumentError(`Expected an s3:// URL on at least one side, got ${JSON.stringify(source)} and ${JSON.stringify(dest)}`, {
          argument: 'source',
        })
      }),
    )
}

export function register(program: Command, ctx: CliContext): void {
  registerOne(program, ctx, 'cp')
  registerOne(program, ctx, 'mv')
}
