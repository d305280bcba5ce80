/**
 * send() to a hostile broker: a fake node:net server on 127.0.0.1 that answers every
 * request with a 2 GiB frame size. The promise must reject within maxBlockMs (+ slack)
 * with the connection's cause, not with "topic not present in metadata
 * (UNKNOWN_TOPIC_OR_PARTITION)". The one place a fake server is right: no real broker
 * misbehaves on purpose. (crates/client/tests/hostile.rs covers the other faults.)
 */
import { createServer, type Server, type Socket } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { KafkaError, Producer } from '../ts/index'

const sockets = new Set<Socket>()
let server: Server | undefined

async function twoGibBroker(): Promise<string> {
  server = createServer((sock) => {
    sockets.add(sock)
    sock.on('close', () => sockets.delete(sock))
    sock.on('error', () => {})
    // Whatever the request: a size prefix of 2^31 - 1 and a few bytes.
    sock.once('data', () => sock.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0])))
  })
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no TCP address')
  return `127.0.0.1:${addr.port}`
}

afterAll(async () => {
  for (const s of sockets) s.destroy()
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
})

describe('a hostile broker', () => {
  it('send() rejects with the connection cause (a 2 GiB frame), within maxBlockMs', async () => {
    const bootstrap = await twoGibBroker()
    const p = new Producer({ bootstrapServers: bootstrap, requestTimeoutMs: 1500, maxBlockMs: 2000 })
    const started = Date.now()
    const err = await p.send({ topic: 'hostile', messages: [{ value: 'v' }] }).then(
      () => null,
      (e: unknown) => e,
    )
    const elapsed = Date.now() - started
    await p.close(1000)
    expect(err).toBeInstanceOf(KafkaError)
    const e = err as KafkaError
    expect(e.message).toContain('response size 2147483647')
    expect(e.message).not.toContain('UNKNOWN_TOPIC_OR_PARTITION')
    expect(e.code).not.toBe('UNKNOWN_TOPIC_OR_PARTITION')
    expect(elapsed).toBeLessThan(2000 + 3000)
  })
})
