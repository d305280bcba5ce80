#!/usr/bin/env node
// Regenerates results/<tag>-summary.md and results/<tag>-chart.svg from results/<tag>-*.json
// (and the README's table). usage: node bench/report.mjs [tag]   (default: the newest tag)

import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeReport } from './lib/report.mjs'
import { WORKLOAD_IDS } from './lib/workloads.mjs'

const BENCH = path.dirname(fileURLToPath(import.meta.url))
const RESULTS = path.join(BENCH, 'results')
const REPO = path.resolve(BENCH, '..')
let tag = process.argv[2]
if (!tag) {
  const re = new RegExp(`^(.*)-(${WORKLOAD_IDS.map((w) => w.replace('-', '\\-')).join('|')})\\.json$`)
  // The tag of the most recently written results file.
  const tags = fs
    .readdirSync(RESULTS)
    .map((f) => ({ tag: re.exec(f)?.[1], mtime: fs.statSync(path.join(RESULTS, f)).mtimeMs }))
    .filter((x) => x.tag)
    .sort((a, b) => a.mtime - b.mtime)
    .map((x) => x.tag)
  tag = tags.at(-1)
  if (!tag) {
    process.stderr.write('report: no results yet\n')
    process.exit(1)
  }
}
const { summary, chart } = writeReport(RESULTS, tag, {
  updateReadme: path.join(BENCH, 'README.md'),
  updateRootReadme: path.join(REPO, 'README.md'),
})
process.stdout.write(`${path.relative(process.cwd(), summary)}\n${path.relative(process.cwd(), chart)}\n`)
