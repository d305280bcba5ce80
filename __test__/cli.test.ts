/**
 * The `nkafka` CLI as a user runs it: `node dist/cli/main.js ...` spawned against the real
 * `single` broker (and the `secure` one for TLS + SASL), checked through the library's
 * Admin/Producer and, once, Kafka's Java console consumer.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Admin, Consumer, Producer, throwIfFailed } from '../ts/index'
import { brokers, createTopic, kafkaScript, uniqueTopic, until } from './helpers'

const ROOT = join(__dirname, '..')
const MAIN = join(ROOT, 'dist', 'cli', 'main.js')
const work = mkdtempSync(join(tmpdir(), 'nkafka-cli-'))

interface Result {
  code: number
  stdout: string
  stderr: string
  out: Buffer
}

/** Runs the built CLI with `args` (stdin from `input`), bounded in time; never rejects. */
function cli(
  args: string[],
  { input, env = {}, timeoutMs = 60_000 }: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [MAIN, ...args],
      { encoding: 'buffer', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { PATH: process.env.PATH ?? '', ...env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
        resolve({ code, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8'), out: stdout })
      },
    )
    child.stdin?.end(input ?? '')
  })
}

/** The CLI against the test broker. */
const b = (...args: string[]) => [...args, '-b', brokers()]

beforeAll(() => {
  // The tests run the build, so it must be the current source.
  if (!existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build:ts` first')
  const built = statSync(MAIN).mtimeMs
  for (const f of readdirSync(join(ROOT, 'ts', 'cli'))) {
    if (statSync(join(ROOT, 'ts', 'cli', f)).mtimeMs > built) throw new Error(`ts/cli/${f} is newer than dist/: run \`npm run build:ts\``)
  }
})

