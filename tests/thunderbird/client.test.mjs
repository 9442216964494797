// client.test.mjs - node --test: the add-on's protocol module against the
// real imapexec -P behind Dovecot (tests/66-thunderbird-module.bats sets
// TB_* in the environment: ports, user, password file, CAs).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, closeAll } from './node-transport.mjs';

after(closeAll);

const env = process.env;
const user = env.TB_USER;
const pass = readFileSync(env.TB_PASSFILE, 'utf8').replace(/\n$/, '');
const ca = readFileSync(env.TB_CA);

// session(how, port): a logged-in client over "ssl", "starttls" or "plain".
async function session(how = 'ssl', port = Number(env.TB_POST_IMAPS), opts = {}) {
    const c = await connect({ port, tls: how === 'ssl' ? { ca } : null, timeout: 15000 });
    await c.greeting();
    if (how === 'starttls') {
        c.transport.startTlsOptions = { ca };
        await c.starttls();
    }
    if (opts.plainAuth) {
        await c.authenticatePlain(opts.user ?? user, opts.pass ?? pass);
    } else {
        await c.login(opts.user ?? user, opts.pass ?? pass);
    }
    return c;
}

const dec = new TextDecoder();

test('LOGIN over TLS, the sync, discovery lists the configured services', async () => {
    const c = await session();
    assert.ok(c.hasCapability('EXECUTE'));
    const list = await c.services();
    const names = list.map(s => s.name);
    assert.deepEqual(names, ['echo', 'fail', 'sig', 'cat', 'bin', 'crlfcat', 'gruss', 'deaf']);
    assert.deepEqual(list.find(s => s.name === 'cat').flags, ['INTERACTIVE']);
    assert.deepEqual(list.find(s => s.name === 'crlfcat').flags, ['INTERACTIVE', 'CRLF']);
    assert.equal(list.find(s => s.name === 'echo').description, 'print the arguments');
    // a description with 8-bit octets comes as a literal
    assert.equal(list.find(s => s.name === 'gruss').description, 'sagt Grüße «hallo»');
    await c.logout();
});

test('AUTHENTICATE PLAIN over STARTTLS, then a one-shot run', async () => {
    const c = await connect({ port: Number(env.TB_POST_IMAP), tls: null, timeout: 15000 });
    await c.greeting();
    // STARTTLS needs the CA: the node transport takes it from its options
    c.transport.startTlsOptions = { ca };
    await c.starttls().catch(e => { throw e; });
    await c.authenticatePlain(user, pass);
    const r = await c.run('echo', ['hello']);
    assert.equal(r.ok, true);
    assert.equal(r.outText, '[hello]\n');
    assert.deepEqual(r.exit, { code: 0 });
    await c.logout();
});

test('arguments as atoms, quoted strings and literals reach argv exactly', async () => {
    const c = await session();
    const args = ['plain', 'two words', 'quote " and \\ back', 'Grüße', 'tab\there', '~tilde', '{brace}', ''];
    const r = await c.run('echo', args);
    assert.equal(r.ok, true, r.text);
    assert.equal(r.outText, args.map(a => `[${a}]`).join('') + '\n');
    // a NUL in an argument is refused with NO [CANNOT]: nothing runs
    const bad = await c.run('echo', ['a\0b']);
    assert.equal(bad.ok, false);
    assert.equal(bad.code, 'CANNOT');
    await c.logout();
});

test('INPUT as a literal, OUT and ERR, EXIT n and SIGNAL', async () => {
    const c = await session();
    const r = await c.run('fail', [], { input: 'line one\nzwei ß\n' });
    assert.equal(r.ok, false);
    assert.equal(r.status, 'NO');
    assert.equal(r.code, 'EXITCODE');
    assert.deepEqual(r.exit, { code: 3 });
    assert.equal(r.outText, 'line one\nzwei ß\n');
    assert.equal(r.errText, 'oops\n');
    const s = await c.run('sig');
    assert.deepEqual(s.exit, { signal: 'SIGTERM' });
    assert.equal(s.code, 'EXITSIGNAL');
    // binary output (a NUL: a literal8) arrives octet for octet
    const b = await c.run('bin');
    assert.deepEqual([...b.out], [97, 0, 98, 255, 10, 99]);
    await c.logout();
});

test('refusals: unknown service, dash argument', async () => {
    const c = await session();
    const r = await c.run('nosuch', []);
    assert.equal(r.ok, false);
    assert.equal(r.code, 'NONEXISTENT');
    const d = await c.run('echo', ['-n']);
    assert.equal(d.code, 'CANNOT');
    await c.logout();
});

test('interactive: lines, a literal line, binary bytes, DONE', async () => {
    const c = await session();
    const got = [];
    const s = c.interactive('cat', [], { onOutput: (k, b) => got.push([k, b]) });
    await s.ready;
    s.send('hello');
    s.send('DONE');          // the word, as data (a literal)
    s.send('"quoted"');
    s.send('Grüße');
    s.sendBytes(new Uint8Array([0, 1, 2, 10]));
    s.done();
    const r = await s.result;
    assert.equal(r.ok, true, r.text);
    assert.deepEqual(r.exit, { code: 0 });
    assert.deepEqual([...r.out], [...new TextEncoder().encode('hello\nDONE\n"quoted"\nGrüße\n'), 0, 1, 2, 10]);
    assert.ok(got.length > 0);
    // the connection goes on: another command after the session
    const e = await c.run('echo', ['after']);
    assert.equal(e.outText, '[after]\n');
    await c.logout();
});

