// Golden test: every tests/fixtures/dotenv/*.env parsed by the real npm
// dotenv package and by our envfile-dump must give the same variables.
'use strict'
const fs = require('fs')
const path = require('path')
const { execFileSync } = require('child_process')

const top = process.env.WSD_TOP || path.resolve(__dirname, '..', '..')
const dotenv = require(path.join(top, 'node_modules', 'dotenv'))
const objdir = process.env.WSD_OBJDIR || path.join(top, 'build')
const dump = path.join(objdir, 'tools', 'envfile-dump')
const dir = path.join(top, 'tests', 'fixtures', 'dotenv')

// An object as [key, value] pairs sorted by key: JavaScript lists
// integer-like keys first, which says nothing about the parser.
function entries (o) {
  return Object.keys(o).sort().map(k => [k, o[k]])
}

const files = fs.readdirSync(dir).filter(f => f.endsWith('.env')).sort()
let failed = 0
if (files.length === 0) {
  console.log('not ok - no fixtures in ' + dir)
  failed++
}
for (const f of files) {
  const file = path.join(dir, f)
  const want = entries(dotenv.parse(fs.readFileSync(file)))
  let got
  try {
    got = entries(JSON.parse(execFileSync(dump, [file], { encoding: 'utf8' })))
  } catch (e) {
    console.log(`not ok - ${f}: envfile-dump failed: ${e.message}`)
    failed++
    continue
  }
  const a = JSON.stringify(want)
  const b = JSON.stringify(got)
  if (a === b) {
    console.log(`ok - ${f} (${want.length} keys)`)
    continue
  }
  failed++
  console.log(`not ok - ${f}`)
  const keys = new Set([...want.map(e => e[0]), ...got.map(e => e[0])])
  const w = Object.fromEntries(want)
  const g = Object.fromEntries(got)
  for (const k of [...keys].sort()) {
    if (w[k] !== g[k]) {
      console.log(`#   ${k}: dotenv ${JSON.stringify(w[k])}, ours ${JSON.stringify(g[k])}`)
    }
  }
}
// Then random files built from the characters the rules are about, with a
// fixed seed so that a failure can be replayed.
const os = require('os')
const alphabet = ['A', 'B', 'x', '=', '=', ' ', '\t', '\n', '\n', '\r', '"', "'",
  '`', '\\', '#', 'n', 'export ', ': ', '.', '-', '\u2028', '\u00a0', '\\n',
  '\\"', "\\'", '\ufeff', '\u00e9']
let seed = 20261122
function rnd (n) {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed % n
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dotenv-golden-'))
const rounds = Number(process.env.DOTENV_ROUNDS || 200)
let bad = 0
for (let r = 0; r < rounds; r++) {
  let text = ''
  for (let i = rnd(60) + 1; i > 0; i--) text += alphabet[rnd(alphabet.length)]
  const file = path.join(tmp, 'r.env')
  fs.writeFileSync(file, text)
  const a = JSON.stringify(entries(dotenv.parse(Buffer.from(text))))
  let b
  try {
    b = JSON.stringify(entries(JSON.parse(execFileSync(dump, [file], { encoding: 'utf8' }))))
  } catch (e) {
    b = 'error: ' + e.message
  }
  if (a !== b && bad++ < 5) {
    console.log(`# random input ${JSON.stringify(text)}: dotenv ${a}, ours ${b}`)
  }
}
fs.rmSync(tmp, { recursive: true, force: true })
if (bad) {
  console.log(`not ok - random inputs: ${bad} of ${rounds} differ`)
  failed++
} else {
  console.log(`ok - random inputs: ${rounds} files agree`)
}

process.exit(failed ? 1 : 0)