describe('flags', () => {
  it('--version, --help and per-subcommand --help exit 0', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
    const v = await cli(['--version'])
    expect(v).toMatchObject({ code: 0, stdout: `nkafka ${pkg.version}\n` })
    const h = await cli(['--help'])
    expect(h.code).toBe(0)
    for (const c of ['produce', 'consume', 'topics', 'groups', 'metadata', 'configs', 'bench']) expect(h.stdout).toContain(c)
    for (const [args, text] of [
      [['produce', '--help'], '--key-delimiter'],
      [['consume', '-h'], '%t topic'],
      [['topics', '--help'], 'topics create'],
      [['groups', 'reset-offsets', '--help'], '--to-datetime'],
      [['configs', '--help'], 'configs set'],
      [['bench', '--help'], 'p50'],
      [['metadata', '--help'], 'controller'],
    ] as const) {
      const r = await cli([...args])
      expect(r.code, args.join(' ')).toBe(0)
      expect(r.stdout).toContain(text)
      expect(r.stdout).toContain('--sasl-mechanism')
    }
  })

  it('a bad or missing flag is one line on stderr naming it, and exit code 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['consume', '-t', 'x', '--frobnicate'], /unknown flag --frobnicate/],
      [['consume'], /missing required flag -t\/--topic/],
      [['produce', '-t'], /flag -t needs a value/],
      [['consume', '-t', 'x', '-o', 'yesterday'], /-o\/--offset expects beginning, end, OFFSET, -N or @TIMESTAMP, got "yesterday"/],
      [['consume', '-t', 'x', '-g', 'g', '-p', '0'], /-g\/--group and -p\/--partitions exclude each other/],
      [['consume', '-t', 'x', '-c', 'ten'], /--count expects an integer >= 1, got "ten"/],
      [['consume', '-t', 'x', '-f', '%q'], /unknown format token %q/],
      [['produce', '-t', 'x', '--acks', '2'], /--acks expects 0, 1 or all, got "2"/],
      [['produce', '-t', 'x', '-z', 'brotli'], /-z\/--compression expects none, gzip, snappy, lz4, zstd, got "brotli"/],
      [['produce', '-t', 'x', '-X', 'lingerMs'], /-X expects key=value, got "lingerMs"/],
      [['produce', '-t', 'x', '-X', 'lingerMS=5'], /INVALID_CONFIG.*lingerMS.*did you mean `lingerMs`/],
      [['produce', '-t', 'x', '--sasl-mechanism', 'plain'], /--sasl-mechanism plain needs --sasl-username/],
      [
        ['produce', '-t', 'x', '--sasl-mechanism', 'gssapi', '--sasl-username', 'u', '--sasl-password', 'p'],
        /--sasl-mechanism expects plain, scram-sha-256 or scram-sha-512, got "gssapi"/,
      ],
      [['produce', '-t', 'x', '--ssl-ca', join(work, 'missing.pem')], /--ssl-ca: cannot read/],
      [['topics', 'rename'], /unknown action "rename"; expected list, describe, create, delete/],
      [['topics', 'create', 't', '-p', '0'], /--partitions expects an integer >= 1, got "0"/],
      [['groups', 'reset-offsets', 'g', '--topic', 't'], /exactly one of --to-earliest/],
      [['groups', 'reset-offsets', 'g', '--to-earliest'], /missing --topic T \(or --all-topics\)/],
      [['configs', 'get', 'cluster', 'x'], /unknown resource type "cluster"; expected topic, broker, broker-logger, group/],
      [['configs', 'set', 'topic', 't'], /nothing to change/],
      [['bench', '-n', '-5'], /flag -n needs a value/],
      [['bench', 'consume', '--rate', '5'], /--rate is for bench produce/],
      [['frobnicate'], /unknown command "frobnicate"/],
    ]
    const props = join(work, 'unknown.properties')
    writeFileSync(props, 'bootstrap.servers=127.0.0.1:1\nssl.endpoint.identification.algorithm=\n')
    cases.push([
      ['topics', 'list', '--config', props],
      /INVALID_CONFIG: .*sslEndpointIdentificationAlgorithm.*unknown key \(from property `ssl\.endpoint\.identification\.algorithm` in /,
    ])
    for (const [args, pattern] of cases) {
      const r = await cli(b(...args))
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr, args.join(' ')).toMatch(pattern)
      expect(r.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1)
      // Not a terminal: no colors.
      expect(r.stderr).not.toContain('\x1b[')
    }
  })

  it('a Kafka error is one line with its code, and exit code 1', async () => {
    const missing = uniqueTopic('cli-missing')
    for (const args of [
      ['topics', 'describe', missing],
      ['consume', '-t', missing, '-e'],
      ['configs', 'get', 'topic', missing],
    ]) {
      const r = await cli(b(...args))
      expect(r.code, args.join(' ')).toBe(1)
      expect(r.stderr).toMatch(/^nkafka: .*UNKNOWN_TOPIC_OR_PARTITION/)
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
    }
    const down = await cli(['topics', 'list', '-b', '127.0.0.1:1', '-X', 'requestTimeoutMs=2000'])
    expect(down.code).toBe(1)
    expect(down.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(down.stderr).toMatch(/^nkafka: [A-Z_]+: /)
  })
})

