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
//   import { startKafka, stopKafka, killBroker, restartBroker, consoleProduce,
//            consoleConsume } from './scripts/kafka.mjs';
//
// Only node: builtins: this runs before `npm install` has necessarily happened.
// docs/KAFKA-LOCAL.md describes the modes and what was verified about running Kafka here.

import { execFile, spawn, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { stripVTControlCharacters } from 'node:util'

export const KAFKA_VERSION = '4.3.1'
export const MODES = ['single', 'cluster', 'secure']

const HERE = path.dirname(fileURLToPath(import.meta.url))
const REPO_ROOT = path.resolve(HERE, '..')
const TEMPLATES = path.join(HERE, 'kafka')
const HOST = '127.0.0.1'
const STATE_FORMAT = 1

const DEFAULT_HEAP = '-Xms256m -Xmx512m'
const START_TIMEOUT_MS = 90_000
const STOP_GRACE_MS = 15_000

// Test credentials of the `secure` mode. Fixed on purpose: tests and developers type them.
export const SASL_USER = { username: 'nkafka', password: 'nkafka-secret' }
const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER']
const TLS_PASSWORD = 'nkafka-test'
// Bump when the TLS material's recipe changes so that old caches are regenerated.
const TLS_RECIPE = 'tls-v1'

/** An expected failure: the CLI prints its message (first line is the summary) and exits 1. */
export class KafkaScriptError extends Error {
  constructor(message) {
    super(message)
    this.name = 'KafkaScriptError'
  }
}

// ---------------------------------------------------------------------------------------
// Paths

/** Root of the project's cache: NKAFKA_CACHE_DIR, else <repo>/.cache (git-ignored). */
function cacheRoot() {
  return path.resolve(process.env.NKAFKA_CACHE_DIR || path.join(REPO_ROOT, '.cache'))
}

function kafkaCacheDir() {
  return path.join(cacheRoot(), 'kafka', KAFKA_VERSION)
}

function jarDir(kind) {
  return path.join(kafkaCacheDir(), kind)
}

// State files live in the OS temp dir next to the runs they describe: a reboot that wipes
// the temp dir wipes both together, so a state file never points at vanished data.
function statePath(mode) {
  return path.join(os.tmpdir(), `nkafka-kafka-${mode}.json`)
}

function lockPath(mode) {
  return path.join(os.tmpdir(), `nkafka-kafka-${mode}.lock`)
}

// ---------------------------------------------------------------------------------------
// Small process helpers

function which(cmd) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue
    const candidate = path.join(dir, cmd)
    try {
      fs.accessSync(candidate, fs.constants.X_OK)
      return candidate
    } catch {
      // keep looking
    }
  }
  return null
}

/** Runs a command, resolves { code, stdout, stderr }; never rejects for a non-zero exit. */
function run(cmd, args, { input, timeoutMs = 0, env, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024, timeout: timeoutMs, killSignal: 'SIGKILL', env, cwd },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number' && !error.killed && error.signal == null) {
          reject(error) // could not spawn at all (ENOENT, ...)
          return
        }
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
          signal: error?.signal ?? null,
          timedOut: Boolean(error?.killed),
          stdout,
          stderr: stderr.toString('utf8'),
        })
      },
    )
    // A JVM that dies early closes its stdin; the resulting EPIPE is not our error to report.
    child.stdin.on('error', () => {})
    child.stdin.end(input ?? undefined)
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** True if `pid` is a live process (not a zombie) whose command line contains `marker`. */
function pidAlive(pid, marker) {
  if (!pid) return false
  try {
    process.kill(pid, 0)
  } catch (error) {
    if (error.code !== 'EPERM') return false
  }
  // On Linux, guard against a recycled pid and against zombies (kill(pid, 0) succeeds on
  // both). Elsewhere there is no /proc and the signal check above has to do.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false
    if (marker) return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)
  } catch {
    // no /proc, or the process just went away
  }
  return true
}

async function waitForExit(pid, marker, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  while (pidAlive(pid, marker)) {
    if (Date.now() > deadline) return false
    await sleep(100)
  }
  return true
}

function tail(file, lines = 40) {
  try {
    const text = fs.readFileSync(file, 'utf8').trimEnd()
    return text ? text.split('\n').slice(-lines).join('\n') : ''
  } catch {
    return ''
  }
}

function log(quiet, message) {
  if (!quiet) process.stderr.write(`kafka: ${message}\n`)
}

// ---------------------------------------------------------------------------------------
// Java and Maven

let javaChecked = null

