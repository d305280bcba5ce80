#!/usr/bin/env node
// Local Apache Kafka brokers for nkafka's tests and benchmarks: a real broker, run as a
// plain JVM process from jars that Maven fetches once into the project's cache.
//
// CLI (run with no arguments for the full usage):
//   node scripts/kafka.mjs start [single|cluster|secure] [--fresh] [--json] [--override k=v]...
//   node scripts/kafka.mjs stop [single|cluster|secure|--all]
//   node scripts/kafka.mjs status [--json]
//   node scripts/kafka.mjs fetch [--tools]
//   node scripts/kafka.mjs logs [mode] [--lines N]
//
// Module (vitest globalSetup, crash tests, interop oracles):
//   import { startKafka, stopKafka, killBroker, stopBroker, restartBroker, pauseBroker,
//            resumeBroker, consoleProduce,
//            consoleConsume, consoleShareConsume } from './scripts/kafka.mjs';
//
// This file is the CLI and the one module to import; the parts live in scripts/kafka/:
//   common.mjs   version, KafkaScriptError, cache and state paths, process helpers
//   jars.mjs     Java 17+, the Maven-fetched jars, runJava
//   config.mjs   listeners of each mode, server.properties, broker JVM flags
//   tls.mjs      the test CAs, broker and client certificates and keys (keytool + Node)
//   probe.mjs    the raw-TCP ApiVersions/Metadata readiness probe
//   state.mjs    the state file and lock of each mode
//   process.mjs  start/reuse, stop, status, killBroker, restartBroker
//   tools.mjs    the Java oracles (console producer/consumer, TopicCommand) and
//                secureClientProperties
//
// Only node: builtins: this runs before `npm install` has necessarily happened.
// docs/KAFKA-LOCAL.md describes the modes and what was verified about running Kafka here.

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { DEFAULT_HEAP, KAFKA_VERSION, KafkaScriptError, MODES, tail } from './kafka/common.mjs'
import { REAUTH_MS, SASL_MECHANISMS } from './kafka/config.mjs'
import { ensureJars, findJava } from './kafka/jars.mjs'
import { kafkaStatus, startKafka, stopKafka } from './kafka/process.mjs'
import { readState } from './kafka/state.mjs'
import { oracleClasses } from './kafka/tools.mjs'

export { KAFKA_VERSION, KafkaScriptError, MODES } from './kafka/common.mjs'
export { REAUTH_MS, SASL_USER, toJavaProperties } from './kafka/config.mjs'
export { ensureJars, FAST_START_JVM_ARGS, findJava, javaClasspath, runJava } from './kafka/jars.mjs'
export { probeKafka } from './kafka/probe.mjs'
export {
  kafkaState,
  kafkaStatus,
  killBroker,
  pauseBroker,
  restartBroker,
  resumeBroker,
  startKafka,
  stopBroker,
  stopKafka,
} from './kafka/process.mjs'
export { consoleConsume, consoleProduce, consoleShareConsume, createTopic, secureClientProperties } from './kafka/tools.mjs'

const USAGE = `usage: node scripts/kafka.mjs <command> [options]

  start [single|cluster|secure]   start a local Kafka ${KAFKA_VERSION} (default: single) and print its
                                  bootstrap address; reuses a running one of that mode
      --fresh                     stop a running one first and start anew
      --json                      print the full state as JSON (listeners, CA, credentials)
      --override key=value        extra server property (repeatable)
      --no-auto-create-topics     auto.create.topics.enable=false
      --port N                    use ports N, N+1, ... instead of free ones
      --heap "-Xms.. -Xmx.."      JVM heap flags (default "${DEFAULT_HEAP}" or KAFKA_HEAP_OPTS)
  stop [single|cluster|secure|--all]  stop one mode (no argument or --all: every mode)
  status [--json]                 what runs, and whether it answers
  fetch [--tools]                 download the jars now (--tools: also kafka-tools + oracle helpers)
  logs [mode] [--lines N]         log file paths and their last lines

  Cache: \${NKAFKA_CACHE_DIR:-<repo>/.cache}/kafka/${KAFKA_VERSION}; state: ${path.join(os.tmpdir(), 'nkafka-kafka-<mode>.json')}`

function parseArgs(argv) {
  const opts = { _: [], override: [] }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (!arg.startsWith('--')) {
      opts._.push(arg)
      continue
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2)
    const takesValue = ['override', 'port', 'heap', 'lines', 'timeout'].includes(name)
    if (!takesValue) {
      opts[name] = true
      continue
    }
    const value = inline ?? argv[++i]
    if (value === undefined) throw new KafkaScriptError(`--${name} needs a value`)
    if (name === 'override') opts.override.push(value)
    else opts[name] = value
  }
  return opts
}

function modeArg(opts, fallback) {
  const mode = opts._[1] ?? fallback
  if (mode && !MODES.includes(mode)) throw new KafkaScriptError(`unknown mode "${mode}" (expected ${MODES.join(', ')})`)
  return mode
}