describe('produce and consume', () => {
  it('produce | Java console consumer: keys, values, headers and the partition as given', async () => {
    const topic = uniqueTopic('cli-produce')
    await createTopic(topic, 3)
    const lines = Array.from({ length: 200 }, (_, i) => `k${i}\tvalue ${i} ü`)
    const r = await cli(b('produce', '-t', topic, '-K', '\\t', '-H', 'app=cli,n=1', '-p', '2', '-z', 'lz4'), {
      input: `${lines.join('\n')}\n`,
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(new RegExp(`^produce: 200 of 200 records \\(\\d+ bytes\\) delivered to ${topic} in [\\d.]+ s\\n$`))
    const kafka = await kafkaScript()
    const got = await kafka.consoleConsume({ bootstrap: brokers(), topic, maxMessages: 200, timeoutMs: 20_000 })
    expect(got).toHaveLength(200)
    expect(got.map((m: any) => m.partition)).toEqual(Array(200).fill(2))
    expect(got.map((m: any) => `${m.key.toString()}\t${m.value.toString()}`)).toEqual(lines)
    expect(got[0].headers.map((h: any) => [h.key, h.value.toString()])).toEqual([
      ['app', 'cli'],
      ['n', '1'],
    ])
  })

  it('produce from --file with a custom delimiter; a line without the key delimiter has a null key', async () => {
    const topic = uniqueTopic('cli-file')
    await createTopic(topic, 1)
    const file = join(work, 'records.txt')
    writeFileSync(file, 'a=1;b=2;novalue;;')
    const r = await cli(b('produce', '-t', topic, '--file', file, '-D', ';', '-K', '='))
    expect(r.code, r.stderr).toBe(0)
    const c = await cli(b('consume', '-t', topic, '-o', 'beginning', '-e', '-f', '%K:%k|%S:%s\\n'))
    expect(c).toMatchObject({ code: 0, stdout: '1:a|1:1\n1:b|1:2\n-1:|7:novalue\n-1:|0:\n' })
  })

  it('produce exits non-zero naming the error when records are rejected', async () => {
    const topic = uniqueTopic('cli-toolarge')
    await createTopic(topic, 1, { 'max.message.bytes': '1000' })
    const r = await cli(b('produce', '-t', topic), { input: `small\n${'x'.repeat(5000)}\n` })
    expect(r.code).toBe(1)
    // The small record fails too when both went in one batch.
    const [summary, ...errors] = r.stderr.trimEnd().split('\n')
    expect(summary).toMatch(/^produce: [01] of 2 records \(5005 bytes\) delivered/)
    expect(errors).toEqual([expect.stringMatching(/^produce: [12] failed: (MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE): /)])
  })

  describe('consume output and positions', () => {
    const topic = uniqueTopic('cli-consume')
    const t0 = 1_700_000_000_000
    beforeAll(async () => {
      await createTopic(topic, 2)
      const p = new Producer({ bootstrapServers: brokers() })
      // Partition 0: offsets 0..4 with timestamps t0 + 1000 * i; partition 1: one record.
      for (let i = 0; i < 5; i++) {
        await p.send({
          topic,
          messages: [{ partition: 0, key: `k${i}`, value: `v${i}`, timestamp: t0 + 1000 * i, headers: [['h', `x${i}`]] }],
        })
      }
      await p.send({ topic, messages: [{ partition: 1, key: null, value: Buffer.from([0xff, 0x00, 0x41]), timestamp: t0 }] })
      await p.close()
    })

    it('a format string is exact', async () => {
      const r = await cli(
        b(
          'consume',
          '-t',
          topic,
          '-p',
          '0',
          '-o',
          'beginning',
          '-e',
          '-f',
          'Topic %t [%p] at offset %o: key %k (%K) value %s (%S) %h T=%T 100%%\\n',
        ),
      )
      expect(r.code, r.stderr).toBe(0)
      const want = Array.from(
        { length: 5 },
        (_, i) => `Topic ${topic} [0] at offset ${i}: key k${i} (2) value v${i} (2) h=x${i} T=${t0 + 1000 * i} 100%\n`,
      ).join('')
      expect(r.stdout).toBe(want)
    })

    it('values are written as bytes; the default is value and newline', async () => {
      const r = await cli(b('consume', '-t', topic, '-p', '1', '-o', 'beginning', '-e'))
      expect(r.code).toBe(0)
      expect(r.out).toEqual(Buffer.from([0xff, 0x00, 0x41, 0x0a]))
    })

    it('JSON lines, and --base64', async () => {
      const r = await cli(b('consume', '-t', topic, '-p', '0', '-o', '3', '-e', '--json'))
      expect(r.code).toBe(0)
      expect(
        r.stdout
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l)),
      ).toEqual(
        [3, 4].map((i) => ({
          topic,
          partition: 0,
          offset: i,
          timestamp: t0 + 1000 * i,
          key: `k${i}`,
          value: `v${i}`,
          headers: [{ key: 'h', value: `x${i}` }],
        })),
      )
      const b64 = await cli(b('consume', '-t', topic, '-p', '1', '-o', 'beginning', '-e', '--json', '--base64'))
      expect(JSON.parse(b64.stdout)).toMatchObject({ key: null, value: Buffer.from([0xff, 0x00, 0x41]).toString('base64') })
    })

    it('-o -N, -o @timestamp, --to OFFSET, --to @timestamp and -c', async () => {
      const offsets = async (...args: string[]) => {
        const r = await cli(b('consume', '-t', topic, '-p', '0', '-f', '%o ', ...args), { timeoutMs: 30_000 })
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0)
        return r.stdout
      }
      expect(await offsets('-o', '-2', '-e')).toBe('3 4 ')
      expect(await offsets('-o', `@${t0 + 2500}`, '-e')).toBe('3 4 ')
      expect(await offsets('-o', '1', '--to', '3')).toBe('1 2 ')
      expect(await offsets('-o', 'beginning', '--to', `@${t0 + 2000}`)).toBe('0 1 ')
      expect(await offsets('-o', 'beginning', '-c', '3')).toBe('0 1 2 ')
      // Both partitions, to their ends.
      const all = await cli(b('consume', '-t', topic, '-o', 'beginning', '-e', '-f', '%p:%o\\n'))
      expect(all.stdout.trimEnd().split('\n').sort()).toEqual(['0:0', '0:1', '0:2', '0:3', '0:4', '1:0'])
      // -o end with -e: nothing to read, exits at once.
      expect(await offsets('-o', 'end', '-e')).toBe('')
    })
  })
})

