// Golden test: PM2 evaluates a .json ecosystem file as a JavaScript
// expression; wsd reads it as JSON, else JSON5 (common/json5.c).  For every
// tests/fixtures/json5/* case and every .json/.json5 ecosystem fixture,
// node's evaluation (the independent reference) and wsd's reader must give
// the same data, and what node refuses wsd must refuse too.
'use strict'
const fs = require('fs')
const path = require('path')
const vm = require('vm')
const assert = require('assert')
const { spawnSync } = require('child_process')

const top = process.env.WSD_TOP || path.resolve(__dirname, '..', '..')
const objdir = process.env.WSD_OBJDIR || path.join(top, 'build')
const read = path.join(objdir, 'tools', 'eco-read')
const fixtures = path.join(top, 'tests', 'fixtures')

const files = []
for (const f of fs.readdirSync(path.join(fixtures, 'json5')).sort()) {
  if (f.endsWith('.json5')) files.push(path.join(fixtures, 'json5', f))
}
for (const f of fs.readdirSync(path.join(fixtures, 'pm2')).sort()) {
  if (/\.json5?$/.test(f)) files.push(path.join(fixtures, 'pm2', f))
}

let failed = 0
function ok (name) { console.log('ok - ' + name) }
function notOk (name, why) { failed++; console.log('not ok - ' + name + '\n  # ' + String(why).replace(/\n/g, '\n  # ')) }

if (files.length < 10) notOk('fixtures', 'only ' + files.length + ' files')
for (const file of files) {
  const name = path.relative(fixtures, file)
  const text = fs.readFileSync(file, 'utf8')
  let want
  try {
    // What PM2 runs; JSON.stringify is what reaches its daemon.
    want = JSON.parse(JSON.stringify(vm.runInNewContext('(' + text + ')', {})))
  } catch (e) {
    want = { threw: e.message }
  }
  const r = spawnSync(read, [file], { encoding: 'utf8' })
  if (r.error) { notOk(name, read + ': ' + r.error.message); continue }
  const base = path.basename(file)
  if (want.threw !== undefined || base.startsWith('strict-')) {
    if (r.status === 1 && /:\d+:\d+: /.test(r.stderr)) {
      ok(name + ': refused with a place (' + r.stderr.trim().replace(/^.*?:(\d+:\d+): /, '$1: ') + ')')
    } else {
      notOk(name + ': refused', 'node: ' + JSON.stringify(want) + '\nwsd status ' + r.status + ': ' + r.stdout + r.stderr)
    }
    continue
  }
  if (base.startsWith('bad-')) { notOk(name, 'a bad- case that node reads: ' + JSON.stringify(want)); continue }
  try {
    assert.deepStrictEqual(JSON.parse(r.stdout), want)
    ok(name + ': the same data as node')
  } catch (e) {
    notOk(name + ': the same data as node', 'node: ' + JSON.stringify(want) + '\nwsd:  ' + r.stdout.trim() + r.stderr)
  }
}
console.log('# ' + files.length + ' files, ' + failed + ' failed')
process.exit(failed ? 1 : 0)
