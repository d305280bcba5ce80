#!/usr/bin/env node
// nkafka alone, in modes the side-by-side harness (run.mjs) does not compare, each run in
// its own process, runs interleaved:
//   produce, send    the seed's workload (N x 100 bytes, acks=1, one partition) with the
//                    fast path and with the Promise path (many concurrent sends sharing
//                    batches): what issue #3 asks to report.
//   produce-silent   produce() without an onDelivery callback (no records handed to JS)
//   p2, p2-plain     P2 (16-byte random keys, acks=all, lz4, 6 partitions) with idempotence
//                    on and off: the cost of idempotence (issue #6: < 10%).
//   produce-observed, send-observed
//                    produce/send with a no-op subscriber on every nkafka diagnostics
//                    channel: what observing costs (without one, a property read).
//   produce-otel, send-otel
//                    produce/send with nkafka/otel enabled on a recording SDK tracer and
//                    meter (no exporter): the cost of spans, header injection and metrics.
// Prints msgs/s, CPU per message, peak RSS and the largest JS heap seen (sampled every
// 50 ms: it must stay flat however many messages are in flight, since record bytes live
// in Rust, bounded by bufferMemory). Medians over --reps.
//
//   node bench/modes.mjs                       starts a broker, modes produce,send
//   node bench/modes.mjs --modes p2,p2-plain --n 2000000 --reps 3 [--brokers 127.0.0.1:9092]

import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { flag } from './lib/common.mjs'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const N = Number(flag('--n', 5_000_000))
const REPS = Number(flag('--reps', 1))
const BUFFER_MEMORY = flag('--buffer-memory') ? Number(flag('--buffer-memory')) : undefined
const SEND_BATCH = 1000 // messages per send()
const SEND_CONCURRENCY = 32 // send()s awaited together

const CHANNELS = [
  'tracing:nkafka:producer:send:start',
  'tracing:nkafka:producer:send:asyncEnd',
  'nkafka:producer:produce',
  'tracing:nkafka:consumer:process:start',
  'nkafka:consumer:rebalance',
]

async function observe(how) {
  if (how === 'observed') {
    const dc = await import('node:diagnostics_channel')
    for (const name of CHANNELS) dc.subscribe(name, () => {})
  } else if (how === 'otel') {
    const require = createRequire(import.meta.url)
    const { BasicTracerProvider } = require('@opentelemetry/sdk-trace-base')
    const { MeterProvider } = require('@opentelemetry/sdk-metrics')
    const { NkafkaInstrumentation } = require(path.join(REPO, 'dist', 'otel', 'index.js'))
    new NkafkaInstrumentation({ tracerProvider: new BasicTracerProvider(), meterProvider: new MeterProvider() }).enable()
  }
}

async function child(mode, brokers) {
  const { Admin, Producer, throwIfFailed } = createRequire(import.meta.url)(path.join(REPO, 'dist', 'index.js'))
  const [base, how] = /^(produce|send)-(observed|otel)$/.test(mode) ? mode.split('-') : [mode, null]
  await observe(how)
  mode = base
  const p2 = mode.startsWith('p2')
  const topic = `modes-${mode}-${Date.now()}`
  const admin = new Admin({ bootstrapServers: brokers })
  throwIfFailed(await admin.createTopics([{ topic, numPartitions: p2 ? 6 : 1 }]))
  let heapMax = 0
  const sampler = setInterval(() => {
    heapMax = Math.max(heapMax, process.memoryUsage().heapUsed)
  }, 50)
  const values = Array.from({ length: 1024 }, () => randomBytes(100))
  const keys = Array.from({ length: 4096 }, () => randomBytes(16))
  let delivered = 0
  let failed = 0
  const config = p2
    ? { bootstrapServers: brokers, acks: 'all', compressionType: 'lz4', enableIdempotence: mode === 'p2' }
    : { bootstrapServers: brokers, acks: 1 }
  if (BUFFER_MEMORY) config.bufferMemory = BUFFER_MEMORY
  // produce-silent: no onDelivery callback, so no records are handed to JS for reports
  // (flush() still waits for every one; the topic's offsets count them).
  const onDelivery =
    mode === 'produce-silent'
      ? undefined
      : (r) => {
          if (r.error) failed++
          else delivered++
        }
  const p = new Producer(config, onDelivery)
  await p.connect([topic])
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  if (mode !== 'send') {
    for (let i = 0; i < N; i++) {
      try {
        p.produce(topic, p2 ? keys[i & 4095] : null, values[i & 1023])
      } catch (e) {
        if (e.code !== 'BUFFER_FULL') throw e
        await p.waitForSpace()
        i--
      }
    }
    await p.flush(300_000)
  } else {
    let next = 0
    const worker = async () => {
      while (next < N) {
        const start = next
        next = Math.min(N, next + SEND_BATCH)
        const messages = []
        for (let i = start; i < next; i++) messages.push({ value: values[i & 1023] })
        const meta = await p.send({ topic, messages })
        delivered += meta.length
      }
    }
    await Promise.all(Array.from({ length: SEND_CONCURRENCY }, worker))
  }
  const secs = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  clearInterval(sampler)
  heapMax = Math.max(heapMax, process.memoryUsage().heapUsed)
  await p.close()
  const [described] = throwIfFailed(await admin.describeTopics([topic]))
  const offsets = throwIfFailed(
    await admin.listOffsets(described.partitions.map((x) => ({ topic, partition: x.partition, spec: 'latest' }))),
  )
  await admin.close()
  const out = {
    mode,
    n: N,
    delivered,
    failed,
    inTopic: offsets.reduce((sum, o) => sum + Number(o.offset), 0),
    msgsPerSec: Math.round(N / secs),
    cpuNsPerMsg: Math.round(((cpu.user + cpu.system) * 1000) / N),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    heapMaxMB: Math.round(heapMax / 2 ** 20),
  }
  process.stdout.write(`${JSON.stringify(out)}\n`)
}