describe('groups', () => {
  it('consume -g commits; describe, lag and reset-offsets (dry run, then --execute)', async () => {
    const topic = uniqueTopic('cli-group')
    const group = uniqueTopic('cli-g')
    await createTopic(topic, 2)
    const input = `${Array.from({ length: 10 }, (_, i) => `k${i}:${i}`).join('\n')}\n`
    expect((await cli(b('produce', '-t', topic, '-K', ':'), { input })).code).toBe(0)
    const c = await cli(b('consume', '-t', topic, '-g', group, '-o', 'beginning', '-e', '-f', '%s\\n'))
    expect(c.code, c.stderr).toBe(0)
    expect(
      c.stdout
        .trimEnd()
        .split('\n')
        .map(Number)
        .sort((x, y) => x - y),
    ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])

    const list = await cli(b('groups', 'list', '--json'))
    expect(JSON.parse(list.stdout).map((g: any) => g.groupId)).toContain(group)
    const lag = await cli(b('groups', 'lag', group, '--json'))
    expect(lag.code).toBe(0)
    const lagJson = JSON.parse(lag.stdout)
    expect(lagJson.totalLag).toBe(0)
    expect(lagJson.partitions.reduce((a: number, x: any) => a + x.offset, 0)).toBe(10)
    const d = await cli(b('groups', 'describe', group))
    expect(d.code).toBe(0)
    expect(d.stdout).toMatch(new RegExp(`^group ${group}  state Empty`))
    expect(d.stdout).toContain('total lag 0')

    const dry = await cli(b('groups', 'reset-offsets', group, '--topic', topic, '--to-earliest'))
    expect(dry.code).toBe(0)
    expect(dry.stdout).toContain('dry run: nothing changed')
    const admin = new Admin({ bootstrapServers: brokers() })
    try {
      const committed = async () => {
        const [g] = await admin.listConsumerGroupOffsets([{ groupId: group }])
        return g?.partitions.reduce((a, x) => a + Number(x.offset), 0)
      }
      expect(await committed()).toBe(10)
      const ex = await cli(b('groups', 'reset-offsets', group, '--topic', topic, '--to-earliest', '--execute'))
      expect(ex.code, ex.stderr).toBe(0)
      expect(ex.stdout).toContain(`reset 2 partitions of group ${group}`)
      expect(await committed()).toBe(0)
      const lag2 = JSON.parse((await cli(b('groups', 'lag', group, '--json'))).stdout)
      expect(lag2.totalLag).toBe(10)
      const toOffset = await cli(b('groups', 'reset-offsets', group, '--all-topics', '--to-offset', '1', '--execute', '--json'))
      expect(JSON.parse(toOffset.stdout).map((x: any) => x.offset)).toEqual([1, 1])
      const future = await cli(b('groups', 'reset-offsets', group, '--topic', topic, '--to-datetime', '2100-01-01T00:00:00Z', '--execute'))
      expect(future.code).toBe(0)
      expect(await committed()).toBe(10)
    } finally {
      await admin.close()
    }
  })
  it('reset-offsets --execute on a group with a live member fails per partition, exit 1', async () => {
    const topic = uniqueTopic('cli-live')
    const group = uniqueTopic('cli-live-g')
    await createTopic(topic, 1)
    const member = new Consumer({ bootstrapServers: brokers(), groupId: group })
    try {
      await member.subscribe([topic])
      const reading = (async () => {
        for await (const _ of member) break
      })()
      await until(() => member.assignment().length === 1, 30_000, 'the assignment')
      const r = await cli(b('groups', 'reset-offsets', group, '--topic', topic, '--to-earliest', '--execute'))
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/UNKNOWN_MEMBER_ID/)
      expect(r.stderr).toMatch(/^nkafka: .*UNKNOWN_MEMBER_ID/)
      member.stop()
      await reading
    } finally {
      await member.close()
    }
  })
})

