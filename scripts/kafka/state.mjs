// The state file of each mode (pids, ports, listeners, TLS paths, the settings it was
// started with) and the lock that serializes starts and stops of one mode.

import fs from 'node:fs'
import { KafkaScriptError, lockPath, pidAlive, START_TIMEOUT_MS, sleep, statePath } from './common.mjs'
import { tlsView } from './tls.mjs'

export const STATE_FORMAT = 1

export function readState(mode) {
  try {
    const state = JSON.parse(fs.readFileSync(statePath(mode), 'utf8'))
    return state.format === STATE_FORMAT ? state : null
  } catch {
    return null
  }
}

export function writeState(state) {
  const file = statePath(state.mode)
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`)
  fs.renameSync(tmp, file)
}

export function nodeAlive(node) {
  return pidAlive(node.pid, node.propsFile)
}

/** A lock per mode, so that vitest and a developer's CLI never start the same mode twice. */
export async function withLock(mode, fn, timeoutMs = START_TIMEOUT_MS * 2) {
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

/**
 * The handle a caller gets: the saved state plus the PEM texts of its TLS files (caPem,
 * tls.*Pem), read now so that the state file keeps paths only. Methods (stop) are added
 * non-enumerable, so that the handle serializes to the state plus those texts.
 */
export function publicView(state) {
  const handle = structuredClone(state)
  if (state.caFile && fs.existsSync(state.caFile)) handle.caPem = fs.readFileSync(state.caFile, 'utf8')
  if (state.tls) handle.tls = tlsView(state.tls)
  return handle
}
