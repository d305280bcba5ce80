/**
 * Logging: the `logger` / `logLevel` options of every client. Entries come from the Rust
 * core (its `tracing` events, routed to this client by `logId`, see crates/node/src/log.rs)
 * and from the TS layer itself (auto-commit failures and the like).
 *
 * Default: level 'warn' to a logger that writes one line per entry to stderr, as librdkafka
 * and KafkaJS do: a client that silently retries an unreachable broker or a failing commit
 * forever is worse than a noisy one. `logLevel: 'off'` turns it off; then the Rust side
 * formats nothing (its static level hint is OFF).
 */
import { describe } from './config'
import { invalidConfig } from './errors'
import { native } from './native'

/** Which part of the client an entry comes from (the `namespace` field of every entry). */
export type LogNamespace = 'connection' | 'producer' | 'consumer' | 'group' | 'protocol' | 'security' | 'admin' | 'client'

/** Fields of an entry: always `namespace` and `clientId`, plus the event's own fields (`cause`, `broker`, ...). */
export type LogFields = Record<string, unknown> & { namespace: LogNamespace; clientId: string }

/** A logger: console, winston and most loggers fit as is; for pino pass `{ warn: (m, f) => pino.warn(f, m), ... }`. */
export interface Logger {
  debug(message: string, fields: LogFields): void
  info(message: string, fields: LogFields): void
  warn(message: string, fields: LogFields): void
  error(message: string, fields: LogFields): void
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'off'

/** The options every client accepts. */
export interface LogConfig {
  /** Where entries go; default: one line per entry on stderr. */
  logger?: Logger
  /** Least severe level logged; default 'warn'. */
  logLevel?: LogLevel
}

const RANK: Record<LogLevel, number> = { off: 0, error: 1, warn: 2, info: 3, debug: 4 }
type EntryLevel = Exclude<LogLevel, 'off'>

/** Field names whose values are never passed to the logger, whatever produced them. */
const SECRET = /password|passphrase|secret|token|credential|authorization|sasl_?bytes/i

const stderrLogger: Logger = {
  debug: (m, f) => writeLine('DEBUG', m, f),
  info: (m, f) => writeLine('INFO', m, f),
  warn: (m, f) => writeLine('WARN', m, f),
  error: (m, f) => writeLine('ERROR', m, f),
}

function writeLine(level: string, message: string, fields: LogFields): void {
  const { namespace, clientId, ...rest } = fields
  const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : ''
  process.stderr.write(`${new Date().toISOString()} nkafka ${level} [${clientId}/${namespace}] ${message}${extra}\n`)
}

/** @internal Checks `logger` / `logLevel` of a config. */
export function checkLogConfig(config: Record<string, unknown>): { logger: Logger; level: LogLevel } {
  const level = config.logLevel ?? 'warn'
  if (typeof level !== 'string' || !(level in RANK)) {
    throw invalidConfig('logLevel', `expected 'debug', 'info', 'warn', 'error' or 'off', got ${describe(level)}`)
  }
  const logger = config.logger ?? stderrLogger
  if (logger === null || typeof logger !== 'object') {
    throw invalidConfig('logger', `expected an object with debug, info, warn and error functions, got ${describe(logger)}`)
  }
  for (const k of ['debug', 'info', 'warn', 'error'] as const) {
    if (typeof (logger as Record<string, unknown>)[k] !== 'function') {
      throw invalidConfig(`logger.${k}`, `expected a function, got ${describe((logger as Record<string, unknown>)[k])}`)
    }
  }
  return { logger: logger as Logger, level: level as LogLevel }
}

/** @internal One client's log: level filter, redaction, and a logger that may throw. */
export class ClientLog {
  /** The id the native config carries (`logId`); 0 when off. */
  readonly id: number
  private rank: number

  constructor(
    private readonly logger: Logger,
    level: LogLevel,
    private readonly clientId: string,
  ) {
    this.rank = RANK[level]
    // Registered even when off would cost nothing on the Rust side, but 'off' is the one
    // setting that promises zero work, so nothing is registered then.
    this.id = this.rank > 0 ? native.registerLogger(() => this.drain(), level) : 0
  }

  /** Whether entries at `level` are logged. */
  enabled(level: EntryLevel): boolean {
    return RANK[level] <= this.rank
  }

  log(level: EntryLevel, namespace: LogNamespace, message: string, fields: Record<string, unknown> = {}): void {
    if (RANK[level] > this.rank) return
    const out: Record<string, unknown> = { namespace, clientId: this.clientId }
    for (const [k, v] of Object.entries(fields)) {
      if (k === 'namespace' || k === 'clientId') continue
      out[k] = SECRET.test(k) ? '[redacted]' : v
    }
    try {
      this.logger[level](message, out as LogFields)
    } catch {
      // A logger that throws must not break the client, and there is nowhere left to
      // report it: dropping this one entry is the only option.
    }
  }

  /** Logs `cause` (an Error or anything thrown) at warn, with its message and code. */
  warnCause(namespace: LogNamespace, message: string, cause: unknown, fields: Record<string, unknown> = {}): void {
    const e = cause as { message?: unknown; code?: unknown }
    const text = typeof e?.message === 'string' ? e.message : String(cause)
    this.log('warn', namespace, message, { ...fields, cause: text, ...(typeof e?.code === 'string' ? { code: e.code } : {}) })
  }

  close(): void {
    if (this.id === 0) return
    this.drain()
    native.unregisterLogger(this.id)
  }

  private drain(): void {
    // Runs as a threadsafe-function callback: it must never throw.
    try {
      for (const e of native.takeLogs(this.id)) this.log(e.level as EntryLevel, e.namespace as LogNamespace, e.message, e.fields)
    } catch {
      // takeLogs only fails if the addon is gone (process teardown).
    }
  }
}

/** @internal A client's log from its config (already checked by `checkLogConfig`). */
export function clientLog(config: Record<string, unknown>, defaultClientId = 'nkafka'): ClientLog {
  const { logger, level } = checkLogConfig(config)
  const clientId = typeof config.clientId === 'string' ? config.clientId : defaultClientId
  return new ClientLog(logger, level, clientId)
}
