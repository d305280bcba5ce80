// kcat 1.7.1 (Debian package, on Debian's librdkafka 2.0.2) as a command-line reference.
// There is no timer inside: its figures are the wall time of the whole process (start,
// metadata, and for P1 reading the input file), so they slightly understate its speed.
//   P1:  kcat -P reads N newline-separated values (100 random base64 characters each)
//        from a file on stdin; it exits once every message is delivered.
//   C1:  kcat -C -o beginning -c N -e, output discarded (-f with an empty line per message).

import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

export const meta = {
  id: 'kcat',
  label: 'kcat (CLI, librdkafka 2.0.2)',
  package: null,
  runtime: 'native',
  external: true,
  workloads: {
    P1: {
      api: 'kcat -P -b B -t T -X acks=1 < file (one value per line)',
      config: 'acks=1; librdkafka 2.0.2 defaults otherwise (linger.ms 5); wall time of the process',
    },
    'P1-6': { api: 'as P1 (librdkafka partitioner for null keys: random)', config: 'as P1' },
    C1: {
      api: "kcat -C -b B -t T -o beginning -c N -e -q -f '\\n' > /dev/null",
      config: 'simple (assign) consumer, librdkafka defaults; wall time of the process',
    },
    'C1-6': { api: 'as C1 (all partitions)', config: 'as C1' },
  },
  unsupported: {
    P2: 'n/a (CLI reference for P1/C1 only)',
    P3: 'n/a (CLI reference for P1/C1 only)',
    C2: 'n/a (CLI reference for P1/C1 only)',
    'C2-6': 'n/a (CLI reference for P1/C1 only)',
    E2E: 'n/a (CLI reference for P1/C1 only)',
  },
}

/** N lines of `size` printable random characters, written once per (N, size) and reused. */
function inputFile(dir, n, size) {
  const file = path.join(dir, `kcat-input-${n}x${size}.txt`)
  if (fs.existsSync(file)) return file
  const tmp = `${file}.${process.pid}.tmp`
  const fd = fs.openSync(tmp, 'w')
  try {
    const perChunk = 10_000
    for (let done = 0; done < n; done += perChunk) {
      const count = Math.min(perChunk, n - done)
      const raw = randomBytes(Math.ceil((count * size * 3) / 4) + 3)
        .toString('base64')
        .replace(/[+/=]/g, 'x')
      const lines = new Array(count)
      for (let i = 0; i < count; i++) lines[i] = raw.slice(i * size, (i + 1) * size)
      fs.writeSync(fd, `${lines.join('\n')}\n`)
    }
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(tmp, file)
  return file
}

export function command(spec, ctx) {
  if (spec.kind === 'consume') {
    return {
      cmd: ctx.kcat,
      args: [
        '-C',
        '-b',
        spec.bootstrap,
        '-t',
        spec.topic,
        '-o',
        'beginning',
        '-c',
        String(spec.n),
        '-e',
        '-q',
        '-f',
        '\n',
        '-X',
        `client.id=bench-kcat`,
      ],
      wallClock: true,
    }
  }
  return {
    cmd: ctx.kcat,
    args: ['-P', '-b', spec.bootstrap, '-t', spec.topic, '-X', `acks=${spec.acks}`, '-X', 'client.id=bench-kcat'],
    stdinFile: inputFile(ctx.tmpDir, spec.n, spec.valueSize),
    wallClock: true,
  }
}
