// Golden test: PM2 prefixes log lines with dayjs().format(log_date_format).
// For fixed times in several zones, common/datefmt.c (through the datefmt
// tool) must print exactly what the npm dayjs package prints.
'use strict'
const path = require('path')
const { spawnSync } = require('child_process')

const top = process.env.WSD_TOP || path.resolve(__dirname, '..', '..')
const objdir = process.env.WSD_OBJDIR || path.join(top, 'build')
const tool = path.join(objdir, 'tools', 'datefmt')
const dayjs = require(path.join(top, 'node_modules', 'dayjs'))

const zones = ['UTC', 'Asia/Kolkata', 'America/New_York', 'Asia/Kathmandu',
  'America/St_Johns', 'Pacific/Chatham', 'Europe/Paris']
const times = [
  0, -1, 7, 1700000000123, 1709251199999, 1710054000000, 1719792000500,
  1735689599999, 951782400000, 4102444800042, 1704067200000 + 12 * 3600e3,
  1704067200000 + 13 * 3600e3 + 5 * 60e3 + 9e3, -2500000000000]
const formats = [
  'YYYY-MM-DD HH:mm:ss Z', 'YYYY-MM-DD HH:mm:ss.SSS ZZ', 'YYYY-MM-DDTHH:mm:ss',
  'YY M MM MMM MMMM D DD', 'd dd ddd dddd', 'H HH h hh a A', 'm mm s ss SSS',
  '[Today is] dddd [at] h:mm A', '[YYYY] YYYY [] [a[b] x', 'YYY MMMMM DDD dddddd hhh',
  'SS S Q X x k Do W w E', 'ZZZ Z', '[unclosed YYYY', 'plain text, no tokens: ,.;/'
]

let failed = 0
let n = 0
for (const tz of zones) {
  process.env.TZ = tz
  const lines = []
  const want = []
  for (const t of times) {
    for (const f of formats) {
      lines.push(t + '\t' + f)
      want.push(dayjs(t).format(f))
    }
  }
  const r = spawnSync(tool, [], { input: lines.join('\n') + '\n', encoding: 'utf8', env: { ...process.env, TZ: tz } })
  if (r.error || r.status !== 0) {
    failed++
    console.log('not ok - ' + tz + ': datefmt ran\n  # ' + (r.error ? r.error.message : 'status ' + r.status + ' ' + r.stderr))
    continue
  }
  const got = r.stdout.split('\n')
  let bad = 0
  for (let i = 0; i < want.length; i++) {
    n++
    if (got[i] !== want[i]) {
      if (bad++ < 5) console.log('  # ' + tz + ' ' + lines[i] + ': dayjs "' + want[i] + '", wsd "' + got[i] + '"')
    }
  }
  if (bad === 0) console.log('ok - ' + tz + ': ' + want.length + ' formats print as dayjs prints them')
  else { failed++; console.log('not ok - ' + tz + ': ' + bad + ' of ' + want.length + ' differ from dayjs') }
}
console.log('# ' + n + ' cases, ' + failed + ' zones failed')
process.exitCode = failed ? 1 : 0