/** The java binary: $JAVA_HOME/bin/java if set, else `java` on PATH; checks it is 17+. */
export function findJava() {
  if (javaChecked) return javaChecked
  const fromHome = process.env.JAVA_HOME && path.join(process.env.JAVA_HOME, 'bin', 'java')
  const java = fromHome && fs.existsSync(fromHome) ? fromHome : which('java')
  if (!java) {
    throw new KafkaScriptError(
      `java not found: Kafka ${KAFKA_VERSION} needs Java 17 or newer; install a JDK 17+ (Debian: openjdk-17-jdk-headless) or set JAVA_HOME`,
    )
  }
  const result = spawnSync(java, ['-version'], { encoding: 'utf8' })
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${result.stderr}${result.stdout}`)
  const major = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : 0
  if (major < 17) {
    throw new KafkaScriptError(
      `${java} is Java ${major || '(unknown version)'}: Kafka ${KAFKA_VERSION} needs Java 17 or newer; install a JDK 17+ or point JAVA_HOME at one`,
    )
  }
  // javac and keytool come from the same JDK as java, so that they agree on versions.
  const binDir = path.dirname(fs.realpathSync(java))
  javaChecked = { java, binDir, major }
  return javaChecked
}

function jdkTool(name) {
  const { binDir } = findJava()
  const beside = path.join(binDir, name)
  const tool = fs.existsSync(beside) ? beside : which(name)
  if (!tool) {
    throw new KafkaScriptError(
      `${name} not found next to ${binDir}/java or on PATH: install a full JDK 17+ (Debian: openjdk-17-jdk-headless), not only a JRE`,
    )
  }
  return tool
}

function pomHash() {
  return createHash('sha256')
    .update(fs.readFileSync(path.join(TEMPLATES, 'pom.xml')))
    .digest('hex')
    .slice(0, 16)
}

/** The cache marker of a completed download, or null if the jars must be fetched. */
function readMarker(kind) {
  try {
    const marker = JSON.parse(fs.readFileSync(path.join(jarDir(kind), '.complete'), 'utf8'))
    return marker.kafkaVersion === KAFKA_VERSION && marker.pom === pomHash() ? marker : null
  } catch {
    return null
  }
}

async function downloadJars(kind, quiet) {
  const mvn = which('mvn')
  const target = jarDir(kind)
  if (!mvn) {
    throw new KafkaScriptError(
      `mvn not found: the Kafka ${KAFKA_VERSION} ${kind} jars are not cached yet (${target}) and Maven is needed once to fetch them; install Maven (Debian: maven) and retry`,
    )
  }
  log(quiet, `fetching Kafka ${KAFKA_VERSION} ${kind} jars with Maven (once; cached in ${target})`)
  const started = Date.now()
  // Download into a private directory and rename it into place at the end, so that an
  // interrupted or concurrent download never leaves a half-filled cache behind.
  fs.mkdirSync(path.dirname(target), { recursive: true })
  const staging = fs.mkdtempSync(`${target}.partial-`)
  const logFile = path.join(path.dirname(target), `mvn-${kind}.log`)
  const result = await run(mvn, [
    '-q',
    '-B',
    '-Dstyle.color=never',
    '-f',
    path.join(TEMPLATES, 'pom.xml'),
    '-P',
    kind,
    `-Dkafka.version=${KAFKA_VERSION}`,
    'dependency:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${staging}`,
  ])
  fs.writeFileSync(logFile, `${result.stdout.toString('utf8')}${result.stderr}`)
  const jars = fs.existsSync(staging) ? fs.readdirSync(staging).filter((f) => f.endsWith('.jar')) : []
  const mainJar = kind === 'broker' ? `kafka_2.13-${KAFKA_VERSION}.jar` : `kafka-tools-${KAFKA_VERSION}.jar`
  if (result.code !== 0 || !jars.includes(mainJar)) {
    fs.rmSync(staging, { recursive: true, force: true })
    // Maven 3.8 colours its output even with -B -q when stdout is not a terminal.
    const output = stripVTControlCharacters(`${result.stdout.toString('utf8')}\n${result.stderr}`)
    // Maven's first [ERROR] line says what went wrong; the following ones are boilerplate.
    const reason =
      output
        .split('\n')
        .filter((line) => line.startsWith('[ERROR]'))
        .map((line) =>
          line
            .replace(/^\[ERROR\]\s*/, '')
            .replace(/\s*-> \[Help \d+\]$/, '')
            .trim(),
        )
        .find(Boolean) || `mvn exited with ${result.code}`
    throw new KafkaScriptError(
      `fetching Kafka ${KAFKA_VERSION} ${kind} jars with Maven failed (${reason.slice(0, 300)}); check network access to the Maven repository and ~/.m2/settings.xml, then retry \`node scripts/kafka.mjs fetch\` (full log: ${logFile})`,
    )
  }
  const marker = { kafkaVersion: KAFKA_VERSION, pom: pomHash(), jars: jars.length, fetchedAt: new Date().toISOString() }
  fs.writeFileSync(path.join(staging, '.complete'), `${JSON.stringify(marker, null, 2)}\n`)
  fs.rmSync(target, { recursive: true, force: true })
  try {
    fs.renameSync(staging, target)
  } catch (error) {
    // A concurrent download won the race: keep its complete copy.
    fs.rmSync(staging, { recursive: true, force: true })
    if (!readMarker(kind)) throw error
  }
  log(quiet, `fetched ${jars.length} ${kind} jars in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

/**
 * Makes sure the broker jars (and with tools: true the kafka-tools jars) are cached.
 * Runs Maven only when a cache marker is missing; afterwards no network is needed.
 * Returns { broker, tools? } directories.
 */
export async function ensureJars({ tools = false, quiet = false } = {}) {
  const kinds = tools ? ['broker', 'tools'] : ['broker']
  const dirs = {}
  for (const kind of kinds) {
    if (!readMarker(kind)) await downloadJars(kind, quiet)
    dirs[kind] = jarDir(kind)
  }
  return dirs
}

/** A java -cp value for the cached jars of 'broker' or 'tools' (fetching them if needed). */
export async function javaClasspath(kind = 'broker') {
  if (kind !== 'broker' && kind !== 'tools') throw new KafkaScriptError(`unknown classpath kind ${kind}`)
  await ensureJars({ tools: kind === 'tools', quiet: true })
  return path.join(jarDir(kind), '*')
}

// For short-lived tool JVMs (format, oracles, TopicCommand): C1 only and serial GC start
// noticeably faster on 2 cores. Not for benchmarks, which need the full JIT.
export const FAST_START_JVM_ARGS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xshare:auto']

const TOOLS_LOG_CONFIG = `-Dlog4j2.configurationFile=${path.join(TEMPLATES, 'tools-log4j2.properties')}`

/**
 * Runs a Java main class from the cached 'broker' or 'tools' classpath with a quiet log
 * config (warnings to stderr). Resolves { code, signal, timedOut, stdout: Buffer, stderr }.
 * Handy for ProducerPerformance, ConsumerPerformance, TopicCommand, ... Pass
 * jvmArgs: FAST_START_JVM_ARGS for one-shot tools where start time matters more than speed.
 */
export async function runJava(kind, mainClass, args = [], { input, timeoutMs = 120_000, classpath = [], jvmArgs = [] } = {}) {
  const { java } = findJava()
  const cp = [await javaClasspath(kind), ...classpath].join(path.delimiter)
  return run(java, [TOOLS_LOG_CONFIG, ...jvmArgs, '-cp', cp, mainClass, ...args], { input, timeoutMs })
}

// ---------------------------------------------------------------------------------------
// Properties files

function escapeProperty(text, isKey) {
  let out = ''
  for (const [i, ch] of [...String(text)].entries()) {
    const code = ch.codePointAt(0)
    if (ch === '\\') out += '\\\\'
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if ((isKey && (ch === '=' || ch === ':' || ch === ' ')) || ch === '#' || ch === '!') out += `\\${ch}`
    else if (ch === ' ' && i === 0) out += '\\ '
    else if (code < 0x20 || code > 0x7e) {
      // Properties files are read as ISO-8859-1: write everything else as \uXXXX.
      for (const unit of ch.split('')) out += `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`
    } else out += ch
  }
  return out
}

/** Serializes an object to the java.util.Properties text format. */
export function toJavaProperties(obj) {
  return `${Object.entries(obj)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => `${escapeProperty(key, true)}=${escapeProperty(value, false)}`)
    .join('\n')}\n`
}

// ---------------------------------------------------------------------------------------
// Ports

function listenOn(port) {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once('error', reject)
    server.listen({ port, host: HOST, exclusive: true }, () => resolve(server))
  })
}

/** n distinct free ports on 127.0.0.1 (held open together so they cannot repeat). */
async function freePorts(n) {
  const servers = []
  try {
    for (let i = 0; i < n; i++) servers.push(await listenOn(0))
    return servers.map((server) => server.address().port)
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  }
}

async function assertPortsFree(ports) {
  for (const port of ports) {
    try {
      const server = await listenOn(port)
      await new Promise((resolve) => server.close(resolve))
    } catch (error) {
      throw new KafkaScriptError(
        `port ${port} on ${HOST} is not available (${error.code || error.message}); choose another --port or leave it out to use free ports`,
      )
    }
  }
}

// ---------------------------------------------------------------------------------------
// A raw-TCP Kafka probe: ApiVersions v0, then Metadata listing the brokers. It proves that a
// client can really talk to the broker (the listener is bound and the broker has joined the
// metadata quorum and is unfenced), with no client library.

const API_METADATA = 3
const API_VERSIONS = 18

function encodeRequest(apiKey, apiVersion, correlationId, body) {
  const clientId = Buffer.from('nkafka-probe')
  const header = Buffer.alloc(10)
  header.writeInt16BE(apiKey, 0)
  header.writeInt16BE(apiVersion, 2)
  header.writeInt32BE(correlationId, 4)
  header.writeInt16BE(clientId.length, 8) // request header v1: client_id is a nullable string
  const size = Buffer.alloc(4)
  size.writeInt32BE(header.length + clientId.length + body.length)
  return Buffer.concat([size, header, clientId, body])
}

class Reader {
  constructor(buf) {
    this.buf = buf
    this.pos = 0
  }
  int16() {
    const v = this.buf.readInt16BE(this.pos)
    this.pos += 2
    return v
  }
  int32() {
    const v = this.buf.readInt32BE(this.pos)
    this.pos += 4
    return v
  }
  string() {
    const len = this.int16()
    if (len < 0) return null
    const v = this.buf.toString('utf8', this.pos, this.pos + len)
    this.pos += len
    return v
  }
}

/** Opens a connection and returns send(apiKey, version, body) -> Promise<Reader>. */
function kafkaConnection(host, port, timeoutMs) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port })
    let pending = null
    let chunks = Buffer.alloc(0)
    let correlation = 0
    const fail = (error) => {
      socket.destroy()
      if (pending) pending.reject(error)
      else reject(error)
      pending = null
    }
    socket.setTimeout(timeoutMs, () => fail(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)))
    socket.on('error', fail)
    socket.on('close', () => fail(new Error(`${host}:${port} closed the connection`)))
    socket.on('data', (data) => {
      chunks = Buffer.concat([chunks, data])
      if (chunks.length < 4 || !pending) return
      const size = chunks.readInt32BE(0)
      if (chunks.length < 4 + size) return
      const frame = chunks.subarray(4, 4 + size)
      chunks = chunks.subarray(4 + size)
      const reader = new Reader(frame)
      const { resolve: done, correlationId } = pending
      pending = null
      if (reader.int32() !== correlationId) fail(new Error('correlation id mismatch'))
      else done(reader)
    })
    socket.on('connect', () =>
      resolve({
        send(apiKey, version, body) {
          return new Promise((res, rej) => {
            correlation += 1
            pending = { resolve: res, reject: rej, correlationId: correlation }
            socket.write(encodeRequest(apiKey, version, correlation, body))
          })
        },
        close: () => {
          socket.removeAllListeners('close')
          socket.destroy()
        },
      }),
    )
  })
}

/**
 * Asks host:port for ApiVersions (v0: every broker answers it) and then Metadata for no
 * topics. Resolves { apiVersions: Map<apiKey, [min, max]>, clusterId, controllerId,
 * brokers: [{ nodeId, host, port }] }; rejects if the broker does not answer.
 */
export async function probeKafka(host, port, { timeoutMs = 3000 } = {}) {
  const conn = await kafkaConnection(host, port, timeoutMs)
  try {
    const versions = await conn.send(API_VERSIONS, 0, Buffer.alloc(0))
    const errorCode = versions.int16()
    if (errorCode !== 0) throw new Error(`ApiVersions error ${errorCode}`)
    const apiVersions = new Map()
    for (let n = versions.int32(); n > 0; n--) {
      const key = versions.int16()
      apiVersions.set(key, [versions.int16(), versions.int16()])
    }
    // Metadata v4: inside every broker's range since Kafka 1.0 (4.3.1 serves 0..13) and
    // older than flexible versions (v9+), so no tagged fields. Still checked, not assumed.
    const [min, max] = apiVersions.get(API_METADATA) || [99, -1]
    if (min > 4 || max < 4) throw new Error(`broker does not serve Metadata v4 (range ${min}..${max})`)
    const body = Buffer.alloc(5)
    body.writeInt32BE(0, 0) // topics: empty array (null would mean "all topics")
    body.writeInt8(0, 4) // allow_auto_topic_creation: false
    const metadata = await conn.send(API_METADATA, 4, body)
    metadata.int32() // throttle_time_ms
    const brokers = []
    for (let n = metadata.int32(); n > 0; n--) {
      const nodeId = metadata.int32()
      const brokerHost = metadata.string()
      const brokerPort = metadata.int32()
      metadata.string() // rack
      brokers.push({ nodeId, host: brokerHost, port: brokerPort })
    }
    const clusterId = metadata.string()
    const controllerId = metadata.int32()
    return { apiVersions, clusterId, controllerId, brokers: brokers.sort((a, b) => a.nodeId - b.nodeId) }
  } finally {
    conn.close()
  }
}

/** True when the node answers and its Metadata lists every id in `expectNodeIds`. */
async function nodeAnswers(port, expectNodeIds, timeoutMs = 3000) {
  try {
    const { brokers } = await probeKafka(HOST, port, { timeoutMs })
    return expectNodeIds.every((id) => brokers.some((b) => b.nodeId === id))
  } catch {
    return false
  }
}

// ---------------------------------------------------------------------------------------
// TLS material for the `secure` mode: a test CA and a broker certificate signed by it
// (rustls/webpki reject a self-signed leaf used as its own trust anchor). Made once with
// keytool and cached, since it costs several JVM starts; valid for ten years.

async function ensureTls(quiet) {
  const dir = path.join(cacheRoot(), 'kafka', TLS_RECIPE)
  const files = {
    dir,
    caFile: path.join(dir, 'ca.pem'),
    keystore: path.join(dir, 'broker.p12'),
    truststore: path.join(dir, 'truststore.p12'),
    password: TLS_PASSWORD,
  }
  if (fs.existsSync(path.join(dir, '.complete'))) return files

  log(quiet, `making a test CA and broker certificate with keytool (once; cached in ${dir})`)
  const keytool = jdkTool('keytool')
  fs.mkdirSync(path.dirname(dir), { recursive: true })
  const work = fs.mkdtempSync(`${dir}.partial-`)
  const p = (name) => path.join(work, name)
  const store = (file) => ['-keystore', p(file), '-storetype', 'PKCS12', '-storepass', TLS_PASSWORD]
  const san = 'SAN=DNS:localhost,IP:127.0.0.1'
  const steps = [
    // CA: basicConstraints CA:true and keyCertSign, as webpki requires of a trust anchor.
    [
      '-genkeypair',
      '-alias',
      'ca',
      '-keyalg',
      'RSA',
      '-keysize',
      '2048',
      '-validity',
      '3650',
      '-dname',
      'CN=nkafka test CA',
      '-ext',
      'BC:c=ca:true',
      '-ext',
      'KU:c=keyCertSign,cRLSign',
      ...store('ca.p12'),
    ],
    ['-exportcert', '-rfc', '-alias', 'ca', '-file', p('ca.pem'), ...store('ca.p12')],
    [
      '-genkeypair',
      '-alias',
      'broker',
      '-keyalg',
      'RSA',
      '-keysize',
      '2048',
      '-validity',
      '3650',
      '-dname',
      'CN=localhost',
      '-ext',
      san,
      ...store('broker.p12'),
    ],
    ['-certreq', '-alias', 'broker', '-file', p('broker.csr'), ...store('broker.p12')],
    [
      '-gencert',
      '-alias',
      'ca',
      '-infile',
      p('broker.csr'),
      '-outfile',
      p('broker.pem'),
      '-rfc',
      '-validity',
      '3650',
      '-ext',
      san,
      '-ext',
      'KU:c=digitalSignature,keyEncipherment',
      '-ext',
      'EKU=serverAuth,clientAuth',
      ...store('ca.p12'),
    ],
    // The broker keystore holds the chain: import the CA first, then the signed leaf.
    ['-importcert', '-noprompt', '-alias', 'ca', '-file', p('ca.pem'), ...store('broker.p12')],
    ['-importcert', '-noprompt', '-alias', 'broker', '-file', p('broker.pem'), ...store('broker.p12')],
    ['-importcert', '-noprompt', '-alias', 'ca', '-file', p('ca.pem'), ...store('truststore.p12')],
  ]
  for (const args of steps) {
    const result = await run(keytool, args)
    if (result.code !== 0) {
      fs.rmSync(work, { recursive: true, force: true })
      const why = `${result.stderr}${result.stdout.toString('utf8')}`.trim().split('\n')[0]
      throw new KafkaScriptError(`keytool ${args[0]} failed: ${why}`)
    }
  }
  fs.writeFileSync(p('.complete'), `${new Date().toISOString()}\n`)
  fs.rmSync(dir, { recursive: true, force: true }) // an incomplete leftover, if any
  try {
    fs.renameSync(work, dir)
  } catch {
    fs.rmSync(work, { recursive: true, force: true }) // a concurrent run made it first
  }
  return files
}

// ---------------------------------------------------------------------------------------
// Broker configuration

function listenerPlan(mode) {
  // Client listeners first (their order defines --port's consecutive ports), then the
  // controller listener. Inter-broker and controller traffic stay on PLAINTEXT.
  return mode === 'secure' ? ['PLAINTEXT', 'SASL_PLAINTEXT', 'SSL', 'SASL_SSL'] : ['PLAINTEXT']
}

function nodeCount(mode) {
  return mode === 'cluster' ? 3 : 1
}

function brokerConfig({ mode, node, nodes, tls, autoCreateTopics }) {
  const listeners = listenerPlan(mode)
  const replication = mode === 'cluster' ? 3 : 1
  const minIsr = mode === 'cluster' ? 2 : 1
  const protocolMap = ['CONTROLLER:PLAINTEXT', ...listeners.map((l) => `${l}:${l}`)].join(',')
  const config = {
    'process.roles': 'broker,controller',
    'node.id': node.nodeId,
    // Static voters (KIP-595 style) behave the same from Kafka 3.3 to 4.x and need no
    // --standalone/--initial-controllers at format time.
    'controller.quorum.voters': nodes.map((n) => `${n.nodeId}@${HOST}:${n.controllerPort}`).join(','),
    'controller.listener.names': 'CONTROLLER',
    listeners: [...listeners.map((l) => `${l}://${HOST}:${node.ports[l]}`), `CONTROLLER://${HOST}:${node.controllerPort}`].join(','),
    'advertised.listeners': listeners.map((l) => `${l}://${HOST}:${node.ports[l]}`).join(','),
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': protocolMap,
    'log.dirs': node.dataDir,

    // Test tuning: no waiting, small footprints.
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': autoCreateTopics,
    'num.partitions': 1,
    'default.replication.factor': replication,
    'min.insync.replicas': minIsr,
    'offsets.topic.replication.factor': replication,
    'transaction.state.log.replication.factor': replication,
    'transaction.state.log.min.isr': minIsr,
    'share.coordinator.state.topic.replication.factor': replication,
    'share.coordinator.state.topic.min.isr': minIsr,
    // A broker killed with SIGKILL cannot register again until its old session expires
    // (DUPLICATE_BROKER_REGISTRATION until then), and a dead partition leader is only
    // replaced after it. The 9 s default made every crash test wait; 4 s still tolerates
    // a long GC pause on a busy 2-core machine.
    'broker.heartbeat.interval.ms': 1000,
    'broker.session.timeout.ms': 4000,
    // The log cleaner allocates its dedupe buffer (128 MB by default) up front on the
    // heap; 32 MB leaves room in a 512 MB heap and is plenty for test-sized compaction.
    'log.cleaner.dedupe.buffer.size': 32 * 1024 * 1024,
  }
  if (mode === 'secure') {
    Object.assign(config, {
      'sasl.enabled.mechanisms': SASL_MECHANISMS.join(','),
      'ssl.keystore.type': 'PKCS12',
      'ssl.keystore.location': tls.keystore,
      'ssl.keystore.password': tls.password,
      'ssl.key.password': tls.password,
    })
    const { username, password } = SASL_USER
    for (const listener of ['sasl_plaintext', 'sasl_ssl']) {
      const prefix = `listener.name.${listener}`
      config[`${prefix}.plain.sasl.jaas.config`] =
        `org.apache.kafka.common.security.plain.PlainLoginModule required user_${username}="${password}";`
      for (const scram of ['scram-sha-256', 'scram-sha-512']) {
        // SCRAM credentials live in the cluster metadata (added at format time).
        config[`${prefix}.${scram}.sasl.jaas.config`] = 'org.apache.kafka.common.security.scram.ScramLoginModule required;'
      }
      // No validator callback configured: the broker accepts unsecured JWS tokens
      // (alg "none"), which is what OAUTHBEARER tests without an identity provider need.
      config[`${prefix}.oauthbearer.sasl.jaas.config`] =
        'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="broker";'
    }
  }
  return config
}

