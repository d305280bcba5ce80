// TLS material for the `secure` mode, made once with keytool and cached (it costs many JVM
// starts); everything is valid for ten years.
//
// - The test CA and a broker certificate signed by it (rustls/webpki reject a self-signed
//   leaf used as its own trust anchor), the broker's keystore, and a truststore for Java
//   clients.
// - Client certificates signed by the test CA for the MTLS listener, with their private
//   keys in each PEM form a client may be handed: PKCS#8, PKCS#1, SEC1 (EC) and encrypted
//   PKCS#8; plus a PKCS12 keystore of the RSA one for Java clients.
// - A second, unrelated CA and a client certificate signed by it, which MTLS must reject.
//
// keytool makes the keys and signs the certificates but never writes a private key out;
// NkafkaExportKeys.java reads the keys out of the PKCS12 files, and Node's crypto writes
// the PEM forms. So this needs the JDK and Node only, no openssl.

import { createPrivateKey } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { cacheRoot, KafkaScriptError, log, run, TEMPLATES } from './common.mjs'
import { FAST_START_JVM_ARGS, findJava, jdkTool } from './jars.mjs'

/** Password of every keystore and truststore, and of the keys in them. */
export const TLS_PASSWORD = 'nkafka-test'
/** Passphrase of the encrypted PKCS#8 client key (client-key-encrypted.pem). */
export const KEY_PASSPHRASE = 'nkafka-key-passphrase'
// Bump when the TLS material's recipe changes so that old caches are regenerated.
// v2: client certificates and keys, the unrelated CA, the client keystore.
export const TLS_RECIPE = 'tls-v2'

const VALIDITY_DAYS = '3650'
const BROKER_SAN = 'SAN=DNS:localhost,IP:127.0.0.1'

/** Where each file of the recipe lives in `dir`. */
function tlsFiles(dir) {
  const p = (name) => path.join(dir, name)
  return {
    dir,
    caFile: p('ca.pem'),
    keystore: p('broker.p12'),
    truststore: p('truststore.p12'),
    password: TLS_PASSWORD,
    otherCaFile: p('other-ca.pem'),
    client: {
      certFile: p('client.pem'),
      keyPkcs8File: p('client-key.pem'),
      keyPkcs1File: p('client-key-pkcs1.pem'),
      keyEncryptedFile: p('client-key-encrypted.pem'),
      passphrase: KEY_PASSPHRASE,
      ecCertFile: p('client-ec.pem'),
      keySec1File: p('client-ec-key.pem'),
      untrustedCertFile: p('untrusted-client.pem'),
      untrustedKeyFile: p('untrusted-client-key.pem'),
      keystore: { location: p('client.p12'), password: TLS_PASSWORD, type: 'PKCS12' },
    },
  }
}

/**
 * Makes the TLS material (once; cached under <cache>/kafka/<TLS_RECIPE>/) and returns the
 * paths: { dir, caFile, keystore, truststore, password, otherCaFile, client: {...} }.
 */
