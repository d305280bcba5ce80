// Broker configuration: which listeners each mode has, the server.properties of a node,
// and the JVM flags it runs with.

import { randomBytes } from 'node:crypto'
import { HOST } from './common.mjs'

// Test credentials of the `secure` mode. Fixed on purpose: tests and developers type them.
export const SASL_USER = { username: 'nkafka', password: 'nkafka-secret' }
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER']

/**
 * The secure mode's authorizer (KRaft's StandardAuthorizer), so that ACL tests have
 * something to talk to. Inter-broker and controller traffic use PLAINTEXT, whose principal
 * is User:ANONYMOUS: it must be a super user, which makes every PLAINTEXT client one too
 * (fine for a test broker; ACL tests connect over SASL). allow.everyone.if.no.acl.found
 * keeps every resource without ACLs open, so the tests that do not care about ACLs (and
 * principals such as MTLS's certificate names) work as before. Part of the start
 * fingerprint (process.mjs `wanted`): a secure broker started without it is not reused.
 */
export const AUTHORIZER = {
  'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
  'super.users': `User:ANONYMOUS;User:${SASL_USER.username}`,
  'allow.everyone.if.no.acl.found': 'true',
}

/**
 * connections.max.reauth.ms of the secure mode's REAUTH listener: short, so that a test
 * sees its client re-authenticate (KIP-368) within seconds. The other listeners keep
 * Kafka's default of 0 (sessions never expire).
 */
export const REAUTH_MS = 3000

// Security protocol of each client listener. MTLS and REAUTH are names of our own: Kafka
// lets several listeners share a protocol, and each named listener takes its own
// listener.name.<name>.* settings (client certificates required on MTLS, short sessions on
// REAUTH) without touching SSL and SASL_SSL.
export const LISTENER_PROTOCOLS = {
  PLAINTEXT: 'PLAINTEXT',
  SASL_PLAINTEXT: 'SASL_PLAINTEXT',
  SSL: 'SSL',
  SASL_SSL: 'SASL_SSL',
  MTLS: 'SSL',
  REAUTH: 'SASL_SSL',
  PROXIED: 'PLAINTEXT',
}

function escapeProperty(text, isKey) {
  let out = ''
  for (const [i, ch] of [...String(text)].entries()) {
    const code = ch.codePointAt(0)
    if (ch === '\\') out += '\\\\'
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if ((isKey && (ch === '=' || ch === ':' || ch === ' ')) || ch === '#' || ch === '!') out += `\\${ch}`
    else if (ch === ' ' && i === 0) out += '\\ '
    else if (code < 0x20 || code > 0x7e) {
      // Properties files are read as ISO-8859-1: write everything else as \uXXXX.
      for (const unit of ch.split('')) out += `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`
    } else out += ch
  }
  return out
}

/** Serializes an object to the java.util.Properties text format. */
export function toJavaProperties(obj) {
  return `${Object.entries(obj)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => `${escapeProperty(key, true)}=${escapeProperty(value, false)}`)
    .join('\n')}\n`
}

export function listenerPlan(mode) {
  // Client listeners first (their order defines --port's consecutive ports), then the
  // controller listener. Inter-broker and controller traffic stay on PLAINTEXT. New
  // listeners go at the end, so the older ones keep their --port offsets.
  // The cluster's PROXIED listener advertises another port than it binds (`proxyPort`):
  // a test runs a TCP proxy there (connection cuts, stalls), and since Metadata answers
  // with the listener's advertised addresses, every connection a client opens through
  // that listener goes through the proxy, not only the bootstrap one.
  if (mode === 'secure') return ['PLAINTEXT', 'SASL_PLAINTEXT', 'SSL', 'SASL_SSL', 'MTLS', 'REAUTH']
  if (mode === 'cluster') return ['PLAINTEXT', 'PROXIED']
  return ['PLAINTEXT']
}

export function nodeCount(mode) {
  return mode === 'cluster' ? 3 : 1
}