async function main(argv) {
  const opts = parseArgs(argv)
  const command = opts._[0]
  switch (command) {
    case 'start': {
      const mode = modeArg(opts, 'single')
      let port
      if (opts.port !== undefined) {
        port = Number(opts.port)
        if (!Number.isInteger(port) || port < 1 || port > 65535)
          throw new KafkaScriptError(`--port expects a port number, got "${opts.port}"`)
      }
      const kafka = await startKafka({
        mode,
        fresh: Boolean(opts.fresh),
        overrides: opts.override,
        autoCreateTopics: !opts['no-auto-create-topics'],
        port,
        heap: opts.heap,
        timeoutMs: opts.timeout ? Number(opts.timeout) * 1000 : undefined,
      })
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(kafka, null, 2)}\n`)
      } else {
        process.stdout.write(`${kafka.bootstrap}\n`)
        if (mode === 'secure') {
          const notes = {
            MTLS: '(SSL, client certificate signed by the test CA required)',
            REAUTH: `(SASL_SSL, sessions expire after ${REAUTH_MS} ms: connections.max.reauth.ms)`,
          }
          for (const [name, addr] of Object.entries(kafka.listeners)) {
            process.stderr.write(`  ${name.padEnd(15)} ${addr}${notes[name] ? `  ${notes[name]}` : ''}\n`)
          }
          const { client } = kafka.tls
          process.stderr.write(`  CA (PEM)        ${kafka.caFile}\n`)
          process.stderr.write(`  client cert     ${client.certFile}\n`)
          process.stderr.write(`  client key      ${client.keyPkcs8File} (PKCS#8; also PKCS#1, encrypted, EC: see ${kafka.tls.dir})\n`)
          process.stderr.write(
            `  user            ${kafka.credentials.username} / ${kafka.credentials.password} (${SASL_MECHANISMS.join(', ')})\n`,
          )
        }
      }
      return 0
    }
    case 'stop': {
      const mode = opts.all ? undefined : modeArg(opts, undefined)
      const stopped = await stopKafka(mode)
      process.stderr.write(`kafka: ${stopped.length ? `stopped ${stopped.join(', ')}` : 'nothing to stop'}\n`)
      return 0
    }
    case 'status': {
      const status = await kafkaStatus()
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(status, null, 2)}\n`)
      } else if (!status.length) {
        process.stdout.write('no local Kafka is running\n')
      } else {
        for (const s of status) {
          const up = s.nodes.every((n) => n.answers) ? 'up' : s.nodes.some((n) => n.alive) ? 'degraded' : 'dead'
          process.stdout.write(`${s.mode.padEnd(8)} ${up.padEnd(9)} ${s.bootstrap}  ${s.dir}\n`)
          for (const n of s.nodes) {
            process.stdout.write(`  node ${n.nodeId}  pid ${n.pid ?? '-'}  ${n.alive ? 'alive' : 'dead'}${n.answers ? ', answers' : ''}\n`)
          }
          if (s.failed) process.stdout.write(`  last start failed: ${s.failed}\n`)
        }
      }
      return 0
    }
    case 'fetch': {
      findJava()
      const dirs = await ensureJars({ tools: Boolean(opts.tools) })
      if (opts.tools) dirs.oracle = await oracleClasses()
      for (const [kind, dir] of Object.entries(dirs)) process.stdout.write(`${kind}: ${dir}\n`)
      return 0
    }
    case 'logs': {
      const mode = modeArg(opts, undefined)
      const lines = Number(opts.lines ?? 40)
      const modes = mode ? [mode] : MODES
      let found = false
      for (const m of modes) {
        const state = readState(m)
        if (!state) continue
        found = true
        for (const node of state.brokers) {
          process.stdout.write(`==> ${m} node ${node.nodeId}: ${node.serverLog} <==\n${tail(node.serverLog, lines)}\n`)
          const consoleTail = tail(node.consoleLog, lines)
          if (consoleTail) process.stdout.write(`==> ${m} node ${node.nodeId}: ${node.consoleLog} <==\n${consoleTail}\n`)
        }
      }
      if (!found) process.stdout.write(`no state for ${mode ?? 'any mode'}: nothing to show\n`)
      return 0
    }
    case undefined:
    case 'help':
      process.stdout.write(`${USAGE}\n`)
      return command || opts.help ? 0 : 2
    default:
      throw new KafkaScriptError(`unknown command "${command}"\n${USAGE}`)
  }
}

function invokedDirectly() {
  try {
    return Boolean(process.argv[1]) && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href
  } catch {
    return false // imported by a runner whose argv[1] is not a file
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      if (error instanceof KafkaScriptError) process.stderr.write(`kafka.mjs: ${error.message}\n`)
      else process.stderr.write(`kafka.mjs: unexpected error: ${error.stack || error}\n`)
      process.exit(1)
    },
  )
}
