// What every part of scripts/kafka.mjs shares: the Kafka version, the error type the CLI
// reports, where files live, and small process helpers. Only node: builtins.

import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const KAFKA_VERSION = '4.3.1'
export const MODES = ['single', 'cluster', 'secure']

/** scripts/kafka/: this file's directory, which also holds the pom, log configs and Java helpers. */
export const TEMPLATES = path.dirname(fileURLToPath(import.meta.url))
const REPO_ROOT = path.resolve(TEMPLATES, '..', '..')
export const HOST = '127.0.0.1'

export const DEFAULT_HEAP = '-Xms256m -Xmx512m'
export const START_TIMEOUT_MS = 90_000
export const STOP_GRACE_MS = 15_000

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
export function cacheRoot() {
  return path.resolve(process.env.NKAFKA_CACHE_DIR || path.join(REPO_ROOT, '.cache'))
}

export function kafkaCacheDir() {
  return path.join(cacheRoot(), 'kafka', KAFKA_VERSION)
}

export function jarDir(kind) {
  return path.join(kafkaCacheDir(), kind)
}

// State files live in the OS temp dir next to the runs they describe: a reboot that wipes
// the temp dir wipes both together, so a state file never points at vanished data.
export function statePath(mode) {
  return path.join(os.tmpdir(), `nkafka-kafka-${mode}.json`)
}

export function lockPath(mode) {
  return path.join(os.tmpdir(), `nkafka-kafka-${mode}.lock`)
}

// ---------------------------------------------------------------------------------------
// Small process helpers

export function which(cmd) {
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
export function run(cmd, args, { input, timeoutMs = 0, env, cwd } = {}) {
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

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** True if `pid` is a live process (not a zombie) whose command line contains `marker`. */
export function pidAlive(pid, marker) {
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

export async function waitForExit(pid, marker, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  while (pidAlive(pid, marker)) {
    if (Date.now() > deadline) return false
    await sleep(100)
  }
  return true
}

export function tail(file, lines = 40) {
  try {
    const text = fs.readFileSync(file, 'utf8').trimEnd()
    return text ? text.split('\n').slice(-lines).join('\n') : ''
  } catch {
    return ''
  }
}

export function log(quiet, message) {
  if (!quiet) process.stderr.write(`kafka: ${message}\n`)
}
