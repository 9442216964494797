// tests/rcnode/browser.mjs - a person using Roundcube (tests/68-roundcube.bats):
// Debian's Chromium, headless, driven by puppeteer-core.
//
//   node browser.mjs junk USER PASSFILE SUBJECT SHOT
//   node browser.mjs notjunk USER PASSFILE SUBJECT SHOT
//   node browser.mjs sections USER PASSFILE SHOT
//   node browser.mjs lists USER PASSFILE SHOT [add|remove LIST ADDR]...
//   node browser.mjs csrf USER PASSFILE ADDR1 ADDR2 ADDR3
//     (a forged POST of Settings' save without the token adds ADDR1, a
//     GET with the fields ADDR2, the same POST with the token ADDR3;
//     prints "csrf HOW HTTP-STATUS")
//
// RC_URL is Roundcube's address.  Output, one a line: "message TYPE TEXT"
// (Roundcube's message area), "row SUBJECT" (the message list after the
// action), "section ID" (Settings), "LIST ADDR" and, after Save and a
// reload, "after LIST ADDR" (LIST: blocked or allowed), "dialog TEXT"
// (a script opened a dialog: injected), "injected N" (elements other than
// Roundcube's own in the message area).  SHOT: a PNG.
import puppeteer from 'puppeteer-core';
import { readFileSync } from 'node:fs';

const [cmd, user, passfile, ...rest] = process.argv.slice(2);
const url = process.env.RC_URL;
// how long a person waits for one step (a page, a message): long enough
// for a machine busy with the rest of the suite
const T = 60000;

// say(words...): one output line.
function say(...words) {
	process.stdout.write(words.join(' ') + '\n');
}

// step(what): a line on stderr, with the seconds since the start: where a
// run that failed or timed out was (tests/roundcube.bash prints stderr).
const t0 = Date.now();
let at = 'start';
function step(what) {
	at = what;
	process.stderr.write(`step ${((Date.now() - t0) / 1000).toFixed(1)}s ${what}\n`);
}

// A run that has not ended after DEADLINE ms gives up and says where it
// was, before the test's `timeout` kills it without a word.
const DEADLINE = 200000;
setTimeout(() => {
	process.stderr.write(`gave up after ${DEADLINE / 1000}s at step: ${at}\n`);
	process.exit(3);
}, DEADLINE).unref();

// login(page): the login form, filled in and sent; waits for the mail view.
async function login(page) {
	step('login page');
	await page.goto(url, { waitUntil: 'networkidle0' });
	await page.type('#rcmloginuser', user);
	await page.type('#rcmloginpwd', readFileSync(passfile, 'utf8').replace(/\n$/, ''));
	await Promise.all([
		page.waitForNavigation({ waitUntil: 'networkidle0' }),
		page.click('#rcmloginsubmit'),
	]);
	step('logged in: the message list');
	await page.waitForSelector('#messagelist tbody tr', { timeout: T, polling: 200 });
}

// record(): in every document, keep each message Roundcube shows as it
// comes (window.__shown): Roundcube hides a message after a few seconds,
// and on a busy machine that may be before the next step reads it.
//
// Roundcube hides a confirmation after 5 s: here after 0.5 s, so that a
// step that would miss a message on a slow machine misses it every time.
function record() {
	window.__shown = [];
	document.addEventListener('DOMContentLoaded', () => {
		if (window.rcmail)
			window.rcmail.message_time = 500;
	});
	new MutationObserver(recs => {
		for (const r of recs) {
			for (const n of r.addedNodes) {
				if (n.nodeType === 1 && n.parentElement?.id === 'messagestack')
					window.__shown.push(n);
			}
		}
	}).observe(document, { childList: true, subtree: true });
}

// messages(page, want): wait for a message matching the selector WANT
// (of those shown since the page loaded), then print every message shown
// since then but "Loading...", in order.
async function messages(page, want) {
	await page.waitForFunction(w => window.__shown.some(n => n.matches('div.' + w)),
		{ timeout: T, polling: 200 }, want);
	await new Promise(r => setTimeout(r, 300)); // a second one may follow
	const all = await page.evaluate(() => window.__shown
		.filter(n => n.matches('div.content:not(.loading)'))
		.map(n => [n.classList[0], n.innerText || n.textContent]));
	const injected = await page.evaluate(() => window.__shown.flatMap(n => [...n.querySelectorAll('*')])
		.filter(e => !['DIV', 'SPAN', 'BR', 'I', 'A', 'BUTTON'].includes(e.tagName)).length);
	if (injected)
		say('injected', injected);
	for (const [type, text] of all)
		say('message', type, text.replace(/\s+/g, ' '));
}

// rows(page): print the subjects of the message list.
async function rows(page) {
	const subj = await page.$$eval('#messagelist tbody tr span.subject',
		els => els.map(e => e.innerText.trim()));
	for (const s of subj)
		say('row', s);
}