function randomClusterId() {
  // 16 random bytes, base64url without padding; Kafka refuses ids starting with '-'.
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

function brokerJvmArgs(node, heap) {
  return [
    ...heap.split(/\s+/).filter(Boolean),
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dkafka.logs.dir=${node.logDir}`,
    `-Dlog4j2.configurationFile=${node.log4jFile}`,
  ]
}

// ---------------------------------------------------------------------------------------
// State

function readState(mode) {
  try {
    const state = JSON.parse(fs.readFileSync(statePath(mode), 'utf8'))
    return state.format === STATE_FORMAT ? state : null
  } catch {
    return null
  }
}

function writeState(state) {
  const file = statePath(state.mode)
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`)
  fs.renameSync(tmp, file)
}

function nodeAlive(node) {
  return pidAlive(node.pid, node.propsFile)
}

/** A lock per mode, so that vitest and a developer's CLI never start the same mode twice. */
async function withLock(mode, fn, timeoutMs = START_TIMEOUT_MS * 2) {
  const file = lockPath(mode)
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' })
      break
    } catch (error) {
      if (error.code !== 'EEXIST') throw error
      let holder = 0
      let age = 0
      try {
        holder = Number(fs.readFileSync(file, 'utf8') || 0)
        age = Date.now() - fs.statSync(file).mtimeMs
      } catch {
        continue // released meanwhile
      }
      // An empty lock file is one being written right now, unless it is old.
      if (!holder && age < 5000) {
        await sleep(50)
        continue
      }
      if (!pidAlive(holder)) {
        fs.rmSync(file, { force: true }) // left by a process that died holding it
        continue
      }
      if (Date.now() > deadline) {
        throw new KafkaScriptError(`another process (pid ${holder}) is still starting or stopping the ${mode} broker (${file})`)
      }
      await sleep(200)
    }
  }
  try {
    return await fn()
  } finally {
    fs.rmSync(file, { force: true })
  }
}

