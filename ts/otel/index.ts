/**
 * `nkafka/otel`: OpenTelemetry tracing and metrics for nkafka, following the messaging
 * semantic conventions for Kafka. It subscribes to nkafka's `diagnostics_channel`s
 * (ts/diagnostics.ts), so nothing in the client depends on OpenTelemetry and nothing is
 * paid while it is disabled.
 *
 * - `send()`: a PRODUCER span `send <topic>`; its context is injected into every message's
 *   headers (W3C `traceparent` with the default propagator).
 * - `produce()`: the caller's active context injected into the record's headers; with
 *   `produceSpans`, a PRODUCER span `create <topic>` per record instead, ended at once (the
 *   record's outcome arrives later through onDelivery).
 * - `run()` handlers: a CONSUMER span `process <topic>` per message (or batch), linked to
 *   the context found in the message headers, and active while the handler runs, so spans
 *   the handler makes are its children. With `parentFromMessage` it is also that
 *   context's child.
 * - commits: `commit <group>` spans.
 * - Metrics: `messaging.client.sent.messages`, `messaging.client.consumed.messages`
 *   (counters), `messaging.client.operation.duration` (send, commit) and
 *   `messaging.process.duration` (histograms, seconds).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import {
  type Attributes,
  context,
  type Link,
  type MeterProvider,
  metrics,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  type TracerProvider,
  trace,
} from '@opentelemetry/api'
import type { CommitContext, ProcessContext, ProduceContext, SendContext } from '../diagnostics'

export interface NkafkaInstrumentationConfig {
  /** Default: the global tracer provider. */
  tracerProvider?: TracerProvider
  /** Default: the global meter provider. */
  meterProvider?: MeterProvider
  /** Make each process span a child of the producer's context too, not only linked. */
  parentFromMessage?: boolean
  /**
   * A `create` span per `produce()` call. Off by default: a span per record costs about
   * 10x the fast path's CPU (bench/modes.mjs produce-otel); without it, produce() carries
   * the caller's active span context in the headers, if there is one, and is counted.
   */
  produceSpans?: boolean
}

const NAME = 'nkafka'
const VERSION = '0.1.0'

/** Headers of a produced message (nkafka's `Headers` shapes): set one key. */
const setter: TextMapSetter<{ headers?: unknown }> = {
  set(carrier, key, value) {
    const h = carrier.headers
    if (h === undefined || h === null) carrier.headers = { [key]: value }
    else if (Array.isArray(h)) h.push([key, value])
    else (h as Record<string, unknown>)[key] = value
  },
}

/** Headers of a consumed message: `[key, Buffer | null]` pairs, last one wins. */
const getter: TextMapGetter<Array<[string, Buffer | null]>> = {
  keys: (carrier) => carrier.map(([k]) => k),
  get(carrier, key) {
    for (let i = carrier.length - 1; i >= 0; i--) {
      const [k, v] = carrier[i] as [string, Buffer | null]
      if (k === key) return v === null ? undefined : v.toString()
    }
    return undefined
  },
}

type WithSpan = { [SPAN]?: Span; [STARTED]?: number }
const SPAN = Symbol('nkafka.otel.span')
const STARTED = Symbol('nkafka.otel.started')

export class NkafkaInstrumentation {
  private readonly config: NkafkaInstrumentationConfig
  private handlers: Array<[string, (msg: unknown) => void]> = []

  constructor(config: NkafkaInstrumentationConfig = {}) {
    this.config = config
  }

