import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Consumer, type DeliveryReport, KafkaError, Producer } from '../ts/index'
import { brokers, createTopic, kafkaScript, uniqueTopic } from './helpers'

/**
 * Tests that need their hands on the broker process or its disk: SIGKILL and restart in
 * the middle of a produce or consume stream, and a batch corrupted in the broker's log
 * file. Uses the local broker of scripts/kafka.mjs (npm test starts it); with
 * KAFKA_BROKERS pointing at another broker, this file starts its own local one.
 */
let handle: any
afterAll(async () => {
  if (handle && !handle.reused) await handle.stop()
})

describe('broker killed and restarted mid-stream', () => {
  it('every message gets one report; every acknowledged one is in the log', async () => {
    const kafka = await kafkaScript()
    handle = await kafka.startKafka({ mode: 'single', autoCreateTopics: false, quiet: true })
    const bootstrap: string = handle.bootstrap
    if (bootstrap !== brokers()) console.log(`broker-restart: using its own local broker ${bootstrap}`)
    const topic = uniqueTopic('restart')
    await createTopic(topic, 3, {}, bootstrap)

    const reports = new Map<number, DeliveryReport>()
    let duplicateReports = 0
    const p = new Producer(
      { bootstrapServers: bootstrap, acks: 'all', requestTimeoutMs: 5000, deliveryTimeoutMs: 60_000, retryBackoffMs: 100, lingerMs: 5 },
      (r) => {
        const seq = Number(r.value!.toString())
        if (reports.has(seq)) duplicateReports++
        reports.set(seq, r)
      },
    )
    const n = 20_000
    const produceRange = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        for (;;) {
          try {
            p.produce(topic, `k${i % 64}`, String(i))
            break
          } catch (e) {
            if ((e as KafkaError).code !== 'BUFFER_FULL') throw e
            await p.waitForSpace(1000)
          }
        }
        if (i % 500 === 0) await new Promise((r) => setTimeout(r, 5))
      }
    }
    await produceRange(0, 6000)
    const state = kafka.kafkaState('single')
    await kafka.killBroker(state, 1)
    // Records produced while the broker is down wait and are retried.
    await produceRange(6000, 12_000)
    await new Promise((r) => setTimeout(r, 1000))
    await kafka.restartBroker(state, 1)
    await produceRange(12_000, n)
    await p.flush(90_000)
    await p.close()

    expect(duplicateReports).toBe(0)
    expect(reports.size).toBe(n)
    const ok = [...reports.entries()].filter(([, r]) => r.error === null)
    const failed = [...reports.values()].filter((r) => r.error !== null)
    // Failures must be typed and say why (no silent loss); most records survive.
    for (const r of failed) expect(r.error).toBeInstanceOf(KafkaError)
    expect(ok.length).toBeGreaterThan(n / 2)

    // The Java consumer reads the log: every acknowledged record is there.
    const got = await kafka.consoleConsume({ bootstrap, topic, maxMessages: n * 2, timeoutMs: 15_000 })
    const inLog = new Set<number>(got.map((m: any) => Number(m.value.toString())))
    const missing = ok.filter(([seq]) => !inLog.has(seq)).map(([seq]) => seq)
    expect(missing).toEqual([])
    // Acknowledged offsets match the log.
    const byOffset = new Map<string, number>(got.map((m: any) => [`${m.partition}:${m.offset}`, Number(m.value.toString())]))
    for (const [seq, r] of ok.slice(0, 2000)) expect(byOffset.get(`${r.partition}:${r.offset}`)).toBe(seq)
    console.log(
      `broker-restart: ${ok.length} delivered, ${failed.length} failed (${[...new Set(failed.map((r) => r.error?.code))].join(', ') || 'none'}), ${got.length - inLog.size} duplicates in the log`,
    )
  })

  it('a consumer reads through a broker restart: every message once, in order per partition', async () => {
    const kafka = await kafkaScript()
    handle ??= await kafka.startKafka({ mode: 'single', autoCreateTopics: false, quiet: true })
    const bootstrap: string = handle.bootstrap
    const topic = uniqueTopic('restart-consume')
    await createTopic(topic, 3, {}, bootstrap)
    const n = 30_000
    const p = new Producer({ bootstrapServers: bootstrap })
    for (let i = 0; i < n; i += 1000) {
      await p.send({ topic, messages: Array.from({ length: 1000 }, (_, j) => ({ key: `k${(i + j) % 30}`, value: String(i + j) })) })
    }
    await p.close()

    const c = new Consumer(
      {
        bootstrapServers: bootstrap,
        autoOffsetReset: 'earliest',
        maxPollRecords: 200,
        maxPartitionFetchBytes: 16_384,
        requestTimeoutMs: 5000,
      },
      { valueDeserializer: 'string' },
    )
    c.assign([0, 1, 2].map((partition) => ({ topic, partition })))
    const seen = new Map<number, number>()
    const lastByPartition = new Map<number, bigint>()
    let outOfOrder = 0
    let restarted = false
    const state = kafka.kafkaState('single')
    const deadline = Date.now() + 150_000
    for await (const batch of c.batches()) {
      for (const m of batch.messages) {
        const v = Number(m.value)
        seen.set(v, (seen.get(v) ?? 0) + 1)
        const prev = lastByPartition.get(m.partition) ?? -1n
        if (m.offset !== prev + 1n) outOfOrder++
        lastByPartition.set(m.partition, m.offset)
      }
      if (!restarted && seen.size >= 5000) {
        restarted = true
        await kafka.killBroker(state, 1)
        await new Promise((r) => setTimeout(r, 1000))
        await kafka.restartBroker(state, 1)
      }
      if (seen.size >= n || Date.now() > deadline) break
    }
    await c.close()
    expect(restarted).toBe(true)
    expect(seen.size).toBe(n)
    expect([...seen.values()].every((k) => k === 1)).toBe(true)
    expect(outOfOrder).toBe(0)
  })
})

