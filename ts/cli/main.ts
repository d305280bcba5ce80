#!/usr/bin/env node
/**
 * `nkafka`: kcat's job over nkafka's public API. Exit codes: 0 success, 1 a Kafka or
 * broker error (one line: its code and message), 2 a bad or missing flag (one line naming it).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { KafkaError } from '../index'
import { UsageError } from './args'
import { bench } from './bench'
import { configs } from './configs'
import { consume } from './consume'
import { groups } from './groups'
import { metadata } from './metadata'
import { errorLine, paint } from './output'
import { produce } from './produce'
import { topics } from './topics'

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { produce, consume, topics, groups, metadata, configs, bench }

const HELP = `Usage: nkafka <command> [options]   (nkafka <command> --help for its options)

Commands:
  produce    records from stdin or a file, one per line
  consume    records to stdout: plain, a format string, or JSON lines
  topics     list | describe | create | delete
  groups     list | describe | lag | reset-offsets
  metadata   brokers, controller and topics
  configs    get | set topic, broker, broker-logger and group configs
  bench      produce / consume throughput and latency against any cluster

Brokers: -b host:port,... or $KAFKA_BROKERS (default localhost:9092). See docs/CLI.md.
`

function version(): string {
  // dist/cli/main.js -> package.json at the package root
  return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    // No command at all is a usage error: the help goes to stderr then.
    ;(command === undefined ? process.stderr : process.stdout).write(HELP)
    return command === undefined ? 2 : 0
  }
  if (command === '--version' || command === '-V') {
    process.stdout.write(`nkafka ${version()}\n`)
    return 0
  }
  const run = COMMANDS[command]
  if (run === undefined)
    throw new UsageError(`unknown command ${JSON.stringify(command)}; expected ${Object.keys(COMMANDS).join(', ')} (nkafka --help)`)
  return run(rest)
}

/** One line for any failure: usage errors exit 2, Kafka and other errors 1. */
function report(e: unknown): number {
  const red = paint(process.stderr).red
  if (e instanceof UsageError) {
    process.stderr.write(`${red('nkafka:')} ${e.message}\n`)
    return 2
  }
  if (e instanceof KafkaError) {
    process.stderr.write(`${red('nkafka:')} ${errorLine(e)}\n`)
    return 1
  }
  process.stderr.write(`${red('nkafka:')} ${e instanceof Error ? e.message : String(e)}\n`)
  return 1
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code
    },
    (e) => {
      process.exitCode = report(e)
    },
  )
}
