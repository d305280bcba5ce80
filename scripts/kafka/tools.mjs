// Oracles: Kafka's own Java client as an independent reader and writer for interop tests,
// and the Java client properties for each listener of the secure broker.

import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { KafkaScriptError, kafkaCacheDir, run, TEMPLATES } from './common.mjs'
import { LISTENER_PROTOCOLS, toJavaProperties } from './config.mjs'
import { ensureJars, FAST_START_JVM_ARGS, jdkTool, runJava } from './jars.mjs'

export async function oracleClasses() {
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
 * Sets dynamic configs of a group (share groups: share.auto.offset.reset,
 * share.record.lock.duration.ms, ...) with Kafka's ConfigCommand: the oracle and test
 * set-up for group configs, which nkafka's Admin does not alter.
 */
export async function alterGroupConfig({ bootstrap, group, config, timeoutMs = 60_000 }) {
  const pairs = Object.entries(config).map(([k, v]) => `${k}=${v}`)
  const args = [
    '--bootstrap-server',
    bootstrap,
    '--alter',
    '--entity-type',
    'groups',
    '--entity-name',
    group,
    '--add-config',
    pairs.join(','),
  ]
  const result = await runJava('broker', 'kafka.admin.ConfigCommand', args, { jvmArgs: FAST_START_JVM_ARGS, timeoutMs })
  if (result.code !== 0) {
    throw new KafkaScriptError(`altering the configs of group ${group} failed: ${result.stderr.trim().split('\n').slice(-2).join(' | ')}`)
  }
}

/**
 * Java client properties for one listener of a `secure` broker, e.g.
 * secureClientProperties(kafka, { listener: 'SASL_SSL', mechanism: 'SCRAM-SHA-512' }).
 * MTLS adds the client keystore (the RSA client certificate signed by the test CA);
 * REAUTH is SASL_SSL on the listener whose sessions expire after REAUTH_MS.
 * Returns { bootstrap, properties } for consoleProduce/consoleConsume/createTopic.
 */
export function secureClientProperties(state, { listener = 'SASL_SSL', mechanism = 'SCRAM-SHA-512' } = {}) {
  if (!state.listeners[listener]) throw new KafkaScriptError(`the ${state.mode} broker has no ${listener} listener`)
  const protocol = LISTENER_PROTOCOLS[listener] ?? listener
  const properties = { 'security.protocol': protocol }
  if (protocol.includes('SSL')) {
    Object.assign(properties, {
      'ssl.truststore.location': state.truststore.location,
      'ssl.truststore.password': state.truststore.password,
      'ssl.truststore.type': state.truststore.type,
    })
  }
  if (listener === 'MTLS') {
    const { keystore } = state.tls.client
    Object.assign(properties, {
      'ssl.keystore.location': keystore.location,
      'ssl.keystore.password': keystore.password,
      'ssl.keystore.type': keystore.type,
      'ssl.key.password': keystore.password,
    })
  }
  if (protocol.startsWith('SASL')) {
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