describe('admin subcommands', () => {
  it('topics create (with --config), list, describe and delete', async () => {
    const topic = uniqueTopic('cli-topics')
    const c = await cli(
      b('topics', 'create', topic, '-p', '3', '-r', '1', '--config', 'retention.ms=123456', '--config', 'cleanup.policy=compact'),
    )
    expect(c).toMatchObject({ code: 0, stdout: `created ${topic} (3 partitions, replication 1)\n` })
    const admin = new Admin({ bootstrapServers: brokers() })
    try {
      const [cfg] = throwIfFailed(
        await admin.describeConfigs([{ type: 'topic', name: topic, configNames: ['retention.ms', 'cleanup.policy'] }]),
      )
      expect(Object.fromEntries(cfg?.configs.map((e) => [e.name, e.value]) ?? [])).toEqual({
        'retention.ms': '123456',
        'cleanup.policy': 'compact',
      })
    } finally {
      await admin.close()
    }
    expect((await cli(b('topics', 'list'))).stdout.split('\n')).toContain(topic)
    const d = await cli(b('topics', 'describe', topic))
    expect(d.stdout.split('\n').slice(0, 3)).toEqual([
      expect.stringMatching(new RegExp(`^topic ${topic}  id \\S+  partitions 3  replication 1$`)),
      'partition  leader  replicas  isr  offline',
      '0          1       1         1    -',
    ])
    const dj = JSON.parse((await cli(b('topics', 'describe', topic, '--json'))).stdout)
    expect(dj[0].partitions).toHaveLength(3)
    const again = await cli(b('topics', 'create', topic, '-p', '1'))
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/TOPIC_ALREADY_EXISTS/)
    expect(await cli(b('topics', 'delete', topic))).toMatchObject({ code: 0, stdout: `deleted ${topic}\n` })
  })

  it('metadata: cluster id, brokers with the controller, topics', async () => {
    const topic = uniqueTopic('cli-meta')
    await createTopic(topic, 2)
    const r = await cli(b('metadata', '--json'))
    expect(r.code).toBe(0)
    const m = JSON.parse(r.stdout)
    const [host, port] = brokers().split(',')[0]?.split(':') ?? []
    expect(m.brokers).toContainEqual(expect.objectContaining({ host, port: Number(port) }))
    expect(m.brokers.map((x: any) => x.nodeId)).toContain(m.controllerId)
    expect(m.topics.find((t: any) => t.topic === topic).partitions).toHaveLength(2)
    const plain = await cli(b('metadata'))
    expect(plain.stdout).toMatch(/^cluster \S+ {2}controller \d+\n/)
    expect(plain.stdout).toMatch(new RegExp(`\\n${topic}\\s+2\\s+1\\n`))
  })

  it('configs get and set (with --delete)', async () => {
    const topic = uniqueTopic('cli-configs')
    await createTopic(topic, 1)
    const set = await cli(b('configs', 'set', 'topic', topic, 'retention.ms=7777', 'segment.ms=600000'))
    expect(set.code, set.stderr).toBe(0)
    const get = await cli(b('configs', 'get', 'topic', topic, 'retention.ms', 'segment.ms'))
    expect(get.stdout).toBe(
      'name          value   source\nretention.ms  7777    DYNAMIC_TOPIC_CONFIG\nsegment.ms    600000  DYNAMIC_TOPIC_CONFIG\n',
    )
    expect((await cli(b('configs', 'set', 'topic', topic, '--delete', 'retention.ms'))).code).toBe(0)
    const json = JSON.parse((await cli(b('configs', 'get', 'topic', topic, '--json'))).stdout)
    expect(json.find((e: any) => e.name === 'retention.ms')).toMatchObject({ value: '604800000', isDefault: true })
    const broker = await cli(b('configs', 'get', 'broker', '1', 'log.retention.hours'))
    expect(broker.stdout).toMatch(/log\.retention\.hours\s+168\s+DEFAULT_CONFIG/)
    const bad = await cli(b('configs', 'set', 'topic', topic, 'retention.ms=soon'))
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/INVALID_CONFIG|INVALID_REQUEST/)
    // A group's own configs (KIP-848/932).
    const group = uniqueTopic('cli-group')
    expect((await cli(b('configs', 'set', 'group', group, 'consumer.session.timeout.ms=60000'))).code).toBe(0)
    const g = await cli(b('configs', 'get', 'group', group, 'consumer.session.timeout.ms'))
    expect(g.stdout).toMatch(/consumer\.session\.timeout\.ms\s+60000\s+GROUP_CONFIG/)
  })
})

