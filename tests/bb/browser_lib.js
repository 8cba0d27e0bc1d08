// Headless chromium for the browser tests: Debian's /usr/bin/chromium,
// driven by npm playwright-core, its process group killed at exit.
'use strict';
const path = require('path');
const lib = require('./lib');

let browser;

process.on('exit', () => {
	// playwright's chromium runs in its own process group; make sure it is gone.
	try { if (browser && browser.process && browser.process()) process.kill(-browser.process().pid, 'SIGKILL'); } catch (e) { /* ignore */ }
	try { if (browser && browser.process && browser.process()) browser.process().kill('SIGKILL'); } catch (e) { /* ignore */ }
});

// A launched browser, or an error that says chromium could not start.
async function launchChromium() {
	const { chromium } = require(path.join(lib.TOP, 'node_modules', 'playwright-core'));
	try {
		browser = await chromium.launch({
			executablePath: '/usr/bin/chromium',
			args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
			    '--no-first-run', '--disable-component-update', '--disable-sync'],
			timeout: 30000,
		});
	} catch (e) {
		throw new Error('chromium could not be launched: ' + e.message.split('\n')[0]);
	}
	return browser;
}

module.exports = { launchChromium };
