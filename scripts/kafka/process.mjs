// Running brokers: start (or reuse), stop, status, and the crash-test helpers that kill and
// restart one node in place.

import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {
  DEFAULT_HEAP,
  HOST,
  jarDir,
  KAFKA_VERSION,
  KafkaScriptError,
  log,
  MODES,
  run,
  START_TIMEOUT_MS,
  STOP_GRACE_MS,
  sleep,
  statePath,
  TEMPLATES,
  tail,
  waitForExit,
} from './common.mjs'
import {
  AUTHORIZER,
  brokerConfig,
  brokerJvmArgs,
  listenerPlan,
  nodeCount,
  randomClusterId,
  SASL_MECHANISMS,
  SASL_USER,
  toJavaProperties,
} from './config.mjs'
import { ensureJars, FAST_START_JVM_ARGS, findJava, javaFailureLine, TOOLS_LOG_CONFIG } from './jars.mjs'
import { nodeAnswers } from './probe.mjs'
import { nodeAlive, publicView, readState, STATE_FORMAT, withLock, writeState } from './state.mjs'
import { ensureTls, TLS_RECIPE, tlsState } from './tls.mjs'

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
 * listeners, caFile, caPem, truststore, tls, credentials, dir, reused, timings, ..., stop() }.
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
  // A secure broker started by an older recipe lacks listeners or certificates that tests
  // now expect: it must not be reused.
  if (mode === 'secure') Object.assign(wanted, { listeners: listenerPlan(mode), tls: TLS_RECIPE, authorizer: AUTHORIZER })
  if (mode === 'cluster') Object.assign(wanted, { listeners: listenerPlan(mode) })

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
  // Per node: its listeners, its controller, and the proxy port a PROXIED listener
  // advertises (last, so that --port keeps the older offsets).
  const proxied = listeners.includes('PROXIED')
  const portsNeeded = count * (listeners.length + 1 + (proxied ? 1 : 0))
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
      proxyPort: proxied ? ports[count * (listeners.length + 1) + i] : null,
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
  const listenerAddrs = Object.fromEntries(
    listeners.map((l) => [l, nodes.map((n) => `${HOST}:${l === 'PROXIED' ? n.proxyPort : n.ports[l]}`).join(',')]),
  )
  const state = {
    format: STATE_FORMAT,
    mode,
    kafkaVersion: KAFKA_VERSION,
    clusterId,
    bootstrap: listenerAddrs.PLAINTEXT,
    listeners: listenerAddrs,
    brokers: nodes,
    // What a proxy for the PROXIED listener must do: listen on `listen`, forward to `target`.
    proxies: proxied ? nodes.map((n) => ({ nodeId: n.nodeId, listen: n.proxyPort, target: n.ports.PROXIED })) : null,
    dir,
    caFile: tls ? tls.caFile : null,
    truststore: tls ? { location: tls.truststore, password: tls.password, type: 'PKCS12' } : null,
    tls: tls ? tlsState(tls) : null,
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
  // The handle may be a copy from before another process (an earlier test file) killed and
  // restarted this node: the state file has its current pid. Acting on a stale pid would
  // signal nothing, or someone else's process.
  const saved = readState(state.mode)
  const current = saved && saved.dir === state.dir ? saved.brokers.find((b) => b.nodeId === nodeId) : null
  if (current) node.pid = current.pid
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
 * Shuts one node down cleanly (SIGTERM: controlled shutdown, leaders move first) and waits
 * until it is gone, up to `timeoutMs`. Like killBroker, it can be restarted with
 * restartBroker.
 */
export async function stopBroker(state, nodeId = 1, { timeoutMs = 60_000 } = {}) {
  const node = findNode(state, nodeId)
  if (nodeAlive(node)) {
    process.kill(node.pid, 'SIGTERM')
    if (!(await waitForExit(node.pid, node.propsFile, timeoutMs))) {
      throw new KafkaScriptError(`node ${nodeId} (pid ${node.pid}) did not stop within ${timeoutMs} ms of SIGTERM`)
    }
  }
  node.pid = null
  saveNode(state, node)
}

/** SIGSTOPs one node (a stall: connections stay open, nothing answers). */
export function pauseBroker(state, nodeId = 1) {
  const node = findNode(state, nodeId)
  if (!nodeAlive(node)) throw new KafkaScriptError(`node ${nodeId} is not running`)
  process.kill(node.pid, 'SIGSTOP')
}

/** SIGCONTs a node paused by pauseBroker. */
export function resumeBroker(state, nodeId = 1) {
  const node = findNode(state, nodeId)
  if (!nodeAlive(node)) throw new KafkaScriptError(`node ${nodeId} is not running`)
  process.kill(node.pid, 'SIGCONT')
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
