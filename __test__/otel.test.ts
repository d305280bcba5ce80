import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Consumer, Producer } from '../ts/index'
import { NkafkaInstrumentation } from '../ts/otel/index'
import { brokers, createTopic, kafkaScript, uniqueTopic, until } from './helpers'

/**
 * nkafka/otel against the real broker, with the OpenTelemetry SDK's in-memory exporters:
 * spans, the trace context carried in headers (checked with the Java console consumer
 * too), links from consumer spans, and metrics.
 */
const spans = new InMemorySpanExporter()
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 600_000 })
const meterProvider = new MeterProvider({ readers: [reader] })
const instrumentation = new NkafkaInstrumentation({ tracerProvider, meterProvider, produceSpans: true })
const contextManager = new AsyncLocalStorageContextManager()

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  instrumentation.enable()
})
afterAll(async () => {
  instrumentation.disable()
  await meterProvider.shutdown()
  await tracerProvider.shutdown()
  context.disable()
  propagation.disable()
})

async function metric(name: string): Promise<number> {
  await reader.forceFlush()
  const all = metricExporter.getMetrics().at(-1)
  let total = 0
  for (const scope of all?.scopeMetrics ?? []) {
    for (const m of scope.metrics) {
      if (m.descriptor.name !== name) continue
      for (const p of m.dataPoints) total += typeof p.value === 'number' ? p.value : (p.value as { count: number }).count
    }
  }
  return total
}