export async function ensureTls(quiet) {
  const dir = path.join(cacheRoot(), 'kafka', TLS_RECIPE)
  if (fs.existsSync(path.join(dir, '.complete'))) return tlsFiles(dir)

  log(quiet, `making test CAs and broker and client certificates with keytool (once; cached in ${dir})`)
  const started = Date.now()
  const keytool = jdkTool('keytool')
  fs.mkdirSync(path.dirname(dir), { recursive: true })
  const work = fs.mkdtempSync(`${dir}.partial-`)
  try {
    await makeTls(keytool, work)
  } catch (error) {
    fs.rmSync(work, { recursive: true, force: true })
    throw error
  }
  fs.writeFileSync(path.join(work, '.complete'), `${new Date().toISOString()}\n`)
  fs.rmSync(dir, { recursive: true, force: true }) // an incomplete leftover, if any
  try {
    fs.renameSync(work, dir)
  } catch {
    fs.rmSync(work, { recursive: true, force: true }) // a concurrent run made it first
  }
  log(quiet, `made the TLS material in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return tlsFiles(dir)
}

async function makeTls(keytool, work) {
  const p = (name) => path.join(work, name)
  const store = (file) => ['-keystore', p(file), '-storetype', 'PKCS12', '-storepass', TLS_PASSWORD]
  const keytoolRun = async (args) => {
    const result = await run(keytool, ['-J-XX:TieredStopAtLevel=1', '-J-XX:+UseSerialGC', ...args])
    if (result.code !== 0) {
      const why = `${result.stderr}${result.stdout.toString('utf8')}`.trim().split('\n')[0]
      throw new KafkaScriptError(`keytool ${args[0]} failed: ${why}`)
    }
  }
  const steps = async (list) => {
    for (const args of list) await keytoolRun(args)
  }
  const validity = ['-validity', VALIDITY_DAYS]
  const ext = (list) => list.flatMap((e) => ['-ext', e])
  const rsa = ['-keyalg', 'RSA', '-keysize', '2048']
  const genkey = (alias, name, keyalg, exts) => [
    ...['-genkeypair', '-alias', alias, '-dname', `CN=${name}`, ...validity, ...keyalg, ...ext(exts)],
    ...store(`${alias}.p12`),
  ]
  // CA: basicConstraints CA:true and keyCertSign, as webpki requires of a trust anchor.
  const makeCa = (alias, name) => [
    genkey(alias, name, rsa, ['BC:c=ca:true', 'KU:c=keyCertSign,cRLSign']),
    ['-exportcert', '-rfc', '-alias', alias, '-file', p(`${alias}.pem`), ...store(`${alias}.p12`)],
  ]
  // A key pair in its own PKCS12 file, a CSR for it, and the certificate `ca` signs.
  const signed = ({ alias, name, keyalg, ca, exts, requestExts = [] }) => [
    genkey(alias, name, keyalg, requestExts),
    ['-certreq', '-alias', alias, '-file', p(`${alias}.csr`), ...store(`${alias}.p12`)],
    [
      ...['-gencert', '-alias', ca, '-infile', p(`${alias}.csr`), '-outfile', p(`${alias}.pem`), '-rfc', ...validity, ...ext(exts)],
      ...store(`${ca}.p12`),
    ],
  ]
  // A keystore holds the chain: import the CA first, then the signed leaf over the key.
  const importChain = (alias) => [
    ['-importcert', '-noprompt', '-alias', 'ca', '-file', p('ca.pem'), ...store(`${alias}.p12`)],
    ['-importcert', '-noprompt', '-alias', alias, '-file', p(`${alias}.pem`), ...store(`${alias}.p12`)],
  ]
  const clientExts = ['KU:c=digitalSignature,keyEncipherment', 'EKU=clientAuth']

  // Two independent chains, run side by side: each step is a JVM start.
  await Promise.all([
    (async () => {
      await steps(makeCa('ca', 'nkafka test CA'))
      await Promise.all([
        steps([
          ...signed({
            alias: 'broker',
            name: 'localhost',
            keyalg: rsa,
            requestExts: [BROKER_SAN],
            ca: 'ca',
            exts: [BROKER_SAN, 'KU:c=digitalSignature,keyEncipherment', 'EKU=serverAuth,clientAuth'],
          }),
          ...importChain('broker'),
        ]),
        steps([['-importcert', '-noprompt', '-alias', 'ca', '-file', p('ca.pem'), ...store('truststore.p12')]]),
        steps([...signed({ alias: 'client', name: 'nkafka-client', keyalg: rsa, ca: 'ca', exts: clientExts }), ...importChain('client')]),
        steps(
          signed({
            alias: 'client-ec',
            name: 'nkafka-client-ec',
            keyalg: ['-keyalg', 'EC', '-groupname', 'secp256r1'],
            ca: 'ca',
            exts: ['KU:c=digitalSignature', 'EKU=clientAuth'],
          }),
        ),
      ])
    })(),
    (async () => {
      await steps(makeCa('other-ca', 'nkafka unrelated CA'))
      await steps(signed({ alias: 'untrusted-client', name: 'nkafka-untrusted-client', keyalg: rsa, ca: 'other-ca', exts: clientExts }))
    })(),
  ])

  const [clientKey, ecKey, untrustedKey] = await exportKeys(work, ['client', 'client-ec', 'untrusted-client'])
  const files = tlsFiles(work)
  const write = (file, text) => fs.writeFileSync(file, text, { mode: 0o600 })
  write(files.client.keyPkcs8File, clientKey.export({ type: 'pkcs8', format: 'pem' }))
  write(files.client.keyPkcs1File, clientKey.export({ type: 'pkcs1', format: 'pem' }))
  // OpenSSL 3 (Node's crypto) writes this as PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC.
  write(
    files.client.keyEncryptedFile,
    clientKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: KEY_PASSPHRASE }),
  )
  // Java's PKCS#8 form of an EC key leaves the optional public key out, and OpenSSL keeps
  // it out when re-encoding; ring (rustls' default provider) refuses such a key
  // (briansmith/ring#2133). A round trip through JWK, which carries x and y, gives a SEC1
  // key with the public key in it.
  const ecWithPublic = createPrivateKey({ key: ecKey.export({ format: 'jwk' }), format: 'jwk' })
  write(files.client.keySec1File, ecWithPublic.export({ type: 'sec1', format: 'pem' }))
  write(files.client.untrustedKeyFile, untrustedKey.export({ type: 'pkcs8', format: 'pem' }))
  // The requests were only a step on the way to the certificates.
  for (const name of fs.readdirSync(work)) if (name.endsWith('.csr')) fs.rmSync(p(name))
}

/** The private keys of `aliases`, each in `<alias>.p12`, as Node KeyObjects. */
async function exportKeys(work, aliases) {
  const { java } = findJava()
  const source = path.join(TEMPLATES, 'java', 'NkafkaExportKeys.java')
  const args = aliases.flatMap((alias) => [path.join(work, `${alias}.p12`), alias])
  const result = await run(java, [...FAST_START_JVM_ARGS, source, TLS_PASSWORD, ...args], { timeoutMs: 120_000 })
  const lines = result.stdout.toString('utf8').trim().split('\n')
  if (result.code !== 0 || lines.length !== aliases.length) {
    throw new KafkaScriptError(`reading the client keys out of their keystores failed: ${result.stderr.trim().split('\n')[0]}`)
  }
  return lines.map((line) => createPrivateKey({ key: Buffer.from(line, 'base64'), format: 'der', type: 'pkcs8' }))
}

/**
 * The `tls` object a broker handle shows: the saved paths, plus the text of each file
 * next to it (caFile -> caPem, client.certFile -> client.certPem, ...), so that a test
 * needs no file reads. Null when the state has no TLS material.
 */
export function tlsView(saved) {
  if (!saved) return null
  const withPem = (obj) => {
    const out = { ...obj }
    for (const [key, file] of Object.entries(obj)) {
      if (key.endsWith('File') && typeof file === 'string' && fs.existsSync(file)) {
        out[`${key.slice(0, -'File'.length)}Pem`] = fs.readFileSync(file, 'utf8')
      }
    }
    return out
  }
  return { ...withPem(saved), client: withPem(saved.client) }
}

/** The part of ensureTls()'s answer a broker's state keeps (no broker keystore). */
export function tlsState(files) {
  return { dir: files.dir, caFile: files.caFile, otherCaFile: files.otherCaFile, client: files.client }
}