describe('bench', () => {
  it('produce: the summary table, no progress bar when stderr is not a terminal', async () => {
    const r = await cli(b('bench', '-n', '20000', '-s', '50'), { timeoutMs: 120_000 })
    expect(r.code, r.stderr).toBe(0)
    for (const row of ['records', 'msgs/s', 'MB/s', 'latency p50 (ms)', 'latency p99 (ms)'])
      expect(r.stdout).toMatch(new RegExp(`\\n${row.replace(/[()/]/g, '\\$&')}\\s+[\\d,.]+\\n`))
    expect(r.stdout).toMatch(/\nrecords\s+20,000\n/)
    expect(r.stdout).toMatch(/\nfailed\s+0\n/)
    expect(r.stderr).toBe('')
    // The bench topic it made is gone.
    const topic = /topic\s+(\S+)/.exec(r.stdout)?.[1] as string
    expect((await cli(b('topics', 'list'))).stdout.split('\n')).not.toContain(topic)
    // At a rate: the same table.
    const paced = await cli(b('bench', '-n', '2000', '--rate', '20000', '--acks', 'all', '-z', 'zstd'), { timeoutMs: 120_000 })
    expect(paced.code, paced.stderr).toBe(0)
    expect(paced.stdout).toMatch(/\nrecords\s+2,000\n/)
    expect(paced.stdout).toMatch(/\nlatency p99 \(ms\)\s+[\d,]+\n/)
  })

  it('consume: fills a topic, reads it, reports msgs/s and MB/s', async () => {
    const r = await cli(b('bench', 'consume', '-n', '20000', '-p', '2'), { timeoutMs: 120_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/\nrecords\s+20,000\n/)
    expect(r.stdout).toMatch(/\nMB\/s\s+[\d,.]+\n/)
  })
})

describe('config files and security', () => {
  let secure: any
  let stopSecure: (() => Promise<void>) | null = null
  beforeAll(async () => {
    const file = process.env.KAFKA_SECURE_JSON?.trim()
    if (file) secure = JSON.parse(readFileSync(file, 'utf8'))
    else {
      const kafka = await kafkaScript()
      const started = await kafka.startKafka({ mode: 'secure', quiet: true, autoCreateTopics: false })
      secure = started
      stopSecure = started.reused ? null : () => started.stop()
    }
    writeFileSync(join(work, 'ca.pem'), secure.caPem)
  })
  afterAll(async () => {
    if (stopSecure) await stopSecure()
  })

  const roundTrip = async (connection: string[], env: Record<string, string> = {}) => {
    const topic = uniqueTopic('cli-sec')
    const create = await cli(['topics', 'create', topic, '-p', '2', '-r', '1', ...connection], { env })
    expect(create.code, create.stderr).toBe(0)
    const input = `${Array.from({ length: 50 }, (_, i) => `k${i}=${i}`).join('\n')}\n`
    const p = await cli(['produce', '-t', topic, '-K', '=', ...connection], { input, env })
    expect(p.code, p.stderr).toBe(0)
    const c = await cli(
      ['consume', '-t', topic, '-g', uniqueTopic('cli-sec-g'), '-o', 'beginning', '-e', '-f', '%k=%s\\n', ...connection],
      { env },
    )
    expect(c.code, c.stderr).toBe(0)
    expect(c.stdout.trimEnd().split('\n').sort()).toEqual(input.trimEnd().split('\n').sort())
  }

  it('SASL_SSL + scram-sha-512 with flags (password from the environment)', async () => {
    await roundTrip(
      [
        '-b',
        secure.listeners.SASL_SSL,
        '--ssl-ca',
        join(work, 'ca.pem'),
        '--sasl-mechanism',
        'scram-sha-512',
        '--sasl-username',
        secure.credentials.username,
      ],
      { KAFKA_SASL_PASSWORD: secure.credentials.password },
    )
  })

  it('SASL_SSL + plain from a Java .properties file (JAAS config, PEM truststore)', async () => {
    const file = join(work, 'client.properties')
    writeFileSync(
      file,
      [
        '# as for kafka-console-producer.sh --command-config',
        `bootstrap.servers=${secure.listeners.SASL_SSL}`,
        'security.protocol=SASL_SSL',
        'sasl.mechanism=PLAIN',
        `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\`,
        `    username="${secure.credentials.username}" password="${secure.credentials.password}";`,
        'ssl.truststore.type=PEM',
        'ssl.truststore.location=ca.pem',
        'request.timeout.ms=20000',
        'linger.ms=2',
        'group.id=ignored-by-admin-and-producer',
      ].join('\n'),
    )
    await roundTrip(['--config', file])
  })

  it('mTLS from a JSON config file; a wrong password is a one-line SASL error', async () => {
    const file = join(work, 'client.json')
    writeFileSync(
      file,
      JSON.stringify({
        bootstrapServers: secure.listeners.MTLS,
        ssl: { ca: 'ca.pem', cert: secure.tls.client.certFile, key: secure.tls.client.keyPkcs8File },
      }),
    )
    await roundTrip(['--config', file])
    const bad = await cli([
      'topics',
      'list',
      '-b',
      secure.listeners.SASL_SSL,
      '--ssl-ca',
      join(work, 'ca.pem'),
      '--sasl-mechanism',
      'scram-sha-256',
      '--sasl-username',
      secure.credentials.username,
      '--sasl-password',
      'wrong',
    ])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/^nkafka: SASL_AUTHENTICATION_FAILED/)
    expect(bad.stderr.trimEnd().split('\n')).toHaveLength(1)
  })
})

describe('terminal output', () => {
  /** A stand-in for process.stderr that says it is a terminal, collecting what is written. */
  const fakeTty = () => {
    const chunks: string[] = []
    return { isTTY: true, write: (s: string) => chunks.push(s) > 0, chunks } as unknown as NodeJS.WriteStream & { chunks: string[] }
  }

  it('colors and the progress bar only on a terminal, and no colors with NO_COLOR', async () => {
    const { paint, Progress } = await import('../ts/cli/output')
    const tty = fakeTty()
    const saved = process.env.NO_COLOR
    try {
      delete process.env.NO_COLOR
      expect(paint(tty).red('x')).toBe('\x1b[31mx\x1b[0m')
      process.env.NO_COLOR = '1'
      expect(paint(tty).red('x')).toBe('x')
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR
      else process.env.NO_COLOR = saved
    }
    expect(paint({ isTTY: false } as NodeJS.WriteStream).red('x')).toBe('x')
    const bar = new Progress(tty, 10, 'produce')
    bar.update(10)
    bar.done()
    expect(tty.chunks).toEqual([`\rproduce [${'#'.repeat(30)}] 100% 10/10 \x1b[K`, '\r\x1b[K'])
    const pipe = fakeTty()
    ;(pipe as { isTTY: boolean }).isTTY = false
    const quiet = new Progress(pipe, 10, 'produce')
    quiet.update(5)
    quiet.done()
    expect(pipe.chunks).toEqual([])
  })
})