// idle(page): wait until Roundcube is not busy (it ignores commands while
// a request runs, as a person sees by the "Loading..." message).
async function idle(page) {
	await page.waitForFunction(() => window.rcmail && !window.rcmail.busy &&
		!document.querySelector('#messagestack div.loading'), { timeout: T, polling: 200 });
}

// pick(page, subject): click the message list row with SUBJECT.
async function pick(page, subject) {
	await page.waitForFunction(s => [...document.querySelectorAll('#messagelist tbody tr')]
		.some(tr => tr.innerText.includes(s)), { timeout: T, polling: 200 }, subject);
	const rowsH = await page.$$('#messagelist tbody tr');
	for (const r of rowsH) {
		if ((await r.evaluate(e => e.innerText)).includes(subject)) {
			await r.click();
			return;
		}
	}
	throw new Error('no message ' + subject);
}

// mark(page, which, subject, shot): select SUBJECT, click the toolbar
// button WHICH (junk or notjunk), report what the user sees.
async function mark(page, which, subject, shot) {
	step('pick ' + subject);
	await pick(page, subject);
	const sel = `#layout-content a.button.${which}:not(.disabled)`;
	await page.waitForSelector(sel, { visible: true, timeout: T });
	// the message is shown (as a person waits for it before acting)
	await page.waitForFunction(s => {
		const f = document.querySelector('#messagecontframe');
		const d = f && f.contentDocument;
		return d && d.readyState === 'complete' && d.body.innerText.includes(s);
	}, { timeout: T, polling: 200 }, subject);
	await idle(page);
	step('shown; click ' + which);
	await page.screenshot({ path: shot.replace(/\.png$/, '-before.png') });
	// a click that lands while Roundcube still sets up the preview is
	// ignored (no request): then click again, as a person would
	const action = which === 'junk' ? 'plugin.markasjunk.junk' : 'plugin.markasjunk.not_junk';
	for (let i = 0; ; i++) {
		const sent = page.waitForRequest(r => r.url().includes('_action=' + action), { timeout: 5000 });
		await page.click(sel);
		try {
			await sent;
			break;
		} catch (e) {
			if (i === 3)
				throw e;
		}
	}
	// the confirmation, then the move done (markasjunk moves after it)
	step('request sent; wait for the move');
	try {
		await page.waitForFunction(() => window.__shown.filter(n => n.matches('div.confirmation'))
			.some(e => /moved/i.test(e.innerText || e.textContent)), { timeout: T, polling: 200 });
		await messages(page, 'confirmation');
	} catch (e) {
		await page.screenshot({ path: shot.replace(/\.png$/, '-failed.png') });
		throw e;
	}
	await page.screenshot({ path: shot });
	await rows(page);
}

// settings(page): open Settings; print the sections.
async function settings(page) {
	step('settings');
	await Promise.all([
		page.waitForNavigation({ waitUntil: 'networkidle0' }),
		page.click('#taskmenu a.settings'),
	]);
	await page.waitForSelector('#sections-table tbody tr', { timeout: T, polling: 200 });
	const ids = await page.$$eval('#sections-table tbody tr', els => els.map(e => e.id.replace(/^rcmrow/, '')));
	for (const id of ids)
		say('section', id);
	return ids;
}

// section(page, prefix): open "Blocked and allowed senders"; print both
// lists (prefix before each line); returns the frame.
async function section(page, prefix) {
	step('section ' + prefix.join(' '));
	await page.click('#rcmrowimapexec');
	const handle = await page.waitForSelector('#preferences-frame', { timeout: T, polling: 200 });
	await page.waitForFunction(() => {
		const f = document.querySelector('#preferences-frame');
		return f && f.contentDocument && f.contentDocument.querySelector('input.imapexec-add, .imapexec-error');
	}, { timeout: T, polling: 200 });
	const frame = await handle.contentFrame();
	const lists = await frame.$$eval('fieldset', fs => fs.map(f => [
		f.querySelector('input.imapexec-add')?.id || '',
		[...f.querySelectorAll('.imapexec-addr')].map(l => l.innerText.trim()),
		[...f.querySelectorAll('.imapexec-error')].map(l => l.innerText.trim()),
	]));
	for (const [id, addrs, errs] of lists) {
		const list = id.replace(/^imapexec_/, '').replace(/_add$/, '');
		for (const a of addrs)
			say(...prefix, list, a);
		for (const e of errs)
			say(...prefix, 'error', e);
	}
	return frame;
}

