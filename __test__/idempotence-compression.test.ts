import { afterAll, describe, expect, it } from 'vitest'
import { Consumer, type DeliveryReport, KafkaError, Producer } from '../ts/index'
import { brokers, createTopic, kafkaScript, uniqueTopic } from './helpers'

describe('idempotent producer', () => {
  it('is on by default (acks all) and off when acks conflicts; explicit conflicts are config errors', async () => {
    const topic = uniqueTopic('idem')
    await createTopic(topic, 1)
    const def = new Producer({ bootstrapServers: brokers() })
    await def.send({ topic, messages: [{ value: 'x' }] })
    expect(def.stats().producerId).toBeGreaterThanOrEqual(0)
    await def.close()
    const acks1 = new Producer({ bootstrapServers: brokers(), acks: 1 })
    await acks1.send({ topic, messages: [{ value: 'y' }] })
    expect(acks1.stats().producerId).toBe(-1)
    await acks1.close()
    const cases: Array<[object, RegExp]> = [
      [{ enableIdempotence: true, acks: 1 }, /`acks`.*enableIdempotence/],
      [{ enableIdempotence: true, retries: 0 }, /`retries`/],
      [{ enableIdempotence: true, maxInFlightRequestsPerConnection: 6 }, /`maxInFlightRequestsPerConnection`/],
    ]
    for (const [extra, msg] of cases) {
      expect(() => new Producer({ bootstrapServers: brokers(), ...extra })).toThrow(
        expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringMatching(msg) }),
      )
    }
  })

  describe('broker SIGKILLed and restarted during 500k keyed messages over 6 partitions', () => {
    let handle: any
    afterAll(async () => {
      if (handle && !handle.reused) await handle.stop()
    })

    it('0 lost acknowledged, 0 duplicates, order kept per partition, every report settled', async () => {
      const kafka = await kafkaScript()
      handle = await kafka.startKafka({ mode: 'single', autoCreateTopics: false, quiet: true })
      const bootstrap: string = handle.bootstrap
      const topic = uniqueTopic('idem-crash')
      await createTopic(topic, 6, {}, bootstrap)
      const n = 500_000
      let ok = 0
      const failed: DeliveryReport[] = []
      const acked = new Uint8Array(n)
      const p = new Producer(
        { bootstrapServers: bootstrap, requestTimeoutMs: 5000, deliveryTimeoutMs: 120_000, retryBackoffMs: 100, lingerMs: 5 },
        (r) => {
          if (r.error) failed.push(r)
          else {
            ok++
            acked[Number(r.value!.toString())] = 1
          }
        },
      )
      const produceRange = async (from: number, to: number) => {
        for (let i = from; i < to; i++) {
          for (;;) {
            try {
              p.produce(topic, `key-${i % 1000}`, String(i))
              break
            } catch (e) {
              if ((e as KafkaError).code !== 'BUFFER_FULL') throw e
              await p.waitForSpace(1000)
            }
          }
        }
      }
      await produceRange(0, 150_000)
      const state = kafka.kafkaState('single')
      await kafka.killBroker(state, 1)
      await produceRange(150_000, 250_000)
      await new Promise((r) => setTimeout(r, 1000))
      await kafka.restartBroker(state, 1)
      await produceRange(250_000, n)
      await p.flush(180_000)
      const stats = p.stats()
      await p.close()
      // Every report settled: success or a typed error, nothing silent.
      expect(ok + failed.length).toBe(n)
      for (const r of failed) expect(r.error).toBeInstanceOf(KafkaError)

      // Independent reader: Kafka's Java console consumer.
      const got = await kafka.consoleConsume({ bootstrap, topic, maxMessages: n + 10, timeoutMs: 20_000 })
      const count = new Uint32Array(n)
      const lastByKey = new Map<string, number>()
      let outOfOrder = 0
      for (const m of got.sort((a: any, b: any) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)))) {
        const i = Number(m.value.toString())
        count[i]!++
        const k = m.key.toString()
        if ((lastByKey.get(k) ?? -1) > i) outOfOrder++
        lastByKey.set(k, i)
      }
      let lost = 0
      let dups = 0
      for (let i = 0; i < n; i++) {
        if (acked[i] && count[i] === 0) lost++
        if (count[i]! > 1) dups++
      }
      const codes = new Map<string, number>()
      for (const r of failed) codes.set(`${r.error?.code}/${r.persisted}`, (codes.get(`${r.error?.code}/${r.persisted}`) ?? 0) + 1)
      console.log(
        `idempotent crash: ${ok} acked, ${failed.length} failed (${[...codes].map(([k, v]) => `${k}: ${v}`).join(', ')}), ${got.length} in log, lost ${lost}, duplicates ${dups}, out of order ${outOfOrder}, retries ${stats.retries}, epoch ${stats.producerEpoch}`,
      )
      if (failed[0]) console.log(`first failure: ${failed[0].error?.message}`)
      expect(lost).toBe(0)
      expect(dups).toBe(0)
      expect(outOfOrder).toBe(0)
    }, 600_000)
  })
})

describe('compression: each codec both ways with the Java client', () => {
  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
    it(`${codec}: nkafka writes, Java reads; Java writes, nkafka reads`, async () => {
      const kafka = await kafkaScript()
      const topic = uniqueTopic(`z-${codec}`)
      await createTopic(topic, 1)
      const p = new Producer({ bootstrapServers: brokers(), compressionType: codec, lingerMs: 20 })
      const values = Array.from({ length: 500 }, (_, i) => `${codec}-${i}-${'x'.repeat(i % 50)}`)
      await p.send({ topic, messages: values.map((v, i) => ({ key: `k${i}`, value: v, headers: [['i', String(i)]] })) })
      await p.close()
      const javaRead = await kafka.consoleConsume({ bootstrap: brokers(), topic, maxMessages: 500, timeoutMs: 30_000 })
      expect(javaRead.map((m: any) => m.value.toString())).toEqual(values)
      expect(javaRead[3].headers).toEqual([{ key: 'i', value: Buffer.from('3') }])

      // The other way: the Java producer compresses, nkafka decompresses.
      const topic2 = uniqueTopic(`zj-${codec}`)
      await createTopic(topic2, 1)
      const records = values.map((v, i) => ({ key: `j${i}`, value: v, headers: [['h', `${i}`]] }))
      await kafka.consoleProduce({
        bootstrap: brokers(),
        topic: topic2,
        records,
        properties: { 'compression.type': codec, 'linger.ms': '50' },
      })
      const c = new Consumer(
        { bootstrapServers: brokers(), autoOffsetReset: 'earliest' },
        { valueDeserializer: 'string', keyDeserializer: 'string' },
      )
      c.assign([{ topic: topic2, partition: 0 }])
      const got: string[] = []
      for await (const m of c) {
        expect(m.key).toBe(`j${got.length}`)
        expect(m.headers).toEqual([['h', Buffer.from(String(got.length))]])
        got.push(m.value as string)
        if (got.length === values.length) break
      }
      await c.close()
      expect(got).toEqual(values)
    })
  }

  it('bad codec settings are config errors', () => {
    expect(() => new Producer({ bootstrapServers: brokers(), compressionType: 'brotli' as any })).toThrow(/compressionType/)
    expect(() => new Producer({ bootstrapServers: brokers(), compressionType: 'gzip', compressionLevel: 42 })).toThrow(/compressionLevel/)
  })
})