/** Kills every node of a state (SIGTERM, then SIGKILL after a bound), removes its files. */
async function teardown(state, { graceMs = STOP_GRACE_MS } = {}) {
  const alive = state.brokers.filter(nodeAlive)
  for (const node of alive) {
    try {
      process.kill(node.pid, 'SIGTERM')
    } catch {
      // already gone
    }
  }
  await Promise.all(
    alive.map(async (node) => {
      if (!(await waitForExit(node.pid, node.propsFile, graceMs))) {
        try {
          process.kill(node.pid, 'SIGKILL')
        } catch {
          // already gone
        }
        await waitForExit(node.pid, node.propsFile, 5000)
      }
    }),
  )
  // Only remove what this script created: a temp dir with our prefix.
  if (state.dir && path.basename(state.dir).startsWith(`nkafka-kafka-${state.mode}-`)) {
    fs.rmSync(state.dir, { recursive: true, force: true })
  }
  if (readState(state.mode)?.dir === state.dir) fs.rmSync(statePath(state.mode), { force: true })
}

// ---------------------------------------------------------------------------------------
// Starting and stopping

function spawnNode(node) {
  const out = fs.openSync(node.consoleLog, 'a')
  try {
    // Detached, own process group, stdio to a file: the broker outlives the CLI that
    // started it and ignores the terminal's Ctrl-C meant for a test runner.
    const child = spawn(node.command[0], node.command.slice(1), {
      cwd: node.dir,
      detached: true,
      stdio: ['ignore', out, out],
    })
    child.unref()
    return child
  } finally {
    fs.closeSync(out)
  }
}