describe('nkafka/otel', () => {
  it('send() and produce() spans travel in headers; process spans link to them and hold the handler’s spans; metrics count', async () => {
    const topic = uniqueTopic('otel')
    await createTopic(topic, 1)
    const groupId = uniqueTopic('otel-grp')
    spans.reset()
    const p = new Producer({ bootstrapServers: brokers(), clientId: 'otel-producer' })
    await p.send({
      topic,
      messages: [{ value: 'a' }, { value: 'b', headers: [['existing', 'x']] }, { value: 'c', headers: { other: 'y' } }],
    })
    p.produce(topic, null, 'd')
    await p.flush()
    await p.close()

    const send = spans.getFinishedSpans().find((s) => s.name === `send ${topic}`)
    expect(send).toBeDefined()
    expect(send?.kind).toBe(SpanKind.PRODUCER)
    expect(send?.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'send',
      'messaging.destination.name': topic,
      'messaging.batch.message_count': 3,
      'messaging.client.id': 'otel-producer',
    })
    const create = spans.getFinishedSpans().find((s) => s.name === `create ${topic}`)
    expect(create?.kind).toBe(SpanKind.PRODUCER)

    // An independent reader sees the W3C header on the wire, next to the app's own.
    const kafka = await kafkaScript()
    const onWire = await kafka.consoleConsume({ bootstrap: brokers(), topic, maxMessages: 4, timeoutMs: 30_000 })
    const traceparents = onWire.map((r: any) => r.headers.find((h: any) => h.key === 'traceparent')?.value?.toString())
    const sendId = send?.spanContext()
    const createId = create?.spanContext()
    expect(traceparents.slice(0, 3)).toEqual(Array(3).fill(`00-${sendId?.traceId}-${sendId?.spanId}-01`))
    expect(traceparents[3]).toBe(`00-${createId?.traceId}-${createId?.spanId}-01`)
    expect(onWire[1].headers.map((h: any) => h.key)).toEqual(['existing', 'traceparent'])
    expect(onWire[2].headers.map((h: any) => h.key)).toEqual(['other', 'traceparent'])

    const tracer = tracerProvider.getTracer('app')
    const c = new Consumer<Buffer | null, string>(
      { bootstrapServers: brokers(), groupId, clientId: 'otel-consumer', autoOffsetReset: 'earliest', enableAutoCommit: false },
      { valueDeserializer: 'string' },
    )
    await c.subscribe([topic])
    const seen: string[] = []
    const running = c.run({
      eachMessage: async ({ message }) => {
        await new Promise((r) => setTimeout(r, 1))
        tracer.startSpan(`work ${message.value}`).end() // the active span is the process span
        seen.push(message.value)
      },
    })
    await until(() => seen.length === 4, 60_000, 'four messages')
    c.stop()
    await running
    await c.commit()
    await c.close()

    const finished = spans.getFinishedSpans()
    const process = finished.filter((s) => s.name === `process ${topic}`)
    expect(process).toHaveLength(4)
    for (const [i, s] of process.entries()) {
      expect(s.kind).toBe(SpanKind.CONSUMER)
      expect(s.attributes).toMatchObject({
        'messaging.operation.type': 'process',
        'messaging.consumer.group.name': groupId,
        'messaging.destination.partition.id': '0',
        'messaging.kafka.offset': i,
        'messaging.client.id': 'otel-consumer',
      })
      expect(s.links.map((l) => l.context.spanId)).toEqual([i < 3 ? sendId?.spanId : createId?.spanId])
      const work = finished.find((w) => w.name === `work ${seen[i]}`)
      expect(work?.parentSpanContext?.spanId).toBe(s.spanContext().spanId)
    }
    expect(finished.find((s) => s.name === `commit ${groupId}`)?.attributes).toMatchObject({ 'messaging.operation.name': 'commit' })

    expect(await metric('messaging.client.sent.messages')).toBe(4)
    expect(await metric('messaging.client.consumed.messages')).toBe(4)
    expect(await metric('messaging.process.duration')).toBe(4)
    expect(await metric('messaging.client.operation.duration')).toBeGreaterThanOrEqual(2) // the send and the commit
  }, 120_000)

  it('a failed send() and a throwing handler end their spans with an error status and error.type', async () => {
    spans.reset()
    const p = new Producer({ bootstrapServers: brokers() })
    await expect(p.send({ topic: 'bad topic name', messages: [{ value: 'x' }] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await p.close()
    const failed = spans.getFinishedSpans().find((s) => s.name === 'send bad topic name')
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR)
    expect(failed?.attributes['error.type']).toBe('INVALID_ARGUMENT')

    const topic = uniqueTopic('otel-throw')
    await createTopic(topic, 1)
    const q = new Producer({ bootstrapServers: brokers() })
    await q.send({ topic, messages: [{ value: 'boom' }] })
    await q.close()
    const c = new Consumer({ bootstrapServers: brokers(), groupId: uniqueTopic('otel-grp'), autoOffsetReset: 'earliest' })
    await c.subscribe([topic])
    await expect(
      c.run({
        eachMessage: async () => {
          throw new TypeError('handler failed')
        },
      }),
    ).rejects.toThrow('handler failed')
    await c.close()
    const process = spans.getFinishedSpans().find((s) => s.name === `process ${topic}`)
    expect(process?.status.code).toBe(SpanStatusCode.ERROR)
    expect(process?.attributes['error.type']).toBe('TypeError')
  }, 60_000)

  it('the raw channels: rebalance events; after disable() no spans and no headers', async () => {
    const topic = uniqueTopic('otel-off')
    await createTopic(topic, 2)
    const rebalances: any[] = []
    const onRebalance = (m: unknown) => rebalances.push(m)
    subscribe('nkafka:consumer:rebalance', onRebalance)
    instrumentation.disable()
    spans.reset()
    try {
      const p = new Producer({ bootstrapServers: brokers() })
      await p.send({ topic, messages: [{ value: 'plain', partition: 0 }] })
      await p.close()
      const groupId = uniqueTopic('otel-grp')
      const c = new Consumer({ bootstrapServers: brokers(), groupId, autoOffsetReset: 'earliest' })
      await c.subscribe([topic])
      const got: Array<Array<[string, Buffer | null]>> = []
      const running = c.run({
        eachMessage: async ({ message }) => {
          got.push(message.headers)
        },
      })
      await until(() => got.length === 1, 60_000, 'the message')
      c.stop()
      await running
      await c.close()
      expect(got[0]).toEqual([])
      expect(spans.getFinishedSpans()).toEqual([])
      expect(rebalances[0]).toMatchObject({ groupId, type: 'assigned' })
      expect(rebalances[0].partitions.map((x: any) => `${x.topic}/${x.partition}`).sort()).toEqual([`${topic}/0`, `${topic}/1`])
      expect(rebalances.at(-1)).toMatchObject({ groupId, type: 'revoked' })
      expect(rebalances.at(-1).partitions).toHaveLength(2)
    } finally {
      unsubscribe('nkafka:consumer:rebalance', onRebalance)
      instrumentation.enable()
    }
    expect(trace.getActiveSpan()).toBeUndefined()
  }, 60_000)

  it('by default produce() makes no span: it carries the caller’s active span, and nothing without one', async () => {
    const topic = uniqueTopic('otel-produce')
    await createTopic(topic, 1)
    instrumentation.disable()
    const plain = new NkafkaInstrumentation({ tracerProvider, meterProvider })
    plain.enable()
    spans.reset()
    try {
      const p = new Producer({ bootstrapServers: brokers() })
      const outer = tracerProvider.getTracer('app').startSpan('request')
      context.with(trace.setSpan(context.active(), outer), () => p.produce(topic, null, 'inside'))
      outer.end()
      p.produce(topic, null, 'outside')
      await p.flush()
      await p.close()
      expect(spans.getFinishedSpans().map((s) => s.name)).toEqual(['request'])
      const kafka = await kafkaScript()
      const onWire = await kafka.consoleConsume({ bootstrap: brokers(), topic, maxMessages: 2, timeoutMs: 30_000 })
      const id = outer.spanContext()
      expect(onWire[0].headers.map((h: any) => [h.key, h.value.toString()])).toEqual([['traceparent', `00-${id.traceId}-${id.spanId}-01`]])
      expect(onWire[1].headers).toEqual([])
    } finally {
      plain.disable()
      instrumentation.enable()
    }
  }, 60_000)
})
