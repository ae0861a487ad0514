/**
 * Connect and idle timeouts: a server that never accepts the connection, options validated.
 * (Stalls before an answer and in the middle of a body: download.test.ts.)
 */
import { fork, type ChildProcess } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Bucket, createClient, DEFAULT_CONNECT_TIMEOUT, DEFAULT_IDLE_TIMEOUT, InvalidArgumentError, TimeoutError } from '../../src/index.js'

/**
 * A child process that listens on 127.0.0.1 with a backlog of 1 and then blocks its event loop:
 * once the kernel's accept queue is full, new connections hang in SYN, as behind a dead host.
 */
const BLACK_HOLE = `
const net = require('node:net')
const server = net.createServer()
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  process.send(server.address().port, () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0))
})
`

describe('timeouts', () => {
  let child: ChildProcess
  let port: number
  const fillers: Socket[] = []
  beforeAll(async () => {
    child = fork('-e', [BLACK_HOLE], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(Number(m))))
    // Fill the accept queue (the kernel completes these handshakes; nobody accepts them).
    for (let i = 0; i < 4; i++) {
      const s = connect({ port, host: '127.0.0.1' })
      s.on('error', () => undefined)
      fillers.push(s)
    }
    await new Promise((r) => setTimeout(r, 200))
  })
  afterAll(() => {
    for (const s of fillers) s.destroy()
    child.kill('SIGKILL')
  })

  it('gives up a connection that is never accepted after connectTimeout, retried, then TimeoutError', async () => {
    const b = new Bucket('black-hole', {
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
      connectTimeout: 300,
      maxAttempts: 2,
    })
    const t0 = Date.now()
    const err = await b.head('x').catch((e: unknown) => e)
    const elapsed = Date.now() - t0
    b.client.destroy()
    expect(err).toBeInstanceOf(TimeoutError)
    expect((err as TimeoutError).code).toBe('Timeout')
    expect((err as TimeoutError).key).toBe('x')
    // Two attempts of 300 ms and a backoff, not the kernel's minutes of SYN retries.
    expect(elapsed).toBeGreaterThanOrEqual(600)
    expect(elapsed).toBeLessThan(20_000)
  })

  it('validates the timeout options and documents the defaults', () => {
    expect(DEFAULT_CONNECT_TIMEOUT).toBe(10_000)
    expect(DEFAULT_IDLE_TIMEOUT).toBe(60_000)
    for (const [opts, argument] of [
      [{ connectTimeout: 0 }, 'connectTimeout'],
      [{ idleTimeout: 1.5 }, 'idleTimeout'],
      [{ idleTimeout: -1 }, 'idleTimeout'],
      [{ maxAttempts: 0 }, 'maxAttempts'],
    ] as const) {
      let err: unknown
      try {
        createClient({ endpoint: 'http://127.0.0.1:1', ...opts })
      } catch (e) {
        err = e
      }
      expect(err, JSON.stringify(opts)).toBeInstanceOf(InvalidArgumentError)
      expect((err as InvalidArgumentError).argument).toBe(argument)
    }
  })
})