function earlyExitError(mode, node, code, signal) {
  // server.log has Kafka's own account; console.log has what the JVM printed before log4j
  // was up (bad JVM flags, out of memory) and errors copied from log4j.
  const logFile = tail(node.serverLog, 1) ? node.serverLog : node.consoleLog
  return new KafkaScriptError(
    `Kafka ${mode} node ${node.nodeId} exited during start (${signal || `exit code ${code}`}); log: ${logFile}\n${tail(logFile, 30) || '(no log output)'}`,
  )
}

/** The interesting line of a Java tool's failure output: the exception, not the stack. */
function javaFailureLine(output) {
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('at ') && !/^\.\.\. \d+ more/.test(line))
  return (lines.findLast((line) => /Exception|Error/.test(line)) ?? lines.at(-1) ?? '').replace(/^Exception in thread "main" /, '')
}

/** Waits until each node answers and lists all `expectIds` brokers; fails fast on exit. */
async function waitUntilReady(state, nodes, children, expectIds, timeoutMs) {
  let exited = null
  for (const [i, child] of children.entries()) {
    child.once('exit', (code, signal) => {
      exited ??= { node: nodes[i], code, signal }
    })
    child.once('error', (error) => {
      exited ??= { node: nodes[i], code: error.code, signal: null }
    })
  }
  const deadline = Date.now() + timeoutMs
  const pending = new Set(nodes)
  while (pending.size) {
    if (exited) throw earlyExitError(state.mode, exited.node, exited.code, exited.signal)
    for (const node of [...pending]) {
      if (await nodeAnswers(node.port, expectIds, 2000)) pending.delete(node)
    }
    if (!pending.size) break
    if (Date.now() > deadline) {
      const node = [...pending][0]
      throw new KafkaScriptError(
        `Kafka ${state.mode} did not answer on ${HOST}:${node.port} within ${Math.round(timeoutMs / 1000)} s; see ${node.serverLog}\n${tail(node.serverLog, 15)}`,
      )
    }
    await sleep(200)
  }
}

function publicView(state) {
  // The handle a caller gets: the saved state plus non-enumerable methods, so that it
  // still serializes to exactly the state file's JSON.
  const handle = structuredClone(state)
  if (state.caFile && fs.existsSync(state.caFile)) handle.caPem = fs.readFileSync(state.caFile, 'utf8')
  return handle
}

function attachStop(handle, ownsBroker) {
  Object.defineProperty(handle, 'stop', {
    enumerable: false,
    // A reused broker belongs to whoever started it (often a developer's CLI): leave it
    // running. stopKafka(mode) stops it regardless.
    value: async ({ force = false } = {}) => {
      if (ownsBroker || force) await stopKafka(handle.mode, { dir: handle.dir })
    },
  })
  return handle
}

function normalizeOverrides(overrides) {
  if (Array.isArray(overrides)) {
    return Object.fromEntries(
      overrides.map((pair) => {
        const eq = pair.indexOf('=')
        if (eq <= 0) throw new KafkaScriptError(`--override expects key=value, got "${pair}"`)
        return [pair.slice(0, eq), pair.slice(eq + 1)]
      }),
    )
  }
  return Object.fromEntries(Object.entries(overrides || {}).map(([k, v]) => [k, String(v)]))
}

/**
 * Starts (or reuses) a local Kafka of the given mode and resolves once a client can talk
 * to it.
 *
 * options:
 *   mode             'single' | 'cluster' | 'secure'
 *   fresh            stop a running broker of this mode and start a new one
 *   overrides        { key: value } (or ['key=value']) server properties, applied last
 *   autoCreateTopics auto.create.topics.enable (default true)
 *   port             first port of a consecutive range to use instead of free ports
 *   heap             JVM heap flags (default KAFKA_HEAP_OPTS or '-Xms256m -Xmx512m')
 *   timeoutMs        readiness timeout (default 90 s)
 *   quiet            no progress lines on stderr
 *
 * Resolves the handle described in docs/KAFKA-LOCAL.md: { mode, bootstrap, brokers,
 * listeners, caFile, caPem, credentials, dir, reused, timings, ..., stop() }.
 */
