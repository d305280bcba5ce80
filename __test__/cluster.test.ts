import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { Admin, KafkaError, Producer } from '../ts/index'
import { brokers } from './helpers'

describe('first round trip: TS -> napi -> Rust -> TCP -> Kafka', () => {
  it('describes the cluster', async () => {
    const admin = new Admin({ bootstrapServers: brokers() })
    const c = await admin.describeCluster()
    await admin.close()
    expect(c.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(c.brokers.length).toBeGreaterThanOrEqual(1)
    const [host, port] = brokers().split(',')[0]!.split(':')
    expect(c.brokers.some((b) => b.host === host && b.port === Number(port))).toBe(true)
    // KRaft brokers report a live broker as "controller" (clients never talk to the quorum).
    expect(c.brokers.map((b) => b.nodeId)).toContain(c.controllerId)
  })

  it('Producer.connect() reports the cluster', async () => {
    const p = new Producer({ bootstrapServers: brokers() })
    const info = await p.connect()
    expect(info.brokers.length).toBeGreaterThanOrEqual(1)
    expect(info.clusterId).toBeTruthy()
    await p.close()
  })
})

describe('bad bootstrap input gives a typed KafkaError, never a hang', () => {
  it('malformed bootstrapServers names the key', () => {
    for (const bad of ['localhost', 'localhost:abc', ':9092', 'a:1:2', '']) {
      let err: unknown
      try {
        new Admin({ bootstrapServers: bad })
      } catch (e) {
        err = e
      }
      expect(err, bad).toBeInstanceOf(KafkaError)
      expect((err as KafkaError).code).toBe('INVALID_CONFIG')
      expect((err as KafkaError).message).toContain('bootstrapServers')
    }
  })

  it('an unreachable server fails within requestTimeoutMs', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = createServer()
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port
        s.close(() => resolve(p))
      })
    })
    const admin = new Admin({ bootstrapServers: `127.0.0.1:${port}`, requestTimeoutMs: 1500 })
    const t0 = Date.now()
    const err = await admin.describeCluster().catch((e) => e)
    const took = Date.now() - t0
    expect(err).toBeInstanceOf(KafkaError)
    expect(err.code).toBe('NETWORK_EXCEPTION')
    expect(err.retriable).toBe(true)
    expect(err.message).toContain(`127.0.0.1:${port}`)
    expect(took).toBeLessThan(1500 + 2000)
    await admin.close()
  })

  it('a server that is not Kafka gives PROTOCOL_ERROR or a timeout, not a hang', async () => {
    // Speaks HTTP back at whatever it receives.
    const server = createServer((sock) => {
      sock.on('data', () => sock.write('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'))
      sock.on('error', () => {})
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const port = (server.address() as { port: number }).port
    const admin = new Admin({ bootstrapServers: `127.0.0.1:${port}`, requestTimeoutMs: 1500 })
    const err = await admin.describeCluster().catch((e) => e)
    expect(err).toBeInstanceOf(KafkaError)
    expect(err.message).toMatch(/not speaking the Kafka protocol|Kafka broker/)
    await admin.close()
    // A silent server: connects, never answers.
    const silent = createServer((sock) => sock.on('error', () => {}))
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()))
    const sport = (silent.address() as { port: number }).port
    const admin2 = new Admin({ bootstrapServers: `127.0.0.1:${sport}`, requestTimeoutMs: 1000 })
    const t0 = Date.now()
    const err2 = await admin2.describeCluster().catch((e) => e)
    expect(err2).toBeInstanceOf(KafkaError)
    expect(Date.now() - t0).toBeLessThan(4000)
    await admin2.close()
    server.close()
    silent.close()
  })
})
