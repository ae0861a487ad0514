/** Finding external tools, and installing missing Debian packages when running as root. */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'

export interface Ran {
  ok: boolean
  stdout: string
  stderr: string
}

/** The parent's environment without AWS_* and RCLONE_* settings, plus `extra`. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^(AWS_|RCLONE_)/.test(k)) env[k] = v
  return { ...env, ...extra }
}

/** Run a command to completion; never throws. */
export function runQuiet(file: string, args: readonly string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, args, { env: childEnv(env), timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ ok: !err, stdout: String(stdout), stderr: err && !stderr ? String(err.message) : String(stderr) })
    })
  })
}

/** Absolute path of `name` on PATH, if any. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    const p = join(dir, name)
    if (existsSync(p)) return p
  }
  return undefined
}

/** True when missing tools can be installed here: root on Debian with apt-get. */
export function canInstall(): boolean {
  return process.getuid?.() === 0 && existsSync('/etc/debian_version') && onPath('apt-get') !== undefined
}

let updated = false

/** `apt-get install -y PKG` (with one `apt-get update` when the first try fails). Resolves to an error message or undefined. */
export async function aptInstall(pkg: string, log: (line: string) => void): Promise<string | undefined> {
  const env = { DEBIAN_FRONTEND: 'noninteractive' }
  const install = () => runQuiet('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], env, 15 * 60_000)
  log(`installing ${pkg} with apt-get`)
  let r = await install()
  if (!r.ok && !updated) {
    updated = true
    await runQuiet('apt-get', ['update', '-qq'], env, 10 * 60_000)
    r = await install()
  }
  return r.ok ? undefined : `apt-get install ${pkg} failed: ${lastLine(r.stderr)}`
}

/** The last non-empty line of a text. */
export function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).at(-1) ?? ''
}
