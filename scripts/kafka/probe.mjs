// A raw-TCP Kafka probe: ApiVersions v0, then Metadata listing the brokers. It proves that a
// client can really talk to the broker (the listener is bound and the broker has joined the
// metadata quorum and is unfenced), with no client library.

import net from 'node:net'
import { HOST } from './common.mjs'

const API_METADATA = 3
const API_VERSIONS = 18

function encodeRequest(apiKey, apiVersion, correlationId, body) {
  const clientId = Buffer.from('nkafka-probe')
  const header = Buffer.alloc(10)
  header.writeInt16BE(apiKey, 0)
  header.writeInt16BE(apiVersion, 2)
  header.writeInt32BE(correlationId, 4)
  header.writeInt16BE(clientId.length, 8) // request header v1: client_id is a nullable string
  const size = Buffer.alloc(4)
  size.writeInt32BE(header.length + clientId.length + body.length)
  return Buffer.concat([size, header, clientId, body])
}

class Reader {
  constructor(buf) {
    this.buf = buf
    this.pos = 0
  }
  int16() {
    const v = this.buf.readInt16BE(this.pos)
    this.pos += 2
    return v
  }
  int32() {
    const v = this.buf.readInt32BE(this.pos)
    this.pos += 4
    return v
  }
  string() {
    const len = this.int16()
    if (len < 0) return null
    const v = this.buf.toString('utf8', this.pos, this.pos + len)
    this.pos += len
    return v
  }
}

/** Opens a connection and returns send(apiKey, version, body) -> Promise<Reader>. */
function kafkaConnection(host, port, timeoutMs) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port })
    let pending = null
    let chunks = Buffer.alloc(0)
    let correlation = 0
    const fail = (error) => {
      socket.destroy()
      if (pending) pending.reject(error)
      else reject(error)
      pending = null
    }
    socket.setTimeout(timeoutMs, () => fail(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)))
    socket.on('error', fail)
    socket.on('close', () => fail(new Error(`${host}:${port} closed the connection`)))
    socket.on('data', (data) => {
      chunks = Buffer.concat([chunks, data])
      if (chunks.length < 4 || !pending) return
      const size = chunks.readInt32BE(0)
      if (chunks.length < 4 + size) return
      const frame = chunks.subarray(4, 4 + size)
      chunks = chunks.subarray(4 + size)
      const reader = new Reader(frame)
      const { resolve: done, correlationId } = pending
      pending = null
      if (reader.int32() !== correlationId) fail(new Error('correlation id mismatch'))
      else done(reader)
    })
    socket.on('connect', () =>
      resolve({
        send(apiKey, version, body) {
          return new Promise((res, rej) => {
            correlation += 1
            pending = { resolve: res, reject: rej, correlationId: correlation }
            socket.write(encodeRequest(apiKey, version, correlation, body))
          })
        },
        close: () => {
          socket.removeAllListeners('close')
          socket.destroy()
        },
      }),
    )
  })
}

/**
 * Asks host:port for ApiVersions (v0: every broker answers it) and then Metadata for no
 * topics. Resolves { apiVersions: Map<apiKey, [min, max]>, clusterId, controllerId,
 * brokers: [{ nodeId, host, port }] }; rejects if the broker does not answer.
 */
export async function probeKafka(host, port, { timeoutMs = 3000 } = {}) {
  const conn = await kafkaConnection(host, port, timeoutMs)
  try {
    const versions = await conn.send(API_VERSIONS, 0, Buffer.alloc(0))
    const errorCode = versions.int16()
    if (errorCode !== 0) throw new Error(`ApiVersions error ${errorCode}`)
    const apiVersions = new Map()
    for (let n = versions.int32(); n > 0; n--) {
      const key = versions.int16()
      apiVersions.set(key, [versions.int16(), versions.int16()])
    }
    // Metadata v4: inside every broker's range since Kafka 1.0 (4.3.1 serves 0..13) and
    // older than flexible versions (v9+), so no tagged fields. Still checked, not assumed.
    const [min, max] = apiVersions.get(API_METADATA) || [99, -1]
    if (min > 4 || max < 4) throw new Error(`broker does not serve Metadata v4 (range ${min}..${max})`)
    const body = Buffer.alloc(5)
    body.writeInt32BE(0, 0) // topics: empty array (null would mean "all topics")
    body.writeInt8(0, 4) // allow_auto_topic_creation: false
    const metadata = await conn.send(API_METADATA, 4, body)
    metadata.int32() // throttle_time_ms
    const brokers = []
    for (let n = metadata.int32(); n > 0; n--) {
      const nodeId = metadata.int32()
      const brokerHost = metadata.string()
      const brokerPort = metadata.int32()
      metadata.string() // rack
      brokers.push({ nodeId, host: brokerHost, port: brokerPort })
    }
    const clusterId = metadata.string()
    const controllerId = metadata.int32()
    return { apiVersions, clusterId, controllerId, brokers: brokers.sort((a, b) => a.nodeId - b.nodeId) }
  } finally {
    conn.close()
  }
}

/** True when the node answers and its Metadata lists every id in `expectNodeIds`. */
export async function nodeAnswers(port, expectNodeIds, timeoutMs = 3000) {
  try {
    const { brokers } = await probeKafka(HOST, port, { timeoutMs })
    return expectNodeIds.every((id) => brokers.some((b) => b.nodeId === id))
  } catch {
    return false
  }
}
