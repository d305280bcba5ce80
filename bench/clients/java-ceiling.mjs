// The broker's ceiling for perspective: Java ProducerPerformance with large batches
// (batch.size=1048576, linger.ms=50), the most the broker on this machine accepted from a
// client built for throughput. Not a client to compare with: a bound.

import { producerCommand } from './java-perf.mjs'

export const meta = {
  id: 'java-ceiling',
  label: 'broker ceiling (Java ProducerPerformance, large batches)',
  package: null,
  runtime: 'java',
  external: true,
  reference: true,
  workloads: {
    P1: {
      api: 'org.apache.kafka.tools.ProducerPerformance --record-size 100 --throughput -1',
      config: 'acks=1 batch.size=1048576 linger.ms=50; Java defaults otherwise (buffer.memory 32 MiB, max.in.flight 5)',
    },
    'P1-6': { api: 'as P1', config: 'acks=1 batch.size=1048576 linger.ms=50' },
  },
  unsupported: {},
}

export function command(spec, ctx) {
  return producerCommand(spec, ctx, { ceiling: true })
}
