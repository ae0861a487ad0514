/**
 * A realistic local tree for the differential tests: a copy of part of /usr/share/doc (relative
 * symbolic links to folders and files, links that dangle once copied out of their tree, gzipped
 * changelogs, HTML with its _static folder) plus planted awkward names: spaces, `#%+?&`,
 * unicode in file and folder names, empty folders, a dangling link, and the `logs` /
 * `logs-2019` / `logsbook.txt` prefix trap.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Package folders copied from /usr/share/doc (those present on the machine). */
const DOC_PACKAGES = ['adduser', 'cpp', 'g++', 'gzip', 'libtinfo6', 'libncurses-dev', 'perl', 'python3']

/** Planted files: relative path -> content. */
export const AWKWARD: Record<string, string> = {
  'doc/awkward/a b.txt': 'space\n',
  'doc/awkward/#hash.txt': 'hash\n',
  'doc/awkward/100%.txt': 'percent\n',
  'doc/awkward/plus+sign.txt': 'plus\n',
  'doc/awkward/what?.txt': 'question\n',
  'doc/awkward/and&more.txt': 'ampersand\n',
  'doc/awkward/ünïcödé.txt': 'unicode\n',
  'doc/awkward/日本語.txt': 'japanese\n',
  'doc/awkward/emoji😀.txt': 'emoji\n',
  'doc/awkward/café/menu.html': '<p>menu</p>\n',
  'doc/awkward/data.json': '{"ok":true}\n',
  'doc/awkward/.hidden': 'hidden\n',
  'logs/a.txt': 'log a\n',
  'logs/sub/b.txt': 'log b\n',
  'logs-2019/keep.txt': 'keep\n',
  'logsbook.txt': 'book\n',
}

/** Build the tree under `root` (which must not exist yet). Returns `root`. */
export async function buildTree(root: string): Promise<string> {
  await mkdir(join(root, 'doc'), { recursive: true })
  const present = DOC_PACKAGES.filter((p) => existsSync(join('/usr/share/doc', p)))
  // `cp -a` keeps symbolic links as links (relative ones keep pointing inside the copy, or dangle).
  if (present.length > 0) await run('cp', ['-a', ...present.map((p) => join('/usr/share/doc', p)), join(root, 'doc')])
  for (const [rel, content] of Object.entries(AWKWARD)) {
    await mkdir(join(root, rel, '..'), { recursive: true })
    await writeFile(join(root, rel), content)
  }
  await mkdir(join(root, 'doc/empty-folder'), { recursive: true })
  await mkdir(join(root, 'doc/empty-nested/inner'), { recursive: true })
  await symlink('a b.txt', join(root, 'doc/awkward/link-to-file.txt'))
  await symlink('café', join(root, 'doc/awkward/link-to-folder'))
  await symlink('nowhere.txt', join(root, 'doc/awkward/dangling.txt'))
  return root
}
