// Runs one measured process and measures it from outside: /usr/bin/time (GNU time) reports
// the user and system CPU and the peak RSS (max resident set, VmHWM) of the process it
// waited for. Every client, Node or Java or kcat, is measured the same way.

import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { performance } from 'node:perf_hooks'

export const GNU_TIME = '/usr/bin/time'

/** Process groups of the measured processes still running (killed on Ctrl-C). */
const running = new Set()

export function killRunning() {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL')
    } catch {
      // gone already
    }
  }
}

export function haveGnuTime() {
  try {
    fs.accessSync(GNU_TIME, fs.constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * Spawns `cmd args` under GNU time in its own process group. Resolves
 * { code, signal, timedOut, wallMs, userS, sysS, maxRssKB, stdout (tail), stdoutBytes, stderr (tail) }.
 * onLine(line) gets each stderr line (progress). The whole group is killed at timeoutMs.
 */
export function runMeasured(cmd, args, { timeoutMs, env, stdinFile, timeFile, onLine, keepStdout = 64 * 1024 }) {
  return new Promise((resolve) => {
    const stdin = stdinFile ? fs.openSync(stdinFile, 'r') : 'ignore'
    const t0 = performance.now()
    const child = spawn(GNU_TIME, ['-f', '%e %U %S %M', '-o', timeFile, cmd, ...args], {
      stdio: [stdin, 'pipe', 'pipe'],
      env: env ?? process.env,
      detached: true,
    })
    if (typeof stdin === 'number') fs.closeSync(stdin)
    running.add(child.pid)
    let stdout = ''
    let stdoutBytes = 0
    let stderr = ''
    let partial = ''
    child.stdout.on('data', (b) => {
      stdoutBytes += b.length
      if (stdout.length < keepStdout) stdout += b.toString('utf8')
      else stdout = (stdout + b.toString('utf8')).slice(-keepStdout)
    })
    child.stderr.on('data', (b) => {
      const text = partial + b.toString('utf8')
      const lines = text.split('\n')
      partial = lines.pop()
      for (const line of lines) {
        if (onLine && line.startsWith('progress ')) onLine(line)
        else stderr = `${stderr}${line}\n`.slice(-16 * 1024)
      }
    })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {
        // gone already
      }
    }, timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      running.delete(child.pid)
      const wallMs = performance.now() - t0
      let userS = null
      let sysS = null
      let maxRssKB = null
      try {
        // GNU time writes "Command exited with non-zero status N" first when it fails.
        const line = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop()
        const [, u, s, m] = line.split(/\s+/).map(Number)
        userS = u
        sysS = s
        maxRssKB = m
      } catch {
        // killed before time could write
      }
      fs.rmSync(timeFile, { force: true })
      resolve({ code, signal, timedOut, wallMs, userS, sysS, maxRssKB, stdout, stdoutBytes, stderr: (stderr + partial).slice(-4000) })
    })
  })
}

/** Machine facts for the results. */
export function machineInfo() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8')
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? 'unknown'
  const mem = /MemTotal:\s*(\d+) kB/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))?.[1]
  let kernel = ''
  try {
    kernel = fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()
  } catch {}
  let distro = ''
  try {
    distro = /PRETTY_NAME="(.*)"/.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1] ?? ''
  } catch {}
  return {
    nproc: navigatorCpus(),
    cpuModel: model,
    memGB: mem ? Math.round(Number(mem) / 1024 / 1024) : null,
    kernel,
    distro,
    loadAvg: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number),
  }
}

function navigatorCpus() {
  // nproc: CPUs this process may run on.
  try {
    const status = fs.readFileSync('/proc/self/status', 'utf8')
    const list = /Cpus_allowed_list:\s*(.*)/.exec(status)?.[1]
    if (list) {
      return list.split(',').reduce((sum, part) => {
        const [a, b] = part.split('-').map(Number)
        return sum + (b === undefined ? 1 : b - a + 1)
      }, 0)
    }
  } catch {}
  return null
}

export function mkdirp(dir) {
  fs.mkdirSync(dir, { recursive: true })
  return dir
}

export const relative = (from, to) => path.relative(from, to) || '.'