step('launch');
const browser = await puppeteer.launch({
	executablePath: '/usr/bin/chromium',
	headless: true,
	args: ['--no-sandbox', '--disable-dev-shm-usage', '--lang=en-US'],
	timeout: T,
});
let closing = false, page = null;
try {
	page = await browser.newPage();
	if (process.env.RC_DEBUG) {
		page.on('console', m => process.stderr.write(`console: ${m.text()}\n`));
		page.on('requestfailed', r => process.stderr.write(`failed ${r.url()} ${r.failure()?.errorText}\n`));
		page.on('request', r => { if (r.url().includes('_action=')) process.stderr.write(`request ${r.method()} ${r.url()}\n`); });
		page.on('response', async r => {
			if (r.url().includes('_action=') || r.url().includes('_task='))
				process.stderr.write(`response ${r.status()} ${r.url()}\n`);
		});
	}
	// what went wrong in the browser itself, on stderr
	page.on('error', e => process.stderr.write(`page crashed: ${e.message}\n`));
	page.on('pageerror', e => process.stderr.write(`page error: ${e.message}\n`));
	browser.on('disconnected', () => closing || process.stderr.write('browser crashed (disconnected)\n'));
	page.on('dialog', async d => {
		say('dialog', d.message());
		await d.dismiss();
	});
	await page.evaluateOnNewDocument(record);
	await page.setViewport({ width: 1280, height: 800 });
	page.setDefaultTimeout(T);
	await login(page);
	if (cmd === 'junk' || cmd === 'notjunk') {
		const [subject, shot] = rest;
		if (cmd === 'notjunk') {
			await Promise.all([
				page.waitForResponse(r => r.url().includes('_action=list')),
				page.click('#mailboxlist li.junk a'),
			]);
		}
		await mark(page, cmd, subject, shot);
	} else if (cmd === 'sections') {
		await settings(page);
		await page.screenshot({ path: rest[0] });
	} else if (cmd === 'lists') {
		const [shot, ...edits] = rest;
		const ids = await settings(page);
		if (!ids.includes('imapexec'))
			throw new Error('no section imapexec');
		let frame = await section(page, []);
		await page.screenshot({ path: shot });
		if (edits.length) {
			for (let i = 0; i + 2 < edits.length + 1; i += 3) {
				const [op, list, addr] = edits.slice(i, i + 3);
				if (op === 'add') {
					await frame.type(`#imapexec_${list}_add`, addr);
				} else {
					const ok = await frame.$$eval(`input[name="_imapexec_${list}_remove[]"]`,
						(els, a) => { const e = els.find(x => x.value === a); if (e) e.click(); return !!e; }, addr);
					if (!ok)
						throw new Error(`no ${addr} in ${list}`);
				}
			}
			await page.screenshot({ path: shot.replace(/\.png$/, '-edit.png') });
			// Save: the button of the form (Elastic shows it under the frame)
			const saved = frame.waitForNavigation({ waitUntil: 'load' });
			const btn = await page.$('#layout-content .footer button.submit, #layout-content .formbuttons button.submit');
			if (btn && await btn.isVisible())
				await btn.click();
			else
				await frame.click('.formbuttons button.submit, button.mainaction');
			await saved;
			step('saved');
			await messages(page, 'content:not(.loading)');
			await page.screenshot({ path: shot.replace(/\.png$/, '-saved.png') });
			await page.reload({ waitUntil: 'networkidle0' });
			await page.waitForSelector('#sections-table tbody tr', { timeout: T, polling: 200 });
			frame = await section(page, ['after']);
		}
	} else if (cmd === 'csrf') {
		// another site's form would post the fields without the token
		const [a1, a2, a3] = rest;
		const got = await page.evaluate(async (a1, a2, a3) => {
			const save = '?_task=settings&_action=save-prefs';
			const form = (addr, token) => new URLSearchParams(Object.assign({
				_section: 'imapexec', _imapexec_blocked_add: addr }, token ? { _token: token } : {}));
			const out = [];
			let r = await fetch(save, { method: 'POST', body: form(a1) });
			out.push(['post-without-token', r.status]);
			r = await fetch(save + '&' + form(a2));
			out.push(['get', r.status]);
			r = await fetch(save, { method: 'POST', body: form(a3, window.rcmail.env.request_token) });
			out.push(['post-with-token', r.status]);
			return out;
		}, a1, a2, a3);
		for (const [how, status] of got)
			say('csrf', how, status);
	} else {
		throw new Error('unknown command ' + cmd);
	}
} catch (e) {
	// where the page was and what it showed: the test prints stderr
	process.stderr.write(`failed at step "${at}": ${e.stack || e}\n`);
	if (page) {
		process.stderr.write(`url: ${page.url()}\n`);
		const shown = await page.evaluate(() => (window.__shown || [])
			.map(n => `${n.className}: ${(n.innerText || n.textContent).trim()}`))
			.catch(x => [`(page not readable: ${x.message})`]);
		for (const m of shown)
			process.stderr.write(`shown ${m}\n`);
		// the browser's last words: roundcube.bash prints the last line
		// that says an error
		process.stderr.write(`failed at step "${at}": ${String(e).split('\n')[0]}\n`);
		const shot = rest.find(a => /\.png$/.test(a));
		if (shot)
			await page.screenshot({ path: shot.replace(/\.png$/, '-failed.png') }).catch(() => {});
	}
	process.exitCode = 1;
} finally {
	closing = true;
	await browser.close();
}