export async function startKafka({
  mode = 'single',
  fresh = false,
  overrides = {},
  autoCreateTopics = true,
  port,
  heap = process.env.KAFKA_HEAP_OPTS || DEFAULT_HEAP,
  timeoutMs = START_TIMEOUT_MS,
  quiet = false,
} = {}) {
  if (!MODES.includes(mode)) throw new KafkaScriptError(`unknown mode "${mode}" (expected ${MODES.join(', ')})`)
  const serverOverrides = normalizeOverrides(overrides)
  // What this start asks for: a running broker is reused only if it was started the same way.
  const wanted = { kafkaVersion: KAFKA_VERSION, overrides: serverOverrides, autoCreateTopics, heap, port: port ?? null }

  return withLock(mode, async () => {
    const previous = readState(mode)
    if (previous) {
      const sameSetup = JSON.stringify(previous.wanted) === JSON.stringify(wanted)
      const alive = previous.brokers.every(nodeAlive)
      const ids = previous.brokers.map((b) => b.nodeId)
      if (!fresh && sameSetup && alive && (await Promise.all(previous.brokers.map((b) => nodeAnswers(b.port, ids)))).every(Boolean)) {
        log(quiet, `reusing the running ${mode} broker (${previous.bootstrap}); pass --fresh for a new one`)
        return attachStop({ ...publicView(previous), reused: true }, false)
      }
      const why = fresh ? 'fresh start asked' : !alive ? 'a previous run died' : !sameSetup ? 'other settings asked' : 'it does not answer'
      log(quiet, `cleaning up the previous ${mode} run (${why})`)
      await teardown(previous)
    }
    const state = await launch({ mode, serverOverrides, autoCreateTopics, heap, port, timeoutMs, quiet, wanted })
    return attachStop({ ...publicView(state), reused: false }, true)
  })
}

async function launch({ mode, serverOverrides, autoCreateTopics, heap, port, timeoutMs, quiet, wanted }) {
  const t0 = Date.now()
  const { java } = findJava()
  await ensureJars({ quiet })
  const tls = mode === 'secure' ? await ensureTls(quiet) : null
  const tJars = Date.now()

  const listeners = listenerPlan(mode)
  const count = nodeCount(mode)
  const portsNeeded = count * (listeners.length + 1)
  let ports
  if (port != null) {
    ports = Array.from({ length: portsNeeded }, (_, i) => Number(port) + i)
    await assertPortsFree(ports)
  } else {
    ports = await freePorts(portsNeeded)
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `nkafka-kafka-${mode}-`))
  const classpath = path.join(jarDir('broker'), '*')
  const nodes = Array.from({ length: count }, (_, i) => {
    const nodeId = i + 1
    const nodeDir = path.join(dir, `node-${nodeId}`)
    const nodePorts = Object.fromEntries(listeners.map((l, j) => [l, ports[i * listeners.length + j]]))
    return {
      nodeId,
      host: HOST,
      port: nodePorts.PLAINTEXT,
      ports: nodePorts,
      controllerPort: ports[count * listeners.length + i],
      pid: null,
      dir: nodeDir,
      dataDir: path.join(nodeDir, 'data'),
      logDir: path.join(nodeDir, 'logs'),
      serverLog: path.join(nodeDir, 'logs', 'server.log'),
      consoleLog: path.join(nodeDir, 'console.log'),
      propsFile: path.join(nodeDir, 'server.properties'),
      log4jFile: path.join(nodeDir, 'log4j2.properties'),
    }
  })
  for (const node of nodes) {
    fs.mkdirSync(node.logDir, { recursive: true })
    fs.copyFileSync(path.join(TEMPLATES, 'log4j2.properties'), node.log4jFile)
    const config = { ...brokerConfig({ mode, node, nodes, tls, autoCreateTopics }), ...serverOverrides }
    fs.writeFileSync(node.propsFile, `# written by scripts/kafka.mjs (${mode}, node ${node.nodeId})\n${toJavaProperties(config)}`)
    node.command = [java, ...brokerJvmArgs(node, heap), '-cp', classpath, 'kafka.Kafka', node.propsFile]
  }

  const clusterId = randomClusterId()
  const listenerAddrs = Object.fromEntries(listeners.map((l) => [l, nodes.map((n) => `${HOST}:${n.ports[l]}`).join(',')]))
  const state = {
    format: STATE_FORMAT,
    mode,
    kafkaVersion: KAFKA_VERSION,
    clusterId,
    bootstrap: listenerAddrs.PLAINTEXT,
    listeners: listenerAddrs,
    brokers: nodes,
    dir,
    caFile: tls ? tls.caFile : null,
    truststore: tls ? { location: tls.truststore, password: tls.password, type: 'PKCS12' } : null,
    credentials: mode === 'secure' ? { ...SASL_USER, mechanisms: SASL_MECHANISMS } : null,
    wanted,
    startedAt: new Date().toISOString(),
    startedBy: process.pid,
    timings: null,
  }
  // Saved before anything runs, so that a crash from here on leaves a state that the next
  // start (or stop) knows how to clean.
  writeState(state)

  try {
    log(quiet, `formatting KRaft storage for ${count} node${count > 1 ? 's' : ''} in ${dir}`)
    const scram =
      mode === 'secure'
        ? ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => [
            '--add-scram',
            `${m}=[name=${SASL_USER.username},password=${SASL_USER.password}]`,
          ])
        : []
    await Promise.all(
      nodes.map(async (node) => {
        const result = await run(java, [
          ...FAST_START_JVM_ARGS,
          TOOLS_LOG_CONFIG,
          '-cp',
          classpath,
          'kafka.tools.StorageTool',
          'format',
          '-t',
          clusterId,
          '-c',
          node.propsFile,
          ...scram,
        ])
        if (result.code !== 0) {
          const output = `${result.stdout.toString('utf8')}${result.stderr}`
          throw new KafkaScriptError(`formatting node ${node.nodeId} failed (exit ${result.code}): ${javaFailureLine(output)}`)
        }
      }),
    )
    const tFormat = Date.now()

    log(quiet, `starting ${mode} Kafka ${KAFKA_VERSION} (${nodes.map((n) => `node ${n.nodeId} on ${n.port}`).join(', ')})`)
    const children = nodes.map((node) => {
      const child = spawnNode(node)
      node.pid = child.pid
      return child
    })
    writeState(state)
    await waitUntilReady(
      state,
      nodes,
      children,
      nodes.map((n) => n.nodeId),
      timeoutMs,
    )
    const tReady = Date.now()
    state.timings = { jarsMs: tJars - t0, formatMs: tFormat - tJars, startMs: tReady - tFormat, totalMs: tReady - t0 }
    writeState(state)
    log(quiet, `${mode} broker ready at ${state.bootstrap} in ${((tReady - t0) / 1000).toFixed(1)} s`)
    return state
  } catch (error) {
    // Stop what was started but keep the directory for its logs; the state file stays so
    // that the next start or stop cleans it up.
    for (const node of nodes) {
      if (nodeAlive(node)) process.kill(node.pid, 'SIGKILL')
    }
    state.failed = String(error.message).split('\n')[0]
    writeState(state)
    throw error
  }
}

