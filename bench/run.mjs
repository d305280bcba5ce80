#!/usr/bin/env node
// nkafka against the field: every client on the same broker in one run, each in its own
// process, interleaved repetitions (A B C A B C ...), medians. See bench/README.md.
//
//   npm run bench                         full run (long: needs a quiet machine)
//   npm run bench -- --quick              small N, one repetition: a smoke check of the harness
//   npm run bench -- --clients nkafka,kafkajs --workloads P1,P3 --reps 3 --n 100000
//   npm run bench -- --brokers 127.0.0.1:9092   use a running broker instead of starting one

import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { GNU_TIME, haveGnuTime, killRunning, machineInfo, mkdirp, runMeasured } from './lib/proc.mjs'
import { medianSummary, writeReport } from './lib/report.mjs'
import { WORKLOAD_IDS, WORKLOADS, workloadParams } from './lib/workloads.mjs'

const BENCH = path.dirname(fileURLToPath(import.meta.url))
const REPO = path.resolve(BENCH, '..')
const RESULTS = path.join(BENCH, 'results')
const require = createRequire(import.meta.url)

/** Every client, in run order. nkafka first; references last. */
export const CLIENT_IDS = [
  'nkafka',
  'kafkajs-compat',
  'kafkajs',
  'platformatic',
  'platformatic-v2',
  'confluent',
  'node-rdkafka',
  'java-perf',
  'kcat',
  'java-ceiling',
]

const USAGE = `usage: node bench/run.mjs [options]   (npm run bench -- [options])
  --quick              small N and 1 repetition (seconds to a few minutes): smoke-check the harness
  --clients a,b        only these clients (${CLIENT_IDS.join(', ')})
  --workloads P1,P3    only these workloads (${WORKLOAD_IDS.join(', ')})
  --reps N             repetitions, interleaved across clients (default 3; 1 with --quick)
  --n N                messages per run for every N-sized workload (overrides the defaults)
  --duration-ms MS     E2E duration (default 30000; 4000 with --quick)
  --brokers host:port  use this broker instead of starting one (it is never stopped)
  --tag NAME           results file prefix instead of the date (default <date> or <date>-quick)
  --no-setup           do not run setup.mjs even if bench/node_modules is missing
  --security           nkafka's P1 and C1 over PLAINTEXT, SSL and SASL_SSL on one secure broker
                       (bench/security.mjs; takes --n and --reps)
  --list               print the clients, the workloads and what each client uses, then exit`

function parseArgs(argv) {
  const o = { quick: false, setup: true }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    const name = a.split('=')[0]
    if (name === '--quick') o.quick = true
    else if (name === '--clients') o.clients = val().split(',').filter(Boolean)
    else if (name === '--workloads') o.workloads = val().split(',').filter(Boolean)
    else if (name === '--reps') o.reps = Number(val())
    else if (name === '--n') o.n = Number(val())
    else if (name === '--duration-ms') o.durationMs = Number(val())
    else if (name === '--brokers') o.brokers = val()
    else if (name === '--tag') o.tag = val()
    else if (name === '--no-setup') o.setup = false
    else if (name === '--list') o.list = true
    else if (name === '--help' || name === '-h') o.help = true
    else throw new Error(`unknown option ${a}\n${USAGE}`)
  }
  for (const c of o.clients ?? []) if (!CLIENT_IDS.includes(c)) throw new Error(`unknown client ${c} (known: ${CLIENT_IDS.join(', ')})`)
  for (const w of o.workloads ?? [])
    if (!WORKLOAD_IDS.includes(w)) throw new Error(`unknown workload ${w} (known: ${WORKLOAD_IDS.join(', ')})`)
  if (o.reps !== undefined && !(Number.isInteger(o.reps) && o.reps >= 1 && o.reps <= 20)) throw new Error('--reps takes 1..20')
  if (o.n !== undefined && !(Number.isInteger(o.n) && o.n >= 1)) throw new Error('--n takes a positive integer')
  if (o.durationMs !== undefined && !(o.durationMs >= 1000 && o.durationMs <= 600_000)) throw new Error('--duration-ms takes 1000..600000')
  return o
}

class Interrupted extends Error {}

const log = (line) => process.stdout.write(`${line}\n`)
const fmt = (x) => (x == null ? '-' : Math.round(x).toLocaleString('en-US'))