export function brokerConfig({ mode, node, nodes, tls, autoCreateTopics }) {
  const listeners = listenerPlan(mode)
  const replication = mode === 'cluster' ? 3 : 1
  const minIsr = mode === 'cluster' ? 2 : 1
  const protocolMap = ['CONTROLLER:PLAINTEXT', ...listeners.map((l) => `${l}:${LISTENER_PROTOCOLS[l]}`)].join(',')
  const config = {
    'process.roles': 'broker,controller',
    'node.id': node.nodeId,
    // Static voters (KIP-595 style) behave the same from Kafka 3.3 to 4.x and need no
    // --standalone/--initial-controllers at format time.
    'controller.quorum.voters': nodes.map((n) => `${n.nodeId}@${HOST}:${n.controllerPort}`).join(','),
    'controller.listener.names': 'CONTROLLER',
    listeners: [...listeners.map((l) => `${l}://${HOST}:${node.ports[l]}`), `CONTROLLER://${HOST}:${node.controllerPort}`].join(','),
    'advertised.listeners': listeners.map((l) => `${l}://${HOST}:${l === 'PROXIED' ? node.proxyPort : node.ports[l]}`).join(','),
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': protocolMap,
    'log.dirs': node.dataDir,

    // Test tuning: no waiting, small footprints.
    'group.initial.rebalance.delay.ms': 0,
    // Only the floors: KIP-848 groups keep the 45 s / 5 s defaults, and a test that needs
    // a member fenced quickly sets consumer.session.timeout.ms on its own group.
    'group.consumer.min.session.timeout.ms': 3000,
    'group.consumer.min.heartbeat.interval.ms': 500,
    // Not reconfigurable at run time, so set here for the GROUP_MAX_SIZE_REACHED test; no
    // other test puts more than 4 members in a KIP-848 group.
    'group.consumer.max.size': 8,
    'auto.create.topics.enable': autoCreateTopics,
    'num.partitions': 1,
    'default.replication.factor': replication,
    'min.insync.replicas': minIsr,
    'offsets.topic.replication.factor': replication,
    'transaction.state.log.replication.factor': replication,
    'transaction.state.log.min.isr': minIsr,
    'share.coordinator.state.topic.replication.factor': replication,
    'share.coordinator.state.topic.min.isr': minIsr,
    // Share groups (KIP-932): on in 4.3.1 through the share.version feature, which a new
    // cluster is formatted with at level 1. The broker's lower bounds are lowered so that
    // tests can join in about a second (heartbeat default 5 s) and set a lock of a few
    // seconds per group (share.record.lock.duration.ms; the default stays 30 s).
    'group.share.min.heartbeat.interval.ms': 1000,
    'group.share.heartbeat.interval.ms': 1000,
    'group.share.min.record.lock.duration.ms': 1000,
    // A broker killed with SIGKILL cannot register again until its old session expires
    // (DUPLICATE_BROKER_REGISTRATION until then), and a dead partition leader is only
    // replaced after it. The 9 s default made every crash test wait; 4 s still tolerates
    // a long GC pause on a busy 2-core machine.
    'broker.heartbeat.interval.ms': 1000,
    'broker.session.timeout.ms': 4000,
    // The log cleaner allocates its dedupe buffer (128 MB by default) up front on the
    // heap; 32 MB leaves room in a 512 MB heap and is plenty for test-sized compaction.
    'log.cleaner.dedupe.buffer.size': 32 * 1024 * 1024,
  }
  if (mode === 'secure') {
    Object.assign(config, AUTHORIZER, {
      'sasl.enabled.mechanisms': SASL_MECHANISMS.join(','),
      'ssl.keystore.type': 'PKCS12',
      'ssl.keystore.location': tls.keystore,
      'ssl.keystore.password': tls.password,
      'ssl.key.password': tls.password,
      // MTLS only: a client must present a certificate signed by the test CA. Set on the
      // listener, so that SSL and SASL_SSL keep ssl.client.auth=none.
      'listener.name.mtls.ssl.client.auth': 'required',
      'listener.name.mtls.ssl.truststore.type': 'PKCS12',
      'listener.name.mtls.ssl.truststore.location': tls.truststore,
      'listener.name.mtls.ssl.truststore.password': tls.password,
      // REAUTH only. The broker reads the listener-prefixed value (its channel builder gets
      // the listener's configs with the prefix stripped), and a SaslAuthenticate v1+
      // response on this listener carries session_lifetime_ms <= 3000; on SASL_SSL it is 0.
      'listener.name.reauth.connections.max.reauth.ms': REAUTH_MS,
      // REAUTH leaves SCRAM-SHA-256 out, so that a test can see UNSUPPORTED_SASL_MECHANISM
      // and the list of what the listener offers.
      'listener.name.reauth.sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-512,OAUTHBEARER',
    })
    const { username, password } = SASL_USER
    for (const listener of ['sasl_plaintext', 'sasl_ssl', 'reauth']) {
      const prefix = `listener.name.${listener}`
      config[`${prefix}.plain.sasl.jaas.config`] =
        `org.apache.kafka.common.security.plain.PlainLoginModule required user_${username}="${password}";`
      for (const scram of ['scram-sha-256', 'scram-sha-512']) {
        // SCRAM credentials live in the cluster metadata (added at format time).
        config[`${prefix}.${scram}.sasl.jaas.config`] = 'org.apache.kafka.common.security.scram.ScramLoginModule required;'
      }
      // No validator callback configured: the broker accepts unsecured JWS tokens
      // (alg "none"), which is what OAUTHBEARER tests without an identity provider need.
      config[`${prefix}.oauthbearer.sasl.jaas.config`] =
        'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="broker";'
    }
  }
  return config
}

export function randomClusterId() {
  // 16 random bytes, base64url without padding; Kafka refuses ids starting with '-'.
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

export function brokerJvmArgs(node, heap) {
  return [
    ...heap.split(/\s+/).filter(Boolean),
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dkafka.logs.dir=${node.logDir}`,
    `-Dlog4j2.configurationFile=${node.log4jFile}`,
  ]
}