/**
 * Stops the broker of `mode` (all modes if omitted): SIGTERM, then SIGKILL after a bound;
 * removes its temp dir and state file. Resolves the list of modes that were stopped.
 */
export async function stopKafka(mode, { dir } = {}) {
  const modes = mode ? [mode] : MODES
  const stopped = []
  for (const m of modes) {
    if (!MODES.includes(m)) throw new KafkaScriptError(`unknown mode "${m}" (expected ${MODES.join(', ')})`)
    await withLock(m, async () => {
      const state = readState(m)
      if (!state || (dir && state.dir !== dir)) return
      await teardown(state)
      stopped.push(m)
    })
  }
  return stopped
}

/** The state of each mode that has one: alive pids and whether it answers. */
export async function kafkaStatus() {
  const out = []
  for (const mode of MODES) {
    const state = readState(mode)
    if (!state) continue
    const nodes = await Promise.all(
      state.brokers.map(async (b) => ({
        nodeId: b.nodeId,
        pid: b.pid,
        port: b.port,
        alive: nodeAlive(b),
        answers: await nodeAnswers(b.port, [b.nodeId], 2000),
      })),
    )
    out.push({
      mode,
      bootstrap: state.bootstrap,
      listeners: state.listeners,
      dir: state.dir,
      startedAt: state.startedAt,
      failed: state.failed ?? null,
      nodes,
    })
  }
  return out
}

/** The saved state of a running mode (the same shape startKafka resolves), or null. */
export function kafkaState(mode = 'single') {
  const state = readState(mode)
  return state ? publicView(state) : null
}

function findNode(state, nodeId) {
  const node = state.brokers.find((b) => b.nodeId === nodeId)
  if (!node)
    throw new KafkaScriptError(`no node ${nodeId} in the ${state.mode} broker (nodes: ${state.brokers.map((b) => b.nodeId).join(', ')})`)
  return node
}

function saveNode(state, node) {
  // Update both the caller's object and the state file (which may have moved on).
  const saved = readState(state.mode)
  if (saved && saved.dir === state.dir) {
    saved.brokers = saved.brokers.map((b) => (b.nodeId === node.nodeId ? { ...b, pid: node.pid } : b))
    writeState(saved)
  }
}

/**
 * SIGKILLs one node of a running broker (a crash, not a clean shutdown) and waits until it
 * is gone. Its data dir, port and config stay, for restartBroker. `state` is the handle
 * from startKafka (or kafkaState()); its broker pid is updated in place.
 */
export async function killBroker(state, nodeId = 1) {
  const node = findNode(state, nodeId)
  if (nodeAlive(node)) {
    process.kill(node.pid, 'SIGKILL')
    if (!(await waitForExit(node.pid, node.propsFile, 10_000))) {
      throw new KafkaScriptError(`node ${nodeId} (pid ${node.pid}) did not die after SIGKILL`)
    }
  }
  node.pid = null
  saveNode(state, node)
}

/**
 * Starts one node again in place, same command line, port, config and data dir (after
 * killBroker, or kills it first if it is still running), and waits until it answers and
 * lists itself as a live broker. Resolves the node's entry with its new pid.
 */
export async function restartBroker(state, nodeId = 1, { timeoutMs = START_TIMEOUT_MS } = {}) {
  const node = findNode(state, nodeId)
  if (nodeAlive(node)) await killBroker(state, nodeId)
  fs.appendFileSync(node.consoleLog, `\n--- restarted by kafka.mjs at ${new Date().toISOString()} ---\n`)
  const child = spawnNode(node)
  node.pid = child.pid
  saveNode(state, node)
  await waitUntilReady(state, [node], [child], [nodeId], timeoutMs)
  return node
}

// ---------------------------------------------------------------------------------------
// Oracles: Kafka's own Java client as an independent reader and writer for interop tests.

async function oracleClasses() {
  const { tools } = await ensureJars({ tools: true, quiet: true })
  const sources = ['NkafkaJsonFormatter.java', 'NkafkaProduce.java'].map((f) => path.join(TEMPLATES, 'java', f))
  const hash = createHash('sha256')
  for (const file of sources) hash.update(fs.readFileSync(file))
  const dir = path.join(kafkaCacheDir(), `oracle-${hash.digest('hex').slice(0, 12)}`)
  if (fs.existsSync(path.join(dir, '.complete'))) return dir

  const staging = fs.mkdtempSync(`${dir}.partial-`)
  const result = await run(jdkTool('javac'), ['-nowarn', '-d', staging, '-cp', path.join(tools, '*'), ...sources])
  if (result.code !== 0) {
    fs.rmSync(staging, { recursive: true, force: true })
    throw new KafkaScriptError(`compiling the Java oracle helpers failed: ${result.stderr.trim().split('\n')[0]}`)
  }
  fs.writeFileSync(path.join(staging, '.complete'), '')
  try {
    fs.renameSync(staging, dir)
  } catch {
    fs.rmSync(staging, { recursive: true, force: true })
  }
  return dir
}

function toBuffer(value) {
  if (value == null) return null
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  if (Buffer.isBuffer(value)) return value
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  throw new TypeError(`expected a string, Buffer or Uint8Array, got ${typeof value}`)
}

function headerPairs(headers) {
  if (!headers) return []
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers)
  return pairs.map((h) => (Array.isArray(h) ? h : [h.key, h.value]))
}

function writePropertiesFile(properties) {
  const file = path.join(os.tmpdir(), `nkafka-oracle-${process.pid}-${randomBytes(4).toString('hex')}.properties`)
  fs.writeFileSync(file, toJavaProperties(properties))
  return file
}

/**
 * Produces `records` with the Java client (kafka-clients 4.3.1), one KafkaProducer,
 * acks=all unless `properties` say otherwise. A record is
 *   { key?, value?, headers?, partition?, timestamp? }
 * with key/value/header values as string | Buffer | Uint8Array | null, and headers as
 * [[key, value]], [{ key, value }] or { key: value }. Resolves one { partition, offset,
 * timestamp } per record, in order; rejects if any send fails.
 */