if (args[0] === '--child') {
  await child(args[1], args[2])
} else {
  let brokers = flag('--brokers', process.env.KAFKA_BROKERS)
  let started = null
  if (!brokers) {
    const { startKafka } = await import(path.join(REPO, 'scripts', 'kafka.mjs'))
    started = await startKafka({ mode: 'single', quiet: true })
    brokers = started.bootstrap
  }
  try {
    const modes = flag('--modes', 'produce,send').split(',')
    const known = ['produce', 'produce-silent', 'send', 'p2', 'p2-plain', 'produce-observed', 'send-observed', 'produce-otel', 'send-otel']
    for (const m of modes) if (!known.includes(m)) throw new Error(`unknown mode ${m}; modes: ${known.join(', ')}`)
    console.log(`nkafka modes: N = ${N.toLocaleString('en-US')}, ${REPS} repetition(s), ${brokers}`)
    const results = new Map(modes.map((m) => [m, []]))
    for (let rep = 0; rep < REPS; rep++) {
      for (const mode of modes) {
        const childArgs = ['--child', mode, brokers, '--n', String(N)]
        if (BUFFER_MEMORY) childArgs.push('--buffer-memory', String(BUFFER_MEMORY))
        const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...childArgs], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
          timeout: 600_000,
        })
        if (r.status !== 0) throw new Error(`${mode}: exit ${r.status ?? r.signal}`)
        const res = JSON.parse(r.stdout.trim().split('\n').at(-1))
        results.get(mode).push(res)
        console.log(
          `  ${mode} rep ${rep + 1}: ${res.msgsPerSec.toLocaleString('en-US')} msg/s (${res.delivered} delivered, ${res.failed} failed, ${res.inTopic} in topic)`,
        )
      }
    }
    const med = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1]
    for (const [mode, rs] of results) {
      const api = {
        produce: 'produce()',
        'produce-silent': 'produce(), no onDelivery',
        send: `send() x${SEND_BATCH} msgs, ${SEND_CONCURRENCY} concurrent`,
        p2: 'P2 idempotent',
        'p2-plain': 'P2 not idempotent',
        'produce-observed': 'produce(), channels observed',
        'send-observed': 'send(), channels observed',
        'produce-otel': 'produce(), nkafka/otel',
        'send-otel': 'send(), nkafka/otel',
      }[mode]
      const m = (k) => med(rs.map((r) => r[k]))
      console.log(
        `${api.padEnd(34)} ${m('msgsPerSec').toLocaleString('en-US').padStart(10)} msg/s  CPU ${m('cpuNsPerMsg')} ns/msg  peak RSS ${m('peakRssMB')} MB  JS heap max ${m('heapMaxMB')} MB  (median of ${rs.length})`,
      )
    }
  } finally {
    if (started) await started.stop()
  }
}
