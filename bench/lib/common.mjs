// Helpers shared by the client scripts that run inside a child process (one client, one
// workload, one process). Only node: builtins here: every client, on any runtime, loads it.

import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'

export const now = () => performance.now()

/** The value after `--name` in this process's arguments, or `dflt`. */
export function flag(name, dflt) {
  const i = process.argv.indexOf(name, 2)
  return i >= 0 ? process.argv[i + 1] : dflt
}
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A pool of distinct random byte strings, cycled through by index. 4096 x 100 bytes spans
 * 400 KB: farther apart than LZ4's 64 KB window, so P2's lz4 sees incompressible data
 * like a run of truly random values would, without allocating N buffers.
 */
export function randomPool(size, count = 4096) {
  const backing = randomBytes(size * count)
  const pool = new Array(count)
  for (let i = 0; i < count; i++) pool[i] = backing.subarray(i * size, (i + 1) * size)
  return pool
}

/** Milliseconds since the epoch with microsecond resolution, comparable across processes. */
export const wallMs = () => performance.timeOrigin + performance.now()

/** E2E values: 100 random bytes whose first 8 hold the produce time (float64 ms since the epoch). */
export function stampValue(buf) {
  buf.writeDoubleLE(wallMs(), 0)
  return buf
}

export function readStamp(buf) {
  return buf.readDoubleLE(0)
}

/** Percentiles of a Float64Array (sorted in place), in ms. */
export function percentiles(samples, count = samples.length) {
  if (count === 0) return null
  const a = samples.subarray(0, count).sort()
  const at = (q) => a[Math.min(count - 1, Math.max(0, Math.ceil(q * count) - 1))]
  let sum = 0
  for (let i = 0; i < count; i++) sum += a[i]
  const r = (x) => Math.round(x * 1000) / 1000
  return { count, p50: r(at(0.5)), p90: r(at(0.9)), p99: r(at(0.99)), p999: r(at(0.999)), max: r(a[count - 1]), mean: r(sum / count) }
}

/** A progress line on stderr at most every `everyMs` (the parent forwards it). */
export function progressReporter(label, total, everyMs = 5000) {
  let last = now()
  return (done) => {
    const t = now()
    if (t - last < everyMs) return
    last = t
    const pct = total ? ` (${Math.floor((done / total) * 100)}%)` : ''
    process.stderr.write(`progress ${label}: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}${pct}\n`)
  }
}

/** CPU of this whole process (all threads) since `from` (a process.cpuUsage() value), in ms. */
export function cpuSince(from) {
  const d = process.cpuUsage(from)
  return { userMs: Math.round(d.user / 1000), sysMs: Math.round(d.system / 1000) }
}

/** The common shape of a throughput result. */
export function throughputResult({ n, elapsedMs, valueSize, cpu, extra = {} }) {
  const secs = elapsedMs / 1000
  return {
    n,
    elapsedMs: Math.round(elapsedMs * 1000) / 1000,
    msgsPerSec: Math.round(n / secs),
    mbPerSec: Math.round(((n * valueSize) / secs / 1e6) * 100) / 100,
    cpuWindow: cpu,
    cpuNsPerMsg: cpu ? Math.round(((cpu.userMs + cpu.sysMs) * 1e6) / n) : null,
    ...extra,
  }
}

/** A promise with its resolve/reject outside, for "the N-th report arrived". */
export function deferred() {
  let resolve
  let reject
  const promise = new Promise((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Rejects after `ms` with a message naming what was waited for. */
export function withTimeout(promise, ms, what) {
  let timer
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      // `what` may be a function, so that counts in the message are read when it fires.
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? what() : what}`)), ms)
      timer.unref?.()
    }),
  ]).finally(() => clearTimeout(timer))
}

/**
 * The E2E driver shared by every client: produces at `rate` msg/s for `durationMs` with
 * `sendDue(count)` (called about once a millisecond with how many messages are due), while
 * the client's consumer calls `onMessage(value)` per record. Latency = receive time minus
 * the time written into the value at produce. Messages produced in the first `warmupMs`
 * are not counted.
 */
export function e2eRecorder({ rate, durationMs, warmupMs }) {
  const expected = Math.ceil((rate * durationMs) / 1000)
  const samples = new Float64Array(expected + 1024)
  let count = 0
  let received = 0
  let startWall = 0
  const done = deferred()
  return {
    expected,
    samples,
    get received() {
      return received
    },
    done: done.promise,
    start() {
      startWall = wallMs()
    },
    onMessage(value) {
      const t = wallMs()
      const stamp = readStamp(value)
      received++
      if (stamp - startWall >= warmupMs && count < samples.length) samples[count++] = t - stamp
      if (received >= expected) done.resolve()
    },
    latency() {
      return percentiles(samples, count)
    },
  }
}

/** Every E2E client hands over the messages due once per tick (100 per tick at 20k msg/s). */
export const E2E_TICK_MS = 5

/** Calls sendDue(k) every tick so that `rate` msg/s leave for `durationMs`; resolves with the count sent. */
export async function paceProducer({ rate, durationMs, sendDue, tickMs = E2E_TICK_MS }) {
  const expected = Math.ceil((rate * durationMs) / 1000)
  const t0 = now()
  let sent = 0
  while (sent < expected) {
    const due = Math.min(expected, Math.floor(((now() - t0) * rate) / 1000)) - sent
    if (due > 0) {
      await sendDue(due)
      sent += due
    }
    await sleep(tickMs)
  }
  return sent
}

/**
 * P3's measurement, the same for every client: one untimed `send(value)` (the topic's
 * metadata, as every client's first send), then `spec.n` sends each awaited before the
 * next, timed one by one. `send` awaits one message's acknowledgement.
 */
export async function measureAwaitEach(spec, send) {
  const { n } = spec
  const values = randomPool(spec.valueSize)
  const mask = values.length - 1
  const lat = new Float64Array(n)
  const progress = progressReporter('sent', n)
  await send(values[0])
  const cpu0 = process.cpuUsage()
  const t0 = now()
  for (let i = 0; i < n; i++) {
    const s = now()
    await send(values[i & mask])
    lat[i] = now() - s
    progress(i)
  }
  const elapsed = now() - t0
  const cpu = cpuSince(cpu0)
  return { ...throughputResult({ n, elapsedMs: elapsed, valueSize: spec.valueSize, cpu }), latency: percentiles(lat) }
}

/**
 * The end of every consume workload (C1, C2): wait until `done` (bounded by the spec's
 * timeout), stop the clock, close the client, report. `seen()` gives the counts so far,
 * `{ count, bytes, firstAt }`, read when the clock stops.
 */
export async function finishConsume(spec, { done, t0, cpu0, seen, close }) {
  await withTimeout(done, spec.timeoutMs, () => `${spec.n} messages (have ${seen().count})`)
  const elapsedMs = now() - t0
  const cpu = cpuSince(cpu0)
  const { count, bytes, firstAt } = seen()
  await close()
  return throughputResult({
    n: count,
    elapsedMs,
    valueSize: spec.valueSize,
    cpu,
    extra: { firstMessageMs: firstAt - t0, valueBytes: bytes },
  })
}