export async function consoleProduce({ bootstrap, topic, records, properties = {}, timeoutMs = 120_000 }) {
  const classes = await oracleClasses()
  const b64 = (v) => {
    const buf = toBuffer(v)
    return buf ? buf.toString('base64') : null
  }
  const input = records
    .map((r) =>
      JSON.stringify({
        key: b64(r.key),
        value: b64(r.value),
        headers: headerPairs(r.headers).map(([k, v]) => [String(k), b64(v)]),
        partition: r.partition ?? null,
        timestamp: r.timestamp ?? null,
      }),
    )
    .join('\n')
  const props = Object.entries(properties).map(([k, v]) => `${k}=${v}`)
  const result = await runJava('tools', 'NkafkaProduce', [bootstrap, topic, ...props], {
    input,
    timeoutMs,
    classpath: [classes],
    jvmArgs: FAST_START_JVM_ARGS,
  })
  if (result.code !== 0) {
    const own = result.stderr.split('\n').findLast((line) => line.startsWith('NkafkaProduce:'))
    const why = result.timedOut ? `timed out after ${timeoutMs} ms` : (own ?? result.stderr.trim().split('\n').slice(-3).join(' | '))
    throw new KafkaScriptError(`Java producer failed for topic ${topic}: ${why}`)
  }
  return result.stdout
    .toString('utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
}

/**
 * Consumes with Kafka's console consumer (org.apache.kafka.tools.consumer.ConsoleConsumer,
 * kafka-tools 4.3.1) and a binary-safe JSON formatter. Stops after `maxMessages` records
 * or when no record arrived for `timeoutMs`. Resolves records
 *   { topic, partition, offset, timestamp, timestampType, leaderEpoch,
 *     key: Buffer|null, value: Buffer|null, headers: [{ key: string, value: Buffer|null }] }
 * in the order the consumer saw them. `properties` are consumer configs (security, ...).
 */
export async function consoleConsume({
  bootstrap,
  topic,
  maxMessages,
  timeoutMs = 10_000,
  fromBeginning = true,
  group,
  partition,
  offset,
  isolationLevel,
  properties = {},
}) {
  const classes = await oracleClasses()
  const args = ['--bootstrap-server', bootstrap, '--topic', topic, '--formatter', 'NkafkaJsonFormatter', '--timeout-ms', String(timeoutMs)]
  if (maxMessages != null) args.push('--max-messages', String(maxMessages))
  if (partition != null) {
    args.push('--partition', String(partition), '--offset', String(offset ?? (fromBeginning ? 'earliest' : 'latest')))
  } else if (fromBeginning) {
    args.push('--from-beginning')
  }
  if (group) args.push('--group', group)
  if (isolationLevel) args.push('--isolation-level', isolationLevel)
  // A properties file, not --command-property k=v: JAAS values contain '=' and quotes.
  const propsFile = Object.keys(properties).length ? writePropertiesFile(properties) : null
  if (propsFile) args.push('--command-config', propsFile)
  try {
    const result = await runJava('tools', 'org.apache.kafka.tools.consumer.ConsoleConsumer', args, {
      classpath: [classes],
      jvmArgs: FAST_START_JVM_ARGS,
      timeoutMs: timeoutMs + 60_000,
    })
    const records = result.stdout
      .toString('utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => {
        const r = JSON.parse(line)
        const buf = (v) => (v == null ? null : Buffer.from(v, 'base64'))
        return {
          ...r,
          key: buf(r.key),
          value: buf(r.value),
          headers: r.headers.map(([k, v]) => ({ key: buf(k).toString('utf8'), value: buf(v) })),
        }
      })
    // The 4.3.1 console consumer exits 0 even when it gives up on an error (an auth
    // failure, say); it only logs "terminating consumer process" and the exception on the
    // next line. A TimeoutException there is the normal end of --timeout-ms.
    const fatal = /terminating consumer process:.*\n(\S+)(.*)/.exec(result.stderr)
    const failure =
      result.code !== 0
        ? `exit ${result.timedOut ? 'after a hard timeout' : result.code}`
        : fatal && !fatal[1].endsWith('.TimeoutException')
          ? `${fatal[1]}${fatal[2]}`
          : null
    if (failure) {
      throw new KafkaScriptError(`console consumer failed for topic ${topic}: ${failure}`)
    }
    return records
  } finally {
    if (propsFile) fs.rmSync(propsFile, { force: true })
  }
}

/** Creates a topic with Kafka's TopicCommand (kafka-tools). */
export async function createTopic({ bootstrap, topic, partitions = 1, replicationFactor, config = {}, properties = {} }) {
  const args = ['--bootstrap-server', bootstrap, '--create', '--if-not-exists', '--topic', topic, '--partitions', String(partitions)]
  if (replicationFactor != null) args.push('--replication-factor', String(replicationFactor))
  for (const [k, v] of Object.entries(config)) args.push('--config', `${k}=${v}`)
  const propsFile = Object.keys(properties).length ? writePropertiesFile(properties) : null
  if (propsFile) args.push('--command-config', propsFile)
  try {
    const result = await runJava('tools', 'org.apache.kafka.tools.TopicCommand', args, { jvmArgs: FAST_START_JVM_ARGS })
    if (result.code !== 0) {
      throw new KafkaScriptError(`creating topic ${topic} failed: ${result.stderr.trim().split('\n').slice(-2).join(' | ')}`)
    }
  } finally {
    if (propsFile) fs.rmSync(propsFile, { force: true })
  }
}

/**
 * Java client properties for one listener of a `secure` broker, e.g.
 * secureClientProperties(kafka, { listener: 'SASL_SSL', mechanism: 'SCRAM-SHA-512' }).
 * Resolves { bootstrap, properties } for consoleProduce/consoleConsume/createTopic.
 */
export function secureClientProperties(state, { listener = 'SASL_SSL', mechanism = 'SCRAM-SHA-512' } = {}) {
  if (!state.listeners[listener]) throw new KafkaScriptError(`the ${state.mode} broker has no ${listener} listener`)
  const properties = { 'security.protocol': listener }
  if (listener.includes('SSL')) {
    Object.assign(properties, {
      'ssl.truststore.location': state.truststore.location,
      'ssl.truststore.password': state.truststore.password,
      'ssl.truststore.type': state.truststore.type,
    })
  }
  if (listener.startsWith('SASL')) {
    const { username, password } = state.credentials
    properties['sasl.mechanism'] = mechanism
    properties['sasl.jaas.config'] =
      mechanism === 'OAUTHBEARER'
        ? `org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="${username}";`
        : mechanism === 'PLAIN'
          ? `org.apache.kafka.common.security.plain.PlainLoginModule required username="${username}" password="${password}";`
          : `org.apache.kafka.common.security.scram.ScramLoginModule required username="${username}" password="${password}";`
  }
  return { bootstrap: state.listeners[listener], properties }
}

// ---------------------------------------------------------------------------------------
// CLI

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
          for (const [name, addr] of Object.entries(kafka.listeners)) process.stderr.write(`  ${name.padEnd(15)} ${addr}\n`)
          process.stderr.write(`  CA (PEM)        ${kafka.caFile}\n`)
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
