// node-rdkafka 3.6.1 built against Debian's librdkafka-dev (BUILD_LIBRDKAFKA=0), which is
// librdkafka 2.0.2 on Debian 12: older than confluent's 2.15.1, so the two librdkafka rows
// differ by library version too. Polling is node-rdkafka's: setPollInterval from JS.

import { createRequire } from 'node:module'
import { consumeWorkloads, PRODUCE_API, rdkafkaClient } from '../lib/rdkafka.mjs'

const require = createRequire(import.meta.url)
const PKG = 'node-rdkafka'
const impl = rdkafkaClient({ pkg: PKG, clientId: 'bench-node-rdkafka', pollInBackground: false })

const PRODUCE = PRODUCE_API('poll() and wait 1 ms')
const POLL = 'setPollInterval(10)'
export const meta = {
  id: 'node-rdkafka',
  label: 'node-rdkafka',
  package: PKG,
  runtime: 'node',
  workloads: {
    P1: {
      api: PRODUCE,
      config: `acks=1, dr_cb, ${POLL}, librdkafka 2.0.2 defaults otherwise (linger.ms 5, batch.size 1 MB, queue 100k msgs)`,
    },
    'P1-6': { api: PRODUCE, config: 'as P1' },
    P2: { api: PRODUCE, config: `enable.idempotence=true, acks=-1, compression.codec=lz4, partitioner=murmur2_random, ${POLL}` },
    P3: {
      api: 'produce(topic, null, value, null, null, opaque) then await the delivery report of that opaque',
      config: 'acks=1, setPollInterval(1) (its README example of 100 ms would cap this at ~10 ops/s), linger.ms 5 (default)',
    },
    ...consumeWorkloads(POLL),
  },
  unsupported: {},
}

export function extraVersions() {
  return { librdkafka: require(PKG).librdkafkaVersion }
}

export const workloads = {
  P1: impl.produce,
  'P1-6': impl.produce,
  P2: impl.produce,
  P3: impl.sendAwaitRdkafka,
  C1: impl.consumeAssign,
  'C1-6': impl.consumeAssign,
  C2: impl.consumeGroup,
  'C2-6': impl.consumeGroup,
  E2E: impl.e2e,
}