describe("a batch corrupted on the broker's disk", () => {
  it('the consumer hands out the good batches, then a typed CORRUPT_MESSAGE at the bad one; checkCrcs: false reads through', async () => {
    const kafka = await kafkaScript()
    handle ??= await kafka.startKafka({ mode: 'single', autoCreateTopics: false, quiet: true })
    const bootstrap: string = handle.bootstrap
    const topic = uniqueTopic('corrupt')
    await createTopic(topic, 1, {}, bootstrap)
    const p = new Producer({ bootstrapServers: bootstrap, lingerMs: 0 })
    // Three awaited sends: offsets 0-9, 10-19, 20-29, in one or more batches each.
    for (let b = 0; b < 3; b++) {
      await p.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${b * 10 + i}` })) })
    }
    await p.close()

    // Damage the batch that holds offset 15 (how the 30 records split into batches depends
    // on timing): flip the last byte of its last record's value ("m<last>"; the byte after
    // it is the record's header count). The broker serves fetches from this file as it is
    // (it checks CRCs on produce only).
    const log = path.join(handle.brokers[0].dataDir, `${topic}-0`, '00000000000000000000.log')
    const bytes = fs.readFileSync(log)
    let at = 0
    let base = -1
    let lastOffset = -1
    while (at < bytes.length) {
      const b = Number(bytes.readBigInt64BE(at))
      const end = at + 12 + bytes.readInt32BE(at + 8)
      const l = b + bytes.readInt32BE(at + 23) // baseOffset + lastOffsetDelta
      if (b <= 15 && 15 <= l) {
        base = b
        lastOffset = l
        break
      }
      at = end
    }
    expect(base).toBeGreaterThanOrEqual(0)
    const last = at + 12 + bytes.readInt32BE(at + 8) - 2
    expect(String.fromCharCode(bytes[last]!)).toBe(String(lastOffset).at(-1))
    const fd = fs.openSync(log, 'r+')
    fs.writeSync(fd, Buffer.from([bytes[last]! ^ 0xff]), 0, 1, last)
    fs.closeSync(fd)

    const read = async (checkCrcs: boolean) => {
      const c = new Consumer({ bootstrapServers: bootstrap, checkCrcs }, { valueDeserializer: 'string' })
      c.assign([{ topic, partition: 0, offset: 0 }])
      const got: string[] = []
      let error: unknown = null
      const deadline = Date.now() + 30_000
      try {
        for await (const batch of c.batches()) {
          for (const m of batch.messages) got.push(m.value as string)
          if (got.length >= 30 || Date.now() > deadline) break
        }
      } catch (e) {
        error = e
      }
      await c.close()
      return { got, error }
    }

    const checked = await read(true)
    expect(checked.got).toEqual(Array.from({ length: base }, (_, i) => `m${i}`))
    expect(checked.error).toBeInstanceOf(KafkaError)
    expect((checked.error as KafkaError).code).toBe('CORRUPT_MESSAGE')
    expect((checked.error as KafkaError).retriable).toBe(false)
    expect((checked.error as KafkaError).message).toMatch(new RegExp(`${topic}-0 at offset ${base}\\b`))

    const unchecked = await read(false)
    expect(unchecked.error).toBeNull()
    expect(unchecked.got).toHaveLength(30)
    expect(unchecked.got[lastOffset]).not.toBe(`m${lastOffset}`) // the damaged value, delivered as stored
    expect(unchecked.got.filter((v, i) => v === `m${i}`)).toHaveLength(29)
  })
})
