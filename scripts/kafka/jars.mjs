// Kafka's jars and the JDK: finds Java 17+, fetches the broker and kafka-tools jars with
// Maven once into the cache, and runs Java main classes from them.

import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { stripVTControlCharacters } from 'node:util'
import { jarDir, KAFKA_VERSION, KafkaScriptError, log, run, TEMPLATES, which } from './common.mjs'

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

export function jdkTool(name) {
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

export const TOOLS_LOG_CONFIG = `-Dlog4j2.configurationFile=${path.join(TEMPLATES, 'tools-log4j2.properties')}`

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

/** The interesting line of a Java tool's failure output: the exception, not the stack. */
export function javaFailureLine(output) {
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('at ') && !/^\.\.\. \d+ more/.test(line))
  return (lines.findLast((line) => /Exception|Error/.test(line)) ?? lines.at(-1) ?? '').replace(/^Exception in thread "main" /, '')
}
