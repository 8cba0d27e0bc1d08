// Waits for PM2 to report a replacement of a killed instance as online:
// `node pm2poll.js PM_ID OLD_PID [TIMEOUT_MS]` prints {"ready":true} once
// it talks to the daemon, then {"online_realtime_ms":…,"pid":…} (or
// {"timeout":true}).  It keeps one connection to the God daemon and polls
// its list every 2 ms, as wsbench polls wsd's control socket.
'use strict';
const { performance } = require('perf_hooks');
const pm2 = require('pm2');

const id = Number(process.argv[2]);
const old = Number(process.argv[3]);
const limit = Number(process.argv[4] || 10000);
let said = false;
let started = 0;

function out(o) {
  process.stdout.write(JSON.stringify(o) + '\n');
}

function done(o) {
  out(o);
  pm2.disconnect();
  process.exit(0);
}

pm2.connect((err) => {
  if (err) { out({ error: String(err) }); process.exit(1); }
  started = Date.now();
  const tick = () => {
    pm2.list((e, list) => {
      const now = performance.timeOrigin + performance.now();
      if (!e && !said) { said = true; out({ ready: true }); }
      const p = (list || []).find((x) => x.pm_id === id);
      if (p && p.pid && p.pid !== old && p.pm2_env && p.pm2_env.status === 'online') {
        done({ online_realtime_ms: now, pid: p.pid });
        return;
      }
      if (Date.now() - started > limit) { done({ timeout: true }); return; }
      setTimeout(tick, 2);
    });
  };
  tick();
});
