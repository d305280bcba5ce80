#!/usr/bin/env node
// The cost of TLS and SASL: P1 (N x 100 random bytes, null key, acks=1, 1 partition) and C1
// (read N pre-produced messages, assigned partition, no group) with nkafka on one `secure`
// broker, over its PLAINTEXT, SSL and SASL_SSL (SCRAM-SHA-512) listeners. Each run is its
// own process; transports are interleaved per repetition. Prints msgs/s and CPU ns/msg of
// the client process (medians), and each secure transport's ratio to plaintext.
//
//   npm run bench -- --security [--n 1000000] [--reps 3]
//   node bench/security.mjs --n 1000000 --reps 3     (KAFKA_SECURE_JSON: a running broker's
//                                                    `kafka.mjs start secure --json` output)

import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { flag } from './lib/common.mjs'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const N = Number(flag('--n', 1_000_000))
const REPS = Number(flag('--reps', 3))
const TRANSPORTS = ['PLAINTEXT', 'SSL', 'SASL_SSL']

function clientConfig(secure, transport) {
  const config = { bootstrapServers: secure.listeners[transport] }
  if (transport !== 'PLAINTEXT') config.ssl = { ca: secure.caPem }
  if (transport.startsWith('SASL')) {
    const { username, password } = secure.credentials
    config.sasl = { mechanism: 'scram-sha-512', username, password }
  }
  return config
}

async function child(workload, transport, secureFile, topic) {
  const { Consumer, Producer } = createRequire(import.meta.url)(path.join(REPO, 'dist', 'index.js'))
  const secure = JSON.parse(readFileSync(secureFile, 'utf8'))
  const config = clientConfig(secure, transport)
  const values = Array.from({ length: 1024 }, () => randomBytes(100))
  let cpu0
  let t0
  let count = 0
  if (workload === 'P1') {
    let failed = 0
    const p = new Producer({ ...config, acks: 1 }, (r) => {
      if (r.error) failed++
      else count++
    })
    await p.connect([topic])
    cpu0 = process.cpuUsage()
    t0 = performance.now()
    for (let i = 0; i < N; i++) {
      try {
        p.produce(topic, null, values[i & 1023])
      } catch (e) {
        if (e.code !== 'BUFFER_FULL') throw e
        await p.waitForSpace()
        i--
      }
    }
    await p.flush(300_000)
    if (failed) throw new Error(`${failed} records failed`)
    await p.close()
  } else {
    const c = new Consumer({ ...config, autoOffsetReset: 'earliest' })
    c.assign([{ topic, partition: 0 }])
    cpu0 = process.cpuUsage()
    t0 = performance.now()
    for await (const batch of c.batches()) {
      count += batch.messages.length
      if (count >= N) break
    }
    await c.close()
  }
  const secs = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const out = {
    count,
    msgsPerSec: Math.round(N / secs),
    cpuNsPerMsg: Math.round(((cpu.user + cpu.system) * 1000) / N),
  }
  process.stdout.write(`${JSON.stringify(out)}\n`)
}

function runChild(...childArgs) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', ...childArgs, '--n', String(N)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 600_000,
  })
  if (r.status !== 0) throw new Error(`${childArgs.slice(0, 2).join(' ')}: exit ${r.status ?? r.signal}`)
  return JSON.parse(r.stdout.trim().split('\n').at(-1))
}

if (args[0] === '--child') {
  await child(args[1], args[2], args[3], args[4])
} else {
  const { startKafka } = await import(path.join(REPO, 'scripts', 'kafka.mjs'))
  let secureFile = process.env.KAFKA_SECURE_JSON
  let started = null
  if (!secureFile) {
    started = await startKafka({ mode: 'secure', quiet: true })
    secureFile = path.join(REPO, '.cache', 'kafka-secure-bench.json')
    ;(await import('node:fs')).writeFileSync(secureFile, JSON.stringify(started))
  }
  const secure = JSON.parse(readFileSync(secureFile, 'utf8'))
  const { Admin, throwIfFailed } = createRequire(import.meta.url)(path.join(REPO, 'dist', 'index.js'))
  try {
    console.log(`nkafka over TLS and SASL: P1 and C1, N = ${N.toLocaleString('en-US')}, ${REPS} repetition(s)`)
    const results = new Map()
    for (let rep = 0; rep < REPS; rep++) {
      for (const transport of TRANSPORTS) {
        // A fresh topic per run: P1 writes it, C1 reads exactly those N records.
        const topic = `bench-sec-${transport.toLowerCase()}-${Date.now()}`
        const admin = new Admin({ bootstrapServers: secure.listeners.PLAINTEXT })
        throwIfFailed(await admin.createTopics([{ topic, numPartitions: 1 }]))
        await admin.close()
        for (const workload of ['P1', 'C1']) {
          const res = runChild(workload, transport, secureFile, topic)
          const key = `${workload} ${transport}`
          if (!results.has(key)) results.set(key, [])
          results.get(key).push(res)
          console.log(`  ${key} rep ${rep + 1}: ${res.msgsPerSec.toLocaleString('en-US')} msg/s, ${res.cpuNsPerMsg} ns CPU/msg`)
        }
      }
    }
    const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
    console.log('\nworkload  transport    msg/s (median)   CPU ns/msg   vs PLAINTEXT (CPU)')
    for (const workload of ['P1', 'C1']) {
      const base = med(results.get(`${workload} PLAINTEXT`).map((r) => r.cpuNsPerMsg))
      for (const transport of TRANSPORTS) {
        const rs = results.get(`${workload} ${transport}`)
        const rate = med(rs.map((r) => r.msgsPerSec))
        const cpu = med(rs.map((r) => r.cpuNsPerMsg))
        console.log(
          `${workload.padEnd(9)} ${transport.padEnd(12)} ${rate.toLocaleString('en-US').padStart(14)}   ${String(cpu).padStart(10)}   ${(cpu / base).toFixed(2)}x (+${cpu - base} ns)`,
        )
      }
    }
  } finally {
    if (started) await started.stop()
  }
}