  /** Starts tracing and measuring every nkafka client in this process. */
  enable(): void {
    if (this.handlers.length > 0) return
    const tracer = (this.config.tracerProvider ?? trace.getTracerProvider()).getTracer(NAME, VERSION)
    const meter = (this.config.meterProvider ?? metrics.getMeterProvider()).getMeter(NAME, VERSION)
    const sent = meter.createCounter('messaging.client.sent.messages', {
      unit: '{message}',
      description: 'Messages handed to the producer',
    })
    const consumed = meter.createCounter('messaging.client.consumed.messages', {
      unit: '{message}',
      description: 'Messages delivered to handlers',
    })
    const operation = meter.createHistogram('messaging.client.operation.duration', { unit: 's', description: 'Send and commit duration' })
    const processing = meter.createHistogram('messaging.process.duration', { unit: 's', description: 'Handler duration' })
    const base = (clientId: string, operationName: string, operationType: string): Attributes => ({
      'messaging.system': 'kafka',
      'messaging.operation.name': operationName,
      'messaging.operation.type': operationType,
      'messaging.client.id': clientId,
    })
    const finish = (ctx: WithSpan & { error?: unknown }, histogram: typeof operation, attrs: Attributes) => {
      const span = ctx[SPAN]
      const seconds = (performance.now() - (ctx[STARTED] ?? performance.now())) / 1000
      const errorType = ctx.error === undefined ? undefined : errorTypeOf(ctx.error)
      const final = errorType === undefined ? attrs : { ...attrs, 'error.type': errorType }
      histogram.record(seconds, final)
      if (span) {
        if (errorType !== undefined) {
          span.setAttribute('error.type', errorType)
          span.setStatus({ code: SpanStatusCode.ERROR, message: String((ctx.error as Error)?.message ?? ctx.error) })
        }
        span.end()
      }
      return final
    }

    this.on('tracing:nkafka:producer:send:start', (raw) => {
      const ctx = raw as SendContext & WithSpan
      const attrs: Attributes = {
        ...base(ctx.clientId, 'send', 'send'),
        'messaging.destination.name': ctx.topic,
        'messaging.batch.message_count': Array.isArray(ctx.messages) ? ctx.messages.length : 0,
      }
      const span = tracer.startSpan(`send ${ctx.topic}`, { kind: SpanKind.PRODUCER, attributes: attrs })
      ctx[SPAN] = span
      ctx[STARTED] = performance.now()
      if (Array.isArray(ctx.messages)) {
        const active = trace.setSpan(context.active(), span)
        for (const m of ctx.messages) if (m !== null && typeof m === 'object') propagation.inject(active, m, setter)
      }
    })
    const sendEnd = (raw: unknown) => {
      const ctx = raw as SendContext & WithSpan
      if (!ctx[SPAN]) return
      const attrs = finish(ctx, operation, { ...base(ctx.clientId, 'send', 'send'), 'messaging.destination.name': ctx.topic })
      sent.add(Array.isArray(ctx.messages) ? ctx.messages.length : 0, attrs)
      ctx[SPAN] = undefined
    }
    this.on('tracing:nkafka:producer:send:asyncEnd', sendEnd)
    // A send that throws before its promise exists ends here instead.
    this.on('tracing:nkafka:producer:send:end', (raw) => {
      if ((raw as SendContext).error !== undefined) sendEnd(raw)
    })

    this.on('nkafka:producer:produce', (raw) => {
      const ctx = raw as ProduceContext
      const attrs: Attributes = { ...base(ctx.clientId, 'create', 'create'), 'messaging.destination.name': ctx.topic }
      if (this.config.produceSpans) {
        const span = tracer.startSpan(`create ${ctx.topic}`, { kind: SpanKind.PRODUCER, attributes: attrs })
        propagation.inject(trace.setSpan(context.active(), span), ctx.options, setter)
        span.end()
      } else if (trace.getActiveSpan() !== undefined) {
        propagation.inject(context.active(), ctx.options, setter)
      }
      sent.add(1, attrs)
    })

    this.on('tracing:nkafka:consumer:process:start', (raw) => {
      const ctx = raw as ProcessContext & WithSpan
      const messages = (ctx.batch ? ctx.batch.messages : [ctx.message]) as Array<{
        headers?: Array<[string, Buffer | null]>
        offset?: bigint
      }>
      const links: Link[] = []
      let parent = context.active()
      for (const m of messages) {
        const carrier = m?.headers
        if (!carrier || carrier.length === 0) continue
        const extracted = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, carrier, getter))
        if (extracted) {
          links.push({ context: extracted })
          if (this.config.parentFromMessage && !ctx.batch) parent = trace.setSpanContext(parent, extracted)
        }
      }
      const attrs: Attributes = {
        ...base(ctx.clientId, 'process', 'process'),
        'messaging.destination.name': ctx.topic,
        'messaging.destination.partition.id': String(ctx.partition),
        ...(ctx.groupId !== null ? { 'messaging.consumer.group.name': ctx.groupId } : {}),
        ...(ctx.batch
          ? { 'messaging.batch.message_count': messages.length }
          : { 'messaging.kafka.offset': Number(messages[0]?.offset ?? -1) }),
      }
      const span = tracer.startSpan(`process ${ctx.topic}`, { kind: SpanKind.CONSUMER, attributes: attrs, links }, parent)
      ctx[SPAN] = span
      ctx[STARTED] = performance.now()
      const active = trace.setSpan(parent, span)
      ctx.within = (fn) => context.with(active, fn)
    })
    const processEnd = (raw: unknown) => {
      const ctx = raw as ProcessContext & WithSpan
      if (!ctx[SPAN]) return
      const attrs: Attributes = {
        ...base(ctx.clientId, 'process', 'process'),
        'messaging.destination.name': ctx.topic,
        ...(ctx.groupId !== null ? { 'messaging.consumer.group.name': ctx.groupId } : {}),
      }
      const final = finish(ctx, processing, attrs)
      consumed.add(ctx.batch ? ctx.batch.messages.length : 1, final)
      ctx[SPAN] = undefined
    }
    this.on('tracing:nkafka:consumer:process:asyncEnd', processEnd)

    this.on('tracing:nkafka:consumer:commit:start', (raw) => {
      const ctx = raw as CommitContext & WithSpan
      const attrs: Attributes = {
        ...base(ctx.clientId, 'commit', 'settle'),
        ...(ctx.groupId !== null ? { 'messaging.consumer.group.name': ctx.groupId } : {}),
      }
      ctx[SPAN] = tracer.startSpan(`commit ${ctx.groupId ?? ''}`.trim(), { kind: SpanKind.CLIENT, attributes: attrs })
      ctx[STARTED] = performance.now()
    })
    this.on('tracing:nkafka:consumer:commit:asyncEnd', (raw) => {
      const ctx = raw as CommitContext & WithSpan
      if (!ctx[SPAN]) return
      finish(ctx, operation, {
        ...base(ctx.clientId, 'commit', 'settle'),
        ...(ctx.groupId !== null ? { 'messaging.consumer.group.name': ctx.groupId } : {}),
      })
      ctx[SPAN] = undefined
    })
  }

  /** Stops; clients go back to publishing to nobody. */
  disable(): void {
    for (const [name, fn] of this.handlers) unsubscribe(name, fn)
    this.handlers = []
  }

  private on(name: string, fn: (msg: unknown) => void): void {
    subscribe(name, fn)
    this.handlers.push([name, fn])
  }
}

/** `error.type`: nkafka's error code where there is one, else the error's class name. */
function errorTypeOf(e: unknown): string {
  const code = (e as { code?: unknown })?.code
  if (typeof code === 'string') return code
  return (e as Error)?.constructor?.name ?? 'Error'
}
