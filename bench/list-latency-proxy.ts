/**
 * Bench helper: a TCP proxy on 127.0.0.1 that delays every chunk the server sends back by a
 * fixed number of milliseconds (order kept), to list through an AWS-like round trip. Requests
 * go through at once; only responses wait, so each request costs the extra latency once.
 */
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net'

export interface LatencyProxy {
  /** `http://127.0.0.1:PORT` */
  endpoint: string
  close(): Promise<void>
}

export async function startLatencyProxy(upstream: string, delayMs: number): Promise<LatencyProxy> {
  const target = new URL(upstream)
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const origin = createConnection({ host: target.hostname, port: Number(target.port) })
    sockets.add(client)
    sockets.add(origin)
    client.on('close', () => sockets.delete(client))
    origin.on('close', () => sockets.delete(origin))
    client.on('data', (chunk) => origin.write(chunk))
    origin.on('data', (chunk) => {
      setTimeout(() => {
        if (!client.destroyed) client.write(chunk)
      }, delayMs)
    })
    const end = (): void => {
      setTimeout(() => {
        client.destroy()
        origin.destroy()
      }, delayMs)
    }
    client.on('error', end)
    origin.on('error', end)
    client.on('end', () => origin.end())
    origin.on('end', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