async function loadClients() {
  const out = {}
  for (const id of CLIENT_IDS) {
    const mod = await import(pathToFileURL(path.join(BENCH, 'clients', `${id}.mjs`)).href)
    // A client whose support depends on its build (nkafka) says what this build has.
    out[id] = mod.detect ? { ...mod, meta: await mod.detect() } : mod
  }
  return out
}

// ---------------------------------------------------------------------------------------
// Environment: what is installed, versions

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : null
}

function pkgVersion(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version
  } catch {
    return null
  }
}

function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? ''
}

/** Versions and availability of every client: { id: { version, runtime, unavailable? } }. */
function environment(clients, { java }) {
  const nm = path.join(BENCH, 'node_modules')
  const env = {}
  const nodeLib = (id, dir, extra) => {
    const version = pkgVersion(dir)
    env[id] = version
      ? { version, runtime: `node ${process.version}`, ...extra }
      : { unavailable: `${path.relative(REPO, dir)} is not installed (run node bench/setup.mjs)` }
  }
  const nkVersion = pkgVersion(REPO)
  const commit = spawnSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim()
  const dirty = spawnSync('git', ['-C', REPO, 'status', '--porcelain', '--', 'crates', 'ts'], { encoding: 'utf8' }).stdout.trim() !== ''
  const built =
    fs.existsSync(path.join(REPO, 'dist', 'index.js')) && fs.readdirSync(path.join(REPO, 'native')).some((f) => f.endsWith('.node'))
  env.nkafka = built
    ? { version: `${nkVersion} (${commit}${dirty ? ', uncommitted changes in crates/ or ts/' : ''})`, runtime: `node ${process.version}` }
    : { unavailable: 'nkafka is not built: run `npm install` (or `npm run build`) at the repo root' }
  env['kafkajs-compat'] = built ? { ...env.nkafka } : env.nkafka
  nodeLib('kafkajs', path.join(nm, 'kafkajs'))
  nodeLib('platformatic', path.join(nm, '@platformatic', 'kafka'))
  const libv = (pkg) => {
    const r = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(pkg)}).librdkafkaVersion)`], {
      cwd: BENCH,
      encoding: 'utf8',
    })
    return r.status === 0 ? r.stdout : null
  }
  nodeLib('confluent', path.join(nm, '@confluentinc', 'kafka-javascript'))
  if (env.confluent.version) {
    const v = libv('@confluentinc/kafka-javascript')
    if (v) env.confluent.librdkafka = v
    else env.confluent = { unavailable: 'its native module does not load (run node bench/setup.mjs)' }
  }
  nodeLib('node-rdkafka', path.join(nm, 'node-rdkafka'))
  if (env['node-rdkafka'].version) {
    const v = libv('node-rdkafka')
    if (v) env['node-rdkafka'].librdkafka = v
    else env['node-rdkafka'] = { unavailable: 'its native module does not load (run node bench/setup.mjs)' }
  }
  const v2 = clients['platformatic-v2']
  const v2version = pkgVersion(v2.PKG_DIR)
  if (v2version && fs.existsSync(v2.NODE_BIN)) {
    env['platformatic-v2'] = { version: v2version, runtime: `node ${firstLine(v2.NODE_BIN, ['-v'])} (bench/node22)`, nodeBin: v2.NODE_BIN }
  } else {
    env['platformatic-v2'] = { unavailable: 'bench/node22 is not installed (run node bench/setup.mjs)' }
  }
  const javaVersion = java ? firstLine(java, ['-version']) : null
  for (const id of ['java-perf', 'java-ceiling']) {
    env[id] = java ? { version: 'kafka-tools 4.3.1', runtime: javaVersion } : { unavailable: 'java not found' }
  }
  const kcat = which('kcat')
  env.kcat = kcat
    ? { version: /Version ([^ ]+)/.exec(spawnSync(kcat, ['-V'], { encoding: 'utf8' }).stdout)?.[1] ?? '?', runtime: 'native', bin: kcat }
    : { unavailable: 'kcat not installed (Debian package kcat; node bench/setup.mjs installs it)' }
  return env
}

// ---------------------------------------------------------------------------------------
// Topics and data, through nkafka's Admin and Producer (the library under test; consumers
// then check every record it wrote arrives)

/** Creates `topic`; createTopics returns once every partition has a leader. */
async function makeTopic(admin, topic, partitions) {
  const [r] = await admin.createTopics([{ topic, numPartitions: partitions, replicationFactor: 1 }])
  if (r.error) throw r.error
}

async function fill(nk, bootstrap, topic, n, valueSize) {
  const values = Array.from({ length: 4096 }, () => randomBytes(valueSize))
  let reports = 0
  let errors = 0
  let resolveAll
  const all = new Promise((r) => {
    resolveAll = r
  })
  const p = new nk.Producer({ bootstrapServers: bootstrap, acks: 1, clientId: 'bench-fill' }, (r) => {
    if (r.error) errors++
    if (++reports === n) resolveAll()
  })
  for (let i = 0; i < n; i++) {
    try {
      p.produce(topic, null, values[i & 4095])
    } catch (e) {
      if (e?.code !== 'BUFFER_FULL') throw e
      await p.waitForSpace()
      i--
    }
  }
  let timer
  await Promise.race([all, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('fill timed out')), 600_000)))])
  clearTimeout(timer)
  await p.close()
  if (errors) throw new Error(`filling ${topic}: ${errors} delivery errors`)
}

async function countRecords(admin, topic) {
  const [t] = await admin.describeTopics([topic])
  if (t.error) throw t.error
  const latest = await admin.listOffsets(t.partitions.map((p) => ({ topic, partition: p.partition, spec: 'latest' })))
  return latest.reduce((s, o) => {
    if (o.error) throw o.error
    return s + Number(o.offset)
  }, 0)
}

// ---------------------------------------------------------------------------------------

function timeoutFor(p) {
  if (p.kind === 'e2e') return p.durationMs + 120_000
  if (p.kind === 'send-await') return 120_000 + p.n * 25 // 25 ms per awaited send at worst
  return 120_000 + Math.ceil(p.n / 5) // at worst 5,000 msg/s
}

async function runOne({ clientId, mod, env, params, rep, reps, bootstrap, admin, nk, tmpDir, java, toolsClasspath }) {
  const suffix = randomBytes(3).toString('hex')
  const topic = `bench-${params.id}-${clientId}-r${rep}-${suffix}`
  const groupId = `bench-${params.id}-${clientId}-r${rep}-${suffix}`
  const label = rep === 0 ? `[warm-up] ${clientId}` : `[${params.id} ${rep}/${reps}] ${clientId}`
  const record = { rep, topic, ok: false }
  try {
    await makeTopic(admin, topic, params.partitions)
    if (params.kind === 'consume') {
      const t = Date.now()
      await fill(nk, bootstrap, topic, params.n, params.valueSize)
      record.fillMs = Date.now() - t
    }
    const timeoutMs = timeoutFor(params)
    const spec = {
      ...params,
      workload: params.id,
      client: clientId,
      bootstrap,
      topic,
      groupId,
      timeoutMs,
      resultFile: path.join(tmpDir, `result-${suffix}.json`),
    }
    let cmd
    let args
    let parse = null
    let stdinFile
    let wallClock = false
    if (mod.meta.external) {
      const c = mod.command(spec, { java, toolsClasspath, kcat: env.bin, tmpDir })
      ;({ cmd, args, stdinFile } = c)
      parse = c.parse ?? null
      wallClock = Boolean(c.wallClock)
    } else {
      const specFile = path.join(tmpDir, `spec-${suffix}.json`)
      fs.writeFileSync(specFile, JSON.stringify(spec))
      cmd = env.nodeBin ?? process.execPath
      args = [path.join(BENCH, 'lib', 'child.mjs'), clientId, specFile]
    }
    log(`${label}: running (${params.n.toLocaleString('en-US')} msgs, topic ${topic})`)
    const outside = await runMeasured(cmd, args, {
      timeoutMs: timeoutMs + 30_000,
      stdinFile,
      timeFile: path.join(tmpDir, `time-${suffix}.txt`),
      onLine: (line) => log(`${label}: ${line}`),
    })
    record.outside = {
      wallMs: Math.round(outside.wallMs),
      userS: outside.userS,
      sysS: outside.sysS,
      cpuS: outside.userS == null ? null : Math.round((outside.userS + outside.sysS) * 100) / 100,
      maxRssMB: outside.maxRssKB == null ? null : Math.round(outside.maxRssKB / 1024),
      exit: outside.code,
      signal: outside.signal,
    }
    if (outside.timedOut) throw new Error(`killed after ${Math.round((timeoutMs + 30_000) / 1000)} s`)
    let result
    if (mod.meta.external) {
      if (outside.code !== 0) throw new Error(`exit ${outside.code}: ${outside.stderr.trim().split('\n').slice(-3).join(' | ')}`)
      if (wallClock) {
        const n = params.kind === 'consume' ? outside.stdoutBytes : params.n // kcat -C prints one newline per message
        const secs = outside.wallMs / 1000
        result = {
          n,
          elapsedMs: Math.round(outside.wallMs),
          msgsPerSec: Math.round(n / secs),
          mbPerSec: Math.round(((n * params.valueSize) / secs / 1e6) * 100) / 100,
          cpuWindow: null,
          cpuNsPerMsg: null,
          timing: 'process wall time',
        }
      } else {
        result = parse(outside.stdout)
      }
    } else {
      try {
        result = JSON.parse(fs.readFileSync(spec.resultFile, 'utf8'))
      } catch {
        throw new Error(
          `no result (exit ${outside.code}${outside.signal ? `, ${outside.signal}` : ''}): ${outside.stderr.trim().split('\n').slice(-3).join(' | ')}`,
        )
      }
      fs.rmSync(spec.resultFile, { force: true })
      fs.rmSync(path.join(tmpDir, `spec-${suffix}.json`), { force: true })
      if (!result.ok) throw new Error(result.error)
      delete result.ok
    }
    if (params.kind === 'consume' && result.n < params.n) throw new Error(`consumed ${result.n} of ${params.n} messages`)
    if (params.kind === 'produce' || params.kind === 'send-await') {
      const count = await countRecords(admin, topic)
      record.recordsInTopic = count
      if (count < params.n) throw new Error(`the topic holds ${count} records, expected at least ${params.n}`)
    }
    if (record.outside.cpuS != null && result.n) record.outside.cpuNsPerMsg = Math.round((record.outside.cpuS * 1e9) / result.n)
    Object.assign(record, result, { ok: true })
    const lat = result.latency ? `, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms` : ''
    const rate = params.kind === 'e2e' ? '' : `${fmt(result.msgsPerSec)} msg/s, ${result.mbPerSec} MB/s, `
    log(`${label}: ${rate}CPU ${record.outside.cpuS ?? '?'} s, RSS ${record.outside.maxRssMB ?? '?'} MB${lat}`)
  } catch (error) {
    record.error = String(error?.message ?? error).slice(0, 1500)
    log(`${label}: FAILED: ${record.error.split('\n')[0]}`)
  } finally {
    await admin.deleteTopics([topic]).catch(() => {})
  }
  return record
}

async function main() {
  if (process.argv.includes('--security')) {
    // nkafka alone over TLS and SASL against plaintext: bench/security.mjs.
    const rest = process.argv.slice(2).filter((a) => a !== '--security')
    const { spawnSync } = await import('node:child_process')
    const r = spawnSync(process.execPath, [new URL('./security.mjs', import.meta.url).pathname, ...rest], { stdio: 'inherit' })
    return r.status ?? 1
  }
  const opts = parseArgs(process.argv.slice(2))
  if (opts.help) {
    log(USAGE)
    return 0
  }
  const clients = await loadClients()
  if (opts.list) {
    for (const id of CLIENT_IDS) {
      const m = clients[id].meta
      log(`\n${id}: ${m.label}`)
      for (const w of WORKLOAD_IDS) {
        const d = m.workloads[w]
        log(`  ${w.padEnd(5)} ${d ? `${d.api}\n        config: ${d.config}` : (m.unsupported[w] ?? 'n/a')}`)
      }
    }
    return 0
  }

  // The bench's own temp namespace: scripts/kafka.mjs keys its broker state on os.tmpdir(),
  // so a broker started here never touches a developer's or the tests' 'single' broker.
  const benchTmp = process.env.NKAFKA_BENCH_TMPDIR || path.join(os.tmpdir(), 'nkafka-bench')
  mkdirp(benchTmp)
  process.env.TMPDIR = benchTmp

  if (!fs.existsSync(path.join(BENCH, 'node_modules')) || !fs.existsSync(path.join(BENCH, 'node22', 'node_modules'))) {
    if (!opts.setup) throw new Error('bench/node_modules is missing: run node bench/setup.mjs')
    log('bench: dependencies missing, running bench/setup.mjs')
    const r = spawnSync(process.execPath, [path.join(BENCH, 'setup.mjs')], { stdio: 'inherit' })
    if (r.status !== 0) throw new Error('bench/setup.mjs failed')
  }
  if (!haveGnuTime()) throw new Error(`${GNU_TIME} (GNU time) is missing: run node bench/setup.mjs, or apt-get install time`)

  const kafka = await import(pathToFileURL(path.join(REPO, 'scripts', 'kafka.mjs')).href)
  let java = null
  try {
    java = kafka.findJava().java
  } catch {}
  const env = environment(clients, { java })
  if (!env.nkafka.version) throw new Error(env.nkafka.unavailable)
  const nk = require(path.join(REPO, 'dist', 'index.js'))

  const workloadIds = opts.workloads ?? WORKLOAD_IDS
  const clientIds = opts.clients ?? CLIENT_IDS
  const reps = opts.reps ?? (opts.quick ? 1 : 3)
  const date = new Date().toISOString().slice(0, 10)
  const tag = opts.tag ?? (opts.quick ? `${date}-quick` : date)
  const tmpDir = mkdirp(path.join(benchTmp, `run-${process.pid}`))
  mkdirp(RESULTS)

  const needJava = clientIds.some((c) => clients[c].meta.runtime === 'java' && env[c].version)
  const toolsClasspath = needJava ? await kafka.javaClasspath('tools') : null

  let broker = null
  let bootstrap = opts.brokers
  const brokerInfo = { version: kafka.KAFKA_VERSION }
  const cleanup = async () => {
    if (broker) {
      const b = broker
      broker = null
      log('bench: stopping the benchmark broker')
      await b.stop().catch((e) => log(`bench: stopping the broker failed: ${e.message}`))
    }
    fs.rmSync(tmpDir, { recursive: true, force: true })
  }
  // First Ctrl-C: kill the measured process, stop after it (the finally below stops the
  // broker). A second one leaves at once.
  let interrupted = null
  const onSignal = (sig) => {
    if (interrupted) process.exit(130)
    interrupted = sig
    log(`bench: ${sig}: stopping (again to leave at once)`)
    killRunning()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const checkInterrupted = () => {
    if (interrupted) throw new Interrupted(interrupted)
  }

  try {
    if (!bootstrap) {
      const heap = '-Xms1g -Xmx1g'
      log(`bench: starting a Kafka ${kafka.KAFKA_VERSION} broker (mode single, TMPDIR=${benchTmp}, heap ${heap})`)
      broker = await kafka.startKafka({ mode: 'single', fresh: true, autoCreateTopics: false, heap, quiet: true })
      bootstrap = broker.bootstrap
      Object.assign(brokerInfo, {
        startedByBench: true,
        heap,
        config: 'scripts/kafka.mjs single-node defaults (KRaft, combined broker+controller), auto.create.topics.enable=false',
      })
    } else {
      Object.assign(brokerInfo, { startedByBench: false, note: `given with --brokers; version assumed ${kafka.KAFKA_VERSION}` })
    }
    brokerInfo.bootstrap = bootstrap
    log(`bench: broker at ${bootstrap}`)
    const admin = new nk.Admin({ bootstrapServers: bootstrap, clientId: 'bench-admin' })
    await admin.describeCluster()

    const runnable = clientIds.filter((c) => {
      if (env[c].unavailable) log(`bench: ${c} unavailable: ${env[c].unavailable}`)
      return !env[c].unavailable
    })

    // Warm-up, not recorded: the first group use creates __consumer_offsets (50 partitions),
    // which no client's C2 should pay for.
    if (workloadIds.some((w) => WORKLOADS[w].kind === 'consume' || WORKLOADS[w].kind === 'e2e') && env.kafkajs.version) {
      log('bench: warm-up (creates __consumer_offsets; not recorded)')
      const warm = await runOne({
        clientId: 'kafkajs',
        mod: clients.kafkajs,
        env: env.kafkajs,
        params: { ...workloadParams('C2', { quick: true, n: 10 }), id: 'C2' },
        rep: 0,
        reps: 0,
        bootstrap,
        admin,
        nk,
        tmpDir,
        java,
        toolsClasspath,
      })
      if (!warm.ok) log(`bench: warm-up failed (${warm.error}); continuing`)
    }

    const machine = {
      ...machineInfo(),
      node: process.version,
      java: java ? spawnSync(java, ['-version'], { encoding: 'utf8' }).stderr.split('\n')[0] : null,
    }
    const started = Date.now()
    for (const wid of workloadIds) {
      const params = workloadParams(wid, { quick: opts.quick, n: opts.n })
      if (opts.durationMs && params.kind === 'e2e') {
        params.durationMs = opts.durationMs
        params.n = Math.ceil((params.rate * params.durationMs) / 1000)
      }
      log(`\n== ${WORKLOADS[wid].title}: ${params.n.toLocaleString('en-US')} msgs, ${reps} rep(s), interleaved`)
      const entries = {}
      for (const c of clientIds) {
        const m = clients[c].meta
        entries[c] = {
          label: m.label,
          reference: Boolean(m.reference),
          version: env[c].version ?? null,
          librdkafka: env[c].librdkafka ?? null,
          runtime: env[c].runtime ?? null,
          api: m.workloads[wid]?.api ?? null,
          config: m.workloads[wid]?.config ?? null,
          status: m.workloads[wid] ? (env[c].unavailable ? 'unavailable' : 'ok') : 'n/a',
          reason: m.workloads[wid] ? (env[c].unavailable ?? null) : (m.unsupported[wid] ?? 'n/a'),
          reps: [],
        }
      }
      const active = runnable.filter((c) => clients[c].meta.workloads[wid])
      for (let rep = 1; rep <= reps; rep++) {
        // Rotate who goes first: the first run after another workload meets a broker still
        // busy with it (measured: P3 right after the consumers was ~2x slower for whoever
        // ran first), and that must not always be the same client.
        const shift = (rep - 1) % active.length
        for (const c of [...active.slice(shift), ...active.slice(0, shift)]) {
          checkInterrupted()
          const record = await runOne({
            clientId: c,
            mod: clients[c],
            env: env[c],
            params,
            rep,
            reps,
            bootstrap,
            admin,
            nk,
            tmpDir,
            java,
            toolsClasspath,
          })
          entries[c].reps.push(record)
        }
      }
      checkInterrupted()
      for (const c of clientIds) {
        const e = entries[c]
        if (e.status !== 'ok') continue
        e.median = medianSummary(e.reps)
        if (!e.median) e.status = 'failed'
      }
      const { kind, title, what, partitions, n, acks, compression, idempotence, keySize, rate, durationMs, warmupMs, valueSize } = params
      const doc = {
        workload: wid,
        title,
        what,
        params: { kind, partitions, n, valueSize, acks, compression, idempotence, keySize, rate, durationMs, warmupMs },
        quick: opts.quick,
        // full: the protocol's sizes, every client, 3+ repetitions; custom: anything narrower
        mode: opts.quick ? 'quick' : opts.n || opts.durationMs || opts.clients || opts.workloads || reps < 3 ? 'custom' : 'full',
        reps,
        date: new Date().toISOString(),
        machine,
        broker: brokerInfo,
        clients: entries,
      }
      const file = path.join(RESULTS, `${tag}-${wid}.json`)
      fs.writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`)
      log(`bench: wrote ${path.relative(REPO, file)}`)
    }
    await admin.close()
    const { summary, chart } = writeReport(RESULTS, tag, {
      updateReadme: path.join(BENCH, 'README.md'),
      updateRootReadme: path.join(REPO, 'README.md'),
    })
    log(`\nbench: done in ${Math.round((Date.now() - started) / 1000)} s; ${path.relative(REPO, summary)}, ${path.relative(REPO, chart)}`)
    log(fs.readFileSync(summary, 'utf8'))
  } finally {
    await cleanup()
  }
  return 0
}

main().then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof Interrupted) {
      process.stderr.write(`bench: interrupted (${error.message}); results of unfinished workloads were not written\n`)
      process.exit(130)
    }
    process.stderr.write(`bench: ${error?.stack || error}\n`)
    process.exit(1)
  },
)