test('interactive: a CRLF service gets CRLF line ends', async () => {
    const c = await session();
    const s = c.interactive('crlfcat', [], { crlf: true });
    await s.ready;
    s.send('a');
    s.send('b\u00e4');
    s.done();
    const r = await s.result;
    assert.equal(r.outText, 'a\r\nb\u00e4\r\n');
    await c.logout();
});

test('interactive: CANCEL kills the service', async () => {
    const c = await session();
    const s = c.interactive('cat');
    await s.ready;
    s.send('x');
    const r = await s.cancel().then(() => s.result);
    assert.equal(r.ok, false);
    assert.equal(r.code, 'CANCELED');
    await c.logout();
});

test('interactive: cancel() while a literal waits for its "+" (the service reads nothing) closes the connection at once, never sends CANCEL as data', { timeout: 20000 }, async () => {
    const c = await session();
    const sent = [];
    const write = c.transport.write;
    c.transport.write = b => { sent.push(Buffer.from(b).toString('latin1')); return write(b); };
    const s = c.interactive('deaf');
    await s.ready;
    // 1 MiB the service never reads; then a literal whose "+" never comes
    s.sendBytes(new Uint8Array(1 << 20).fill(120));
    s.sendBytes(new Uint8Array([121]));
    s.send('after');
    await new Promise(r => setTimeout(r, 1500));
    assert.equal(sent.filter(x => x === '{1}\r\n').length, 1);
    const t = Date.now();
    await s.cancel();
    await assert.rejects(s.result, e => e.kind === 'closed' && /not reading its input/.test(e.message));
    assert.ok(Date.now() - t < 3000);
    assert.ok(!sent.some(x => /CANCEL|after/.test(x)), 'nothing after the waiting literal');
});

test('interactive: a one-shot refused before it is ready rejects ready', async () => {
    const c = await session();
    const s = c.interactive('nosuch');
    await assert.rejects(s.ready, e => e.kind === 'refused' && e.code === 'NONEXISTENT');
    const r = await s.result;
    assert.equal(r.code, 'NONEXISTENT');
    await c.logout();
});

test('a server without EXECUTE (Dovecot alone): "no-execute", nothing sent', async () => {
    const c = await session('ssl', Number(env.TB_DIRECT_IMAPS));
    assert.equal(c.hasCapability('EXECUTE'), false);
    await assert.rejects(c.services(), e => e.kind === 'no-execute');
    await assert.rejects(c.run('echo', ['x']), e => e.kind === 'no-execute');
    await c.logout();
});

test('an untrusted certificate is refused', async () => {
    await assert.rejects(connect({ port: Number(env.TB_POST_IMAPS), tls: { ca: readFileSync(env.TB_OTHER_CA) } }),
        e => /certificate/i.test(e.message));
});

test('without the sync, EXECUTE would not be taken up: the module always syncs', async () => {
    const c = await session();
    // the login reply offered a token, and it was used up by the NOOP
    assert.equal(c.syncToken, null);
    const r = await c.run('echo', ['synced']);
    assert.equal(r.outText, '[synced]\n');
    await c.logout();
});

test('a password with quotes, spaces and 8-bit octets goes as a literal; a wrong one is "auth"', async () => {
    // the password of the file has quotes and spaces (a quoted string)
    const c = await session('ssl');
    await c.logout();
    await assert.rejects(session('ssl', Number(env.TB_POST_IMAPS), { pass: 'wrong ä\r\n' }),
        e => e.kind === 'auth');
    await assert.rejects(session('ssl', Number(env.TB_POST_IMAPS), { pass: 'wrong', plainAuth: true }),
        e => e.kind === 'auth');
});

test('hostile arguments (IMAP syntax, CRLF, long, 8-bit) are one argument each', async () => {
    const c = await session();
    const args = ['NIL', 'nil', '{5}', '{5+}', '~{5}', 'a\r\nb', '*', '%', '(', ')', ']', '[x', '"', '\\',
        'a b@x.org', 'x'.repeat(2000), 'müller@bücher.de', 'DONE', '+', 'X1 OK'];
    // echo takes at most 16 arguments
    for (const part of [args.slice(0, 10), args.slice(10)]) {
        const r = await c.run('echo', part);
        assert.equal(r.ok, true, r.text);
        assert.equal(r.outText, part.map(a => `[${a}]`).join('') + '\n');
    }
    await c.logout();
});

test('runEach: many items in chunks; a refused item (a leading "-") does not stop the others', async () => {
    const c = await session();
    const items = [];
    for (let i = 0; i < 40; i++) {
        items.push(i === 13 ? '-evil@x.org' : `a${i}@x.org`);
    }
    // echo takes at most 16 arguments: 40 items in one run would be refused
    const all = await c.run('echo', ['add', ...items.filter(a => !a.startsWith('-'))]);
    assert.equal(all.code, 'CANNOT');
    const res = await c.runEach('echo', ['add'], items, { chunk: 8 });
    assert.equal(res.length, 40);
    for (const r of res) {
        if (r.item === '-evil@x.org') {
            assert.equal(r.ok, false);
            assert.equal(r.code, 'CANNOT');
        } else {
            assert.equal(r.ok, true, `${r.item}: ${r.text}`);
        }
    }
    assert.deepEqual(res.map(r => r.item), items);
    await c.logout();
});
