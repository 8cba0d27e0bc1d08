// PM2's ecosystem for the Node peer: cluster mode, 2 instances, the same
// environment wsworker gets.  bench/run.sh sets WS_PORT, REDIS_URL and
// NEXTAUTH_SECRET; BENCH_INSTANCES overrides the count and
// BENCH_EXTRA_APPS=N adds N idle fork-mode apps (the "3 apps" figure).
'use strict';
const path = require('path');

const apps = [{
  name: 'fonana-ws',
  script: path.join(__dirname, 'server.js'),
  instances: Number(process.env.BENCH_INSTANCES || 2),
  exec_mode: 'cluster',
  autorestart: true,
  kill_timeout: 1600,
  env: {
    NODE_ENV: 'production',
    WS_PORT: process.env.WS_PORT || 3002,
    WS_HOST: process.env.WS_HOST || '127.0.0.1',
    NEXTAUTH_SECRET: process.env.NEXTAUTH_SECRET,
    REDIS_URL: process.env.REDIS_URL,
    WS_API_KEY: process.env.WS_API_KEY || '',
  },
}];

for (let i = 0; i < Number(process.env.BENCH_EXTRA_APPS || 0); i++) {
  apps.push({
    name: 'idle-' + i,
    script: '/bin/sleep',
    args: '3600',
    interpreter: 'none',
    exec_mode: 'fork',
    autorestart: true,
  });
}

module.exports = { apps };
