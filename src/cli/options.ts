/** Options shared by the verbs that change things: --dry-run, --include/--exclude, symlinks. */
import { Option, type Command } from 'commander'
import type { StorageClass } from '../index.js'
import { addFilterOptions, filterOf } from './filters.js'
import type { TransferFlags } from './transfer.js'

/** Raw values of the shared options as commander parses them. */
export interface SharedOptionValues {
  recursive?: boolean
  dryRun?: boolean
  dryrun?: boolean
  followSymlinks?: boolean
  storageClass?: StorageClass
  contentType?: string
  contentEncoding?: string
}

/** Add `--dry-run` (and aws-cli's spelling `--dryrun`, hidden). */
export function addDryRun(cmd: Command): Command {
  return cmd
    .option('--dry-run', 'print what would be done (as "(dryrun) ..." lines) and change nothing')
    .addOption(new Option('--dryrun', 'same as --dry-run (aws-cli spelling)').hideHelp())
}

/** Add `-r/--recursive`, `--dry-run`, `--include`/`--exclude`. */
export function addSelection(cmd: Command, recursiveHelp: string): Command {
  return addFilterOptions(addDryRun(cmd.option('-r, --recursive', recursiveHelp)))
}

/** Add `--follow-symlinks` / `--no-follow-symlinks` (followed by default, as aws-cli does). */
export function addSymlinks(cmd: Command): Command {
  return cmd
    .option('--no-follow-symlinks', 'skip symbolic links in local folders (default: follow them; a link to a missing target fails its own item)')
    .addOption(new Option('--follow-symlinks', 'follow symbolic links (the default)').hideHelp())
}

/** Whether `--dry-run` (or `--dryrun`) was given. */
export function isDryRun(opts: SharedOptionValues): boolean {
  return Boolean(opts.dryRun || opts.dryrun)
}

/** The transfer flags of a command's parsed options. */
export function transferFlags(cmd: Command, opts: SharedOptionValues): TransferFlags {
  return {
    recursive: opts.recursive ?? false,
    dryRun: isDryRun(opts),
    filter: filterOf(cmd),
    followSymlinks: opts.followSymlinks ?? true,
    ...(opts.storageClass ? { storageClass: opts.storageClass } : {}),
    ...(opts.contentType ? { contentType: opts.contentType } : {}),
    ...(opts.contentEncoding ? { contentEncoding: opts.contentEncoding } : {}),
  }
}
