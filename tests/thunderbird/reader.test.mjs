// reader.test.mjs - node --test: the response reader of the add-on's
// protocol module fed every response form of the README's ABNF in random
// splits, and the client against scripted servers over real sockets:
// reads split inside literals, a "+" nobody asked for, a BYE, a server
// that never answers (the timeout), an oversized literal.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ExecuteClient, ResponseReader, tokenize, tokenText } from '../../src/thunderbird/addon/modules/execute-client.mjs';
import { connect, closeAll } from './node-transport.mjs';

after(closeAll);

const enc = new TextEncoder();

// A deterministic PRNG (mulberry32), so a failure can be replayed.
function rng(seed) {
    return () => {
        seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

// bytes(...parts): strings (latin1) and Uint8Arrays, joined.
function bytes(...parts) {
    const bs = parts.map(p => (typeof p === 'string' ? Uint8Array.from(p, c => c.charCodeAt(0)) : p));
    const out = new Uint8Array(bs.reduce((n, b) => n + b.length, 0));
    let o = 0;
    for (const b of bs) { out.set(b, o); o += b.length; }
    return out;
}

const bin = new Uint8Array(300).map((_, i) => (i * 7) & 255);
// Every response form of the README's ABNF, and a few of plain IMAP.
const STREAM = bytes(
    '* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] ready\r\n',
    '* EXECUTE SERVICE echo () "print the arguments"\r\n',
    '* EXECUTE SERVICE cal (INTERACTIVE) {12}\r\n', enc.encode('Grüße «x»'), '\r\n',
    '* EXECUTE SERVICE smtp (INTERACTIVE CRLF) "an \\"smtp\\" session \\\\ here"\r\n',
    'X1 OK EXECUTE completed\r\n',
    '+ cal ready, send DONE to end the input\r\n',
    '* EXECUTE (TAG "X2") OUT "8:00 make coffee"\r\n',
    '* EXECUTE (TAG "X2") OUT {10}\r\ncalendar> \r\n',
    '* EXECUTE (TAG "X2") ERR ~{300}\r\n', bin, '\r\n',
    '* EXECUTE (TAG "X2") OUT {0}\r\n\r\n',
    '* EXECUTE (TAG "X2") OUT {4+}\r\n{3}\n\r\n',
    '+ Ready for literal data\r\n',
    '* EXECUTE (TAG "X2") EXIT 0\r\n',
    'X2 OK cal completed\r\n',
    '* EXECUTE (TAG "X3") SIGNAL SIGKILL\r\n',
    'X3 NO [EXITSIGNAL SIGKILL] x stopped\r\n',
    'X4 NO [EXITCODE 3] x failed\r\n',
    'X5 NO [LIMIT] x stopped: timeout\r\n',
    'X6 NO [NONEXISTENT] No such service\r\n',
    'X7 BAD EXECUTE is only valid in authenticated state\r\n',
    '* 3 FETCH (BODY[] {5}\r\nab\r\nc)\r\n',
    '* BYE bye\r\n');

// parseAll(chunks): what the reader makes of the chunks, tokenized.
function parseAll(chunks) {
    const r = new ResponseReader();
    const out = [];
    for (const c of chunks) {
        for (const resp of r.push(c)) {
            out.push({ text: resp.text, toks: JSON.stringify(tokenize(resp, 0), (k, v) => (v instanceof Uint8Array ? [...v] : v)) });
        }
    }
    assert.equal(r.pending, 0);
    return out;
}

test('reader: every response form, one read', () => {
    const all = parseAll([STREAM]);
    assert.equal(all.length, 22);
    const svc = tokenize({ text: all[2].text, literals: [enc.encode('Grüße «x»')] }, 10);
    assert.equal(tokenText(svc[3]), 'Grüße «x»');
    const smtp = tokenize({ text: all[3].text, literals: [] }, 10);
    assert.equal(tokenText(smtp[3]), 'an "smtp" session \\ here');
    assert.deepEqual(smtp[2].v.map(tokenText), ['INTERACTIVE', 'CRLF']);
    const err = JSON.parse(all[8].toks);
    assert.deepEqual(err[4].v, [...bin]);
    assert.equal(err[4].literal, true);
});

test('reader: 2000 random splits (single octets, inside literals and CRLFs) give the same responses', () => {
    const want = parseAll([STREAM]);
    const rand = rng(42);
    for (let round = 0; round < 2000; round++) {
        const chunks = [];
        let i = 0;
        while (i < STREAM.length) {
            const n = rand() < 0.3 ? 1 : 1 + Math.floor(rand() * 64);
            chunks.push(STREAM.slice(i, i + n));
            i += n;
        }
        assert.deepEqual(parseAll(chunks), want, `round ${round}`);
    }
});

test('reader: a literal over the limit and an endless line are protocol errors', () => {
    const r = new ResponseReader({ maxLiteral: 100, maxLine: 1000 });
    assert.throws(() => r.push(bytes('* X {101}\r\n')), e => e.kind === 'protocol');
    const r2 = new ResponseReader({ maxLine: 1000 });
    assert.throws(() => r2.push(new Uint8Array(2000).fill(65)), e => e.kind === 'protocol');
});

// fakeServer(script): a TCP server on 127.0.0.1 whose one connection is
// handled by script(conn); conn.line() reads a client line, conn.send(x)
// writes x in random pieces with pauses.  Resolves with { port, done }.
function fakeServer(script, seed = 1) {
    const rand = rng(seed);
    return new Promise(resolve => {
        let done;
        const finished = new Promise(r => { done = r; });
        const srv = net.createServer(sock => {
            srv.close();
            let buf = Buffer.alloc(0);
            const waiting = [];
            const pump = () => {
                while (waiting.length) {
                    const nl = buf.indexOf('\n');
                    if (nl < 0) return;
                    const l = buf.subarray(0, nl + 1).toString('latin1');
                    buf = buf.subarray(nl + 1);
                    waiting.shift()(l.replace(/\r?\n$/, ''));
                }
            };
            sock.on('data', d => { buf = Buffer.concat([buf, d]); pump(); });
            sock.on('error', () => {});
            const closed = new Promise(r => sock.on('close', r));
            const conn = {
                line: () => new Promise(r => { waiting.push(r); pump(); }),
                raw: n => new Promise(r => {
                    const f = () => {
                        if (buf.length >= n) { const b = buf.subarray(0, n); buf = buf.subarray(n); r(b); } else sock.once('data', () => setImmediate(f));
                    };
                    f();
                }),
                send: async x => {
                    const b = Buffer.from(typeof x === 'string' ? Buffer.from(x, 'latin1') : x);
                    for (let i = 0; i < b.length;) {
                        const n = 1 + Math.floor(rand() * 7);
                        sock.write(b.subarray(i, i + n));
                        i += n;
                        await new Promise(r => setTimeout(r, rand() < 0.2 ? 2 : 0));
                    }
                },
                closed,
                sock,
                end: () => sock.end()
            };
            Promise.resolve(script(conn)).then(done, e => done(e));
        });
        srv.listen(0, '127.0.0.1', () => resolve({ port: srv.address().port, finished }));
    });
}

// loginScript(conn): greeting, LOGIN answered with EXECUTE-SYNC, the NOOP
// checked; returns the token.
async function loginScript(conn) {
    await conn.send('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n');
    const l = await conn.line();
    const tag = l.split(' ')[0];
    assert.match(l, /^X\d+ LOGIN "u" "p w"$/);
    await conn.send(`${tag} OK [CAPABILITY IMAP4rev1 EXECUTE EXECUTE-SYNC=0123456789abcdef0123456789abcdef] Logged in\r\n`);
    const n = await conn.line();
    assert.match(n, /^X\d+ NOOP 0123456789abcdef0123456789abcdef$/);
    await conn.send(`${n.split(' ')[0]} OK NOOP completed\r\n`);
}

test('client: output split across reads, an unasked "+", literals split anywhere', async () => {
    for (let seed = 1; seed <= 20; seed++) {
        const srv = await fakeServer(async conn => {
            await loginScript(conn);
            const l = await conn.line();
            assert.match(l, /^X3 EXECUTE echo a \{3\}$/);
            await conn.send('+ Ready for argument\r\n');
            const lit = await conn.raw(3);
            assert.equal(lit.toString('latin1'), 'b\nc');
            assert.equal(await conn.line(), ' d');
            await conn.send('+ nobody asked\r\n');
            await conn.send('* EXECUTE (TAG "X3") OUT "one"\r\n* EXECUTE (TAG "X3") OUT {5}\r\nt\r\nwo\r\n');
            await conn.send('* EXECUTE (TAG "X9") OUT "not ours"\r\n');
            await conn.send(bytes('* EXECUTE (TAG "X3") ERR ~{4}\r\n', new Uint8Array([0, 255, 13, 10]), '\r\n'));
            await conn.send('+ again\r\n* EXECUTE (TAG "X3") EXIT 0\r\nX3 OK echo completed\r\n');
            assert.match(await conn.line(), /^X4 LOGOUT$/);
            await conn.send('* BYE\r\nX4 OK bye\r\n');
            conn.end();
        }, seed);
        const c = await connect({ port: srv.port, timeout: 5000 });
        await c.greeting();
        assert.equal(await c.login('u', 'p w'), true);
        const r = await c.run('echo', ['a', 'b\nc', 'd']);
        assert.equal(r.outText, 'one\nt\r\nwo');
        assert.deepEqual([...r.err], [0, 255, 13, 10]);
        assert.deepEqual(r.exit, { code: 0 });
        await c.logout();
        assert.equal(await srv.finished, undefined);
    }
});

test('client: a server that never answers gives "timeout" and the connection is closed', async () => {
    const srv = await fakeServer(async conn => {
        await conn.send('* OK hi\r\n');
        await conn.line();
        await conn.closed;
    });
    const c = await connect({ port: srv.port, timeout: 300 });
    await c.greeting();
    await assert.rejects(c.login('u', 'p'), e => e.kind === 'timeout');
    await srv.finished;
    // and one that is silent from the start
    const srv2 = await fakeServer(conn => conn.closed);
    const c2 = await connect({ port: srv2.port, timeout: 300 });
    await assert.rejects(c2.greeting(), e => e.kind === 'timeout');
    await srv2.finished;
});

test('client: a BYE and a close during a command reject it as "closed" with the text', async () => {
    const srv = await fakeServer(async conn => {
        await loginScript(conn);
        await conn.line();
        await conn.send('* BYE server shutting down\r\n');
        conn.end();
    });
    const c = await connect({ port: srv.port, timeout: 5000 });
    await c.greeting();
    await c.login('u', 'p w');
    await assert.rejects(c.services(), e => e.kind === 'closed' && /shutting down/.test(e.message));
});

test('client: a login reply without EXECUTE: "no-execute", no EXECUTE sent', async () => {
    const srv = await fakeServer(async conn => {
        await conn.send('* OK [CAPABILITY IMAP4rev1] hi\r\n');
        const l = await conn.line();
        await conn.send(`${l.split(' ')[0]} OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n`);
        const n = await conn.line();
        assert.match(n, /^X\d+ LOGOUT$/);
        await conn.send(`${n.split(' ')[0]} OK bye\r\n`);
        conn.end();
    });
    const c = await connect({ port: srv.port, timeout: 5000 });
    await c.greeting();
    assert.equal(await c.login('u', 'p w'), false);
    await assert.rejects(c.services(), e => e.kind === 'no-execute');
    await c.logout();
    assert.equal(await srv.finished, undefined);
});

test('reader: a large literal in small reads is put together in linear time (octets copied counted)', () => {
    // Uint8Array.prototype.set and slice are how the reader copies; count
    // the octets they copy while an 4 MiB literal arrives in 4 KiB reads
    const size = 4 << 20;
    const r = new ResponseReader();
    let copied = 0;
    const set = Uint8Array.prototype.set;
    const slice = Uint8Array.prototype.slice;
    Uint8Array.prototype.set = function (src, off) { copied += src.length; return set.call(this, src, off); };
    Uint8Array.prototype.slice = function (a, b) { const s = slice.call(this, a, b); copied += s.length; return s; };
    let got;
    try {
        r.push(bytes(`* EXECUTE (TAG "X1") OUT {${size}}\r\n`));
        const chunk = new Uint8Array(4096).fill(97);
        for (let i = 0; i < size; i += chunk.length) {
            const done = r.push(chunk);
            assert.equal(done.length, 0);
        }
        got = r.push(bytes('\r\n'));
    } finally {
        Uint8Array.prototype.set = set;
        Uint8Array.prototype.slice = slice;
    }
    assert.equal(got.length, 1);
    assert.equal(got[0].literals[0].length, size);
    assert.ok(copied <= 4 * size, `copied ${copied} octets for a literal of ${size}`);
});

test('client: a service whose output never ends: the run fails with "limit" once maxOutput is passed, the connection is closed', async () => {
    let sent = 0;
    const srv = await fakeServer(async conn => {
        await loginScript(conn);
        const l = await conn.line();
        assert.match(l, /^X3 EXECUTE yes$/);
        let open = true;
        conn.closed.then(() => { open = false; });
        const chunk = bytes('* EXECUTE (TAG "X3") OUT {65536}\r\n', new Uint8Array(65536).fill(121), '\r\n');
        while (open) {
            // raw writes with back pressure (conn.send splits into tiny pieces)
            if (!conn.sock.write(chunk)) {
                await Promise.race([new Promise(r => conn.sock.once('drain', r)), conn.closed]);
            }
            sent += chunk.length;
        }
    });
    const c = await connect({ port: srv.port, timeout: 20000 });
    c.maxOutput = 1 << 20;
    await c.greeting();
    await c.login('u', 'p w');
    await assert.rejects(c.run('yes'), e => e.kind === 'limit');
    assert.equal(await srv.finished, undefined);
    assert.ok(sent > 1 << 20);
    // the default is bounded too
    assert.ok(new ExecuteClient({}).maxOutput <= 64 << 20);
});

test('client: data after STARTTLS\'s OK in the same read (an injection) fails the connection before any TLS; nothing more is sent', async () => {
    // the OK and a forged CAPABILITY in one write: one TCP segment
    for (const injected of ['* CAPABILITY IMAP4rev1 AUTH=PLAIN EXECUTE\r\n', 'X2 OK [CAPABILITY IMAP4rev1', '*']) {
        let after = 0;
        const srv = await fakeServer(async conn => {
            await conn.send('* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\r\n');
            const l = await conn.line();
            assert.match(l, /^X1 STARTTLS$/);
            conn.sock.on('data', d => { after += d.length; });
            conn.sock.write('X1 OK Begin TLS negotiation now\r\n' + injected);
            // the client closes; it wrote nothing more (no TLS hello)
            await conn.closed;
        });
        const c = await connect({ port: srv.port, timeout: 5000 });
        await c.greeting();
        let upgraded = false;
        c.transport.startTls = async () => { upgraded = true; };
        await assert.rejects(c.starttls(), e => e.kind === 'tls' && /plaintext after agreeing to STARTTLS/.test(e.message));
        assert.equal(upgraded, false);
        assert.equal(c.hasCapability('EXECUTE'), false);
        assert.equal(await srv.finished, undefined);
        assert.equal(after, 0, 'the client wrote after the injection');
    }
});

test('client: STARTTLS\'s OK alone: the upgrade starts, capabilities learnt in plaintext are forgotten', async () => {
    const srv = await fakeServer(async conn => {
        await conn.send('* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN EXECUTE] hi\r\n');
        const l = await conn.line();
        assert.match(l, /^X1 STARTTLS$/);
        await conn.send('X1 OK Begin TLS negotiation now\r\n');
        // (no TLS here: the test's transport pretends) the CAPABILITY
        const c2 = await conn.line();
        assert.match(c2, /^X2 CAPABILITY$/);
        await conn.send('* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nX2 OK done\r\n');
        conn.end();
    });
    const c = await connect({ port: srv.port, timeout: 5000 });
    await c.greeting();
    assert.equal(c.hasCapability('EXECUTE'), true);
    let upgraded = false;
    c.transport.startTls = async () => { upgraded = true; };
    await c.starttls();
    assert.equal(upgraded, true);
    assert.equal(c.hasCapability('EXECUTE'), false);
    assert.equal(c.hasCapability('AUTH=PLAIN'), true);
    assert.equal(await srv.finished, undefined);
});

// ---- STARTTLS against a man in the middle and odd servers (a break-it
// review's cases: each failed before the fix).

// starttlsScript(conn, answer): greeting with STARTTLS, the STARTTLS line
// checked, answered with answer.
async function starttlsScript(conn, greeting, answer) {
    await conn.send(greeting);
    assert.match(await conn.line(), /^X1 STARTTLS$/);
    await conn.send(answer);
}

test('STARTTLS: an EXECUTE-SYNC token read in plaintext (greeting, untagged, the OK\'s code) is never sent after TLS', async () => {
    // the three places a man in the middle can put it before the upgrade
    const routes = [
        ['* OK [CAPABILITY IMAP4rev1 STARTTLS EXECUTE-SYNC=evil] hi\r\n', 'X1 OK Begin TLS\r\n'],
        ['* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n', '* CAPABILITY IMAP4rev1 EXECUTE-SYNC=evil\r\nX1 OK Begin TLS\r\n'],
        ['* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n', 'X1 OK [CAPABILITY IMAP4rev1 EXECUTE-SYNC=evil] Begin TLS\r\n'],
    ];
    for (const [greeting, answer] of routes) {
        let afterLogin = null;
        const srv = await fakeServer(async conn => {
            await starttlsScript(conn, greeting, answer);
            // (over TLS from here: the test's transport pretends)
            assert.match(await conn.line(), /^X2 CAPABILITY$/);
            await conn.send('* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nX2 OK done\r\n');
            assert.match(await conn.line(), /^X3 LOGIN /);
            // a server without imapexec: its login reply has no EXECUTE-SYNC
            await conn.send('X3 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n');
            afterLogin = await Promise.race([conn.line(), new Promise(r => setTimeout(() => r(null), 300))]);
            if (afterLogin !== null) {
                await conn.send(`${afterLogin.split(' ')[0]} BAD no arguments\r\n`);
            }
            conn.end();
        });
        const c = await connect({ port: srv.port, timeout: 5000 });
        await c.greeting();
        c.transport.startTls = async () => {};
        await c.starttls();
        const r = await c.login('u', 'p w').then(v => v, e => e);
        assert.equal(await srv.finished, undefined);
        assert.equal(afterLogin, null, `the client sent "${afterLogin}" (a token it read in plaintext); login gave ${r}`);
        assert.equal(r, false);
    }
});

test('STARTTLS refused (NO): "tls" with the server\'s text, not taken for an injection', async () => {
    const srv = await fakeServer(async conn => {
        await starttlsScript(conn, '* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n', 'X1 NO [UNAVAILABLE] TLS not configured\r\n');
        // (a client that closes after the refusal is right too)
        const l = await Promise.race([conn.line(), conn.closed.then(() => null)]);
        if (l !== null) {
            assert.match(l, /^X2 CAPABILITY$/);
            await conn.send('* CAPABILITY IMAP4rev1\r\nX2 OK done\r\n');
        }
        conn.end();
    });
    const c = await connect({ port: srv.port, timeout: 5000 });
    await c.greeting();
    await assert.rejects(c.starttls(), e => e.kind === 'tls' && /refused/.test(e.message));
    // either the refusal ends the connection (with that as its error), or
    // the connection goes on in plaintext; not an "injection"
    const r = await c.capability().then(() => null, e => e);
    assert.ok(r === null || !/injecting/.test(r.message), `capability() after the refusal: ${r && r.message}`);
    await srv.finished;
});

test('STARTTLS refused: a LOGIN queued behind it is never sent in plaintext', async () => {
    let leaked = null;
    const srv = await fakeServer(async conn => {
        await starttlsScript(conn, '* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n', 'X1 NO not now\r\n');
        leaked = await Promise.race([conn.line(), new Promise(r => setTimeout(() => r(null), 300))]);
        if (leaked !== null) {
            await conn.send(`${leaked.split(' ')[0]} NO go away\r\n`);
        }
        conn.end();
    });
    const c = await connect({ port: srv.port, timeout: 5000 });
    await c.greeting();
    // a caller that does not await each step
    const tls = c.starttls();
    const login = c.login('u', 'secret');
    await assert.rejects(tls);
    await login.catch(() => {});
    await srv.finished;
    assert.equal(leaked, null, `sent in plaintext after STARTTLS was refused: ${leaked}`);
});

test('STARTTLS: plaintext injected after the handshake began: "tls", for the call and the connection', async () => {
    const srv = await fakeServer(async conn => {
        await starttlsScript(conn, '* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n', 'X1 OK Begin TLS\r\n');
        // the man in the middle's bytes, a read of their own, after the
        // client started its handshake (its ClientHello arrives first)
        await new Promise(r => conn.sock.once('data', r));
        conn.sock.write('* CAPABILITY IMAP4rev1 AUTH=PLAIN EXECUTE\r\n');
        await conn.closed;
    });
    const c = await connect({ port: srv.port, timeout: 5000 });
    await c.greeting();
    const e = await c.starttls().then(() => null, x => x);
    await srv.finished;
    assert.ok(e, 'starttls() resolved');
    const seen = `starttls() rejected with ${e.name} kind=${e.kind}; the connection's error: ${c.error?.kind} ${c.error?.message}`;
    assert.ok(e.kind === 'tls' && c.error?.kind === 'tls', seen);
});

test('STARTTLS: a server silent after its OK: the handshake ends in "timeout"', async () => {
    const srv = await fakeServer(async conn => {
        await starttlsScript(conn, '* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n', 'X1 OK Begin TLS\r\n');
        // reads the ClientHello, never answers
        await new Promise(r => setTimeout(r, 2500));
        conn.sock.destroy();
    });
    const c = await connect({ port: srv.port, timeout: 500 });
    await c.greeting();
    const outcome = await Promise.race([
        c.starttls().then(() => 'resolved', e => 'rejected ' + e.kind),
        new Promise(r => setTimeout(() => r('still waiting after 4 timeouts'), 2000)),
    ]);
    await srv.finished;
    assert.equal(outcome, 'rejected timeout');
});

// fedClient(greeting): an ExecuteClient on a transport of the test's own
// (writes recorded, startTls counted), greeted; feeding is by hand, so
// reads may be split and ordered at will, with no event loop in between.
async function fedClient(greeting) {
    const t = { sent: [], upgrades: 0, closed: false };
    t.write = b => t.sent.push(Buffer.from(b).toString('latin1'));
    t.close = () => { t.closed = true; };
    t.startTls = async () => { t.upgrades++; };
    const c = new ExecuteClient(t, { timeout: 2000 });
    const g = c.greeting();
    c.feed(enc.encode(greeting));
    await g;
    return { c, t };
}

test('STARTTLS: STARTTLS\'s answer split at every octet, an injection after it in the same octet-reads or in a read of its own: "tls", no upgrade, nothing sent', async () => {
    const G = '* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n';
    const cases = [
        ['X1 OK go\r\n*', ''], // the injection's first octet in the OK's last read
        ['X1 OK go\r\n', '* CAPABILITY IMAP4rev1 EXECUTE\r\n'], // a read of its own
        ['X1 OK go\r\n', '\r'],
        ['* CAPABILITY IMAP4rev1 STARTTLS\r\nX1 OK {3}\r\nabc\r\n', 'X2 OK [CAPABILITY EXECUTE] forged\r\n'],
        ['* BYE soon\r\nX1 OK go\r\n', '\n'],
    ];
    for (const [answer, injected] of cases) {
        for (const split of [1, 3, 1 << 20]) {
            const { c, t } = await fedClient(G);
            const p = c.starttls();
            p.catch(() => {});
            await new Promise(r => setImmediate(r)); // STARTTLS written
            assert.deepEqual(t.sent, ['X1 STARTTLS\r\n']);
            const all = enc.encode(answer);
            for (let i = 0; i < all.length; i += split) {
                c.feed(all.subarray(i, i + split));
            }
            if (injected) {
                c.feed(enc.encode(injected));
            }
            await assert.rejects(p, e => e.kind === 'tls' && /plaintext after agreeing/.test(e.message), JSON.stringify([answer, injected, split]));
            assert.equal(t.upgrades, 0);
            assert.equal(t.closed, true);
            assert.deepEqual(t.sent, ['X1 STARTTLS\r\n']);
            assert.equal(c.hasCapability('EXECUTE'), false);
        }
    }
});

test('STARTTLS: untagged responses, a "+" and a literal before STARTTLS\'s OK are no injection; the upgrade follows', async () => {
    const { c, t } = await fedClient('* OK [CAPABILITY IMAP4rev1 STARTTLS EXECUTE] hi\r\n');
    const p = c.starttls();
    await new Promise(r => setImmediate(r));
    for (const b of enc.encode('* OK still {3}\r\nabc\r\n+ whatever\r\n* CAPABILITY IMAP4rev1 EXECUTE\r\nX1 OK go\r\n')) {
        c.feed(Uint8Array.of(b));
    }
    await new Promise(r => setImmediate(r));
    assert.equal(t.upgrades, 1);
    assert.equal(c.hasCapability('EXECUTE'), false);
    assert.deepEqual(t.sent, ['X1 STARTTLS\r\n', 'X2 CAPABILITY\r\n']);
    c.feed(enc.encode('* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nX2 OK done\r\n'));
    await p;
    assert.equal(c.hasCapability('AUTH=PLAIN'), true);
});

// ---- interactive().cancel() and the EXECUTE-SYNC token checks (a second
// break-it review's cases; the ones named for a rule failed before it).

// sessionClient(timeout): a fedClient (EXECUTE offered) with its own
// timeout, and an interactive session of "cat" made ready by hand.
async function sessionClient(timeout = 2000, opts = {}) {
    const { c, t } = await fedClient('* OK [CAPABILITY IMAP4rev1 EXECUTE] hi\r\n');
    c.timeout = timeout;
    const s = c.interactive('cat', [], opts);
    await new Promise(r => setImmediate(r));
    c.feed(enc.encode('+ cat ready, send DONE to end the input\r\n'));
    await s.ready;
    return { c, t, s };
}

// settled(p, ms): 'resolved', 'rejected <kind>' or 'pending' after ms.
function settled(p, ms) {
    return Promise.race([
        p.then(() => 'resolved', e => 'rejected ' + e.kind),
        new Promise(r => setTimeout(() => r('pending'), ms)),
    ]);
}

test('interactive: cancel() after DONE (imapexec reads no more input) closes the connection', async () => {
    const { c, t, s } = await sessionClient(200);
    await s.done();
    assert.deepEqual(t.sent, ['X1 EXECUTE cat\r\n', 'DONE\r\n']);
    s.cancel();
    // imapexec (session.c client_input) stops reading at DONE: CANCEL is
    // never seen; the service runs on, no tagged answer comes
    const after = await settled(s.result, 1000); // five client timeouts
    assert.ok(!t.sent.slice(2).includes('CANCEL\r\n') || after !== 'pending',
        `CANCEL after DONE, and the result is ${after} (the Cancel button does nothing)`);
    assert.notEqual(after, 'pending');
    c.fail(new Error('test over'));
});

test('interactive: a CANCEL imapexec never reads (input buffer full) closes the connection after the timeout', async () => {
    const { c, t, s } = await sessionClient(200);
    // plain lines are written without flow control; imapexec stops
    // reading the client once 64 KiB wait for the service (IBUF_SZ),
    // so the CANCEL behind them stays unread
    for (let i = 0; i < 20; i++) {
        await s.send('x'.repeat(8000));
    }
    s.cancel();
    assert.equal(t.sent[t.sent.length - 1], 'CANCEL\r\n');
    assert.notEqual(await settled(s.result, 1000), 'pending', 'still waiting after five client timeouts');
    c.fail(new Error('test over'));
});

test('interactive: cancel() before ready waits for it: never a command of its own', async () => {
    const { c, t } = await fedClient('* OK [CAPABILITY IMAP4rev1 EXECUTE] hi\r\n');
    const s = c.interactive('cat');
    s.cancel();
    await new Promise(r => setImmediate(r));
    assert.equal(t.sent.indexOf('CANCEL\r\n') < 0 || t.sent.indexOf('CANCEL\r\n') > t.sent.indexOf('X1 EXECUTE cat\r\n'), true,
        `sent: ${JSON.stringify(t.sent)}`);
    c.fail(new Error('test over'));
});

test('interactive: cancel() while an argument literal waits for its "+" never becomes the argument\'s octets', async () => {
    const { c, t } = await fedClient('* OK [CAPABILITY IMAP4rev1 EXECUTE] hi\r\n');
    const s = c.interactive('cat', ['Grüße']);
    await new Promise(r => setImmediate(r));
    assert.deepEqual(t.sent, ['X1 EXECUTE cat {7}\r\n']);
    s.cancel();
    c.feed(enc.encode('+ Ready for argument\r\n'));
    await new Promise(r => setImmediate(r));
    assert.ok(!t.sent.includes('CANCEL\r\n') || t.closed,
        `CANCEL sent inside the EXECUTE command: ${JSON.stringify(t.sent)}`);
    c.fail(new Error('test over'));
});

test('interactive: cancel() from onOutput in the read with the literal\'s "+": nothing is written after the close', async () => {
    let s;
    const { c, t, s: s0 } = await sessionClient(2000, { onOutput: () => s.cancel() });
    s = s0;
    const sent = s.send('Grüße');
    await new Promise(r => setImmediate(r));
    assert.deepEqual(t.sent.slice(1), ['{8}\r\n']);
    c.feed(enc.encode('+ Ready for literal data\r\n* EXECUTE (TAG "X1") OUT "prompt"\r\n'));
    await sent.catch(() => {});
    await s.result.catch(() => {});
    assert.equal(t.closed, true);
    assert.deepEqual(t.sent.slice(1), ['{8}\r\n'], 'written after close()');
});

test('interactive and tokens: cancel() twice, after the result, with DONE and input queued behind it: one CANCEL, nothing else', async () => {
    const { c, t, s } = await sessionClient();
    s.send('Grüße'); // a literal: dropped, not started yet
    s.send('plain');
    s.done();
    s.cancel();
    s.cancel();
    await new Promise(r => setImmediate(r));
    assert.deepEqual(t.sent, ['X1 EXECUTE cat\r\n', 'CANCEL\r\n']);
    c.feed(enc.encode('* EXECUTE (TAG "X1") SIGNAL SIGTERM\r\nX1 NO [CANCELED] cat canceled: CANCEL received\r\n'));
    const r = await s.result;
    assert.equal(r.code, 'CANCELED');
    await s.cancel();
    assert.deepEqual(t.sent, ['X1 EXECUTE cat\r\n', 'CANCEL\r\n']);
});

test('interactive and tokens: cancel() while a literal (non-ASCII, >8000, "\\"x", "{5}") waits for its "+", byte-by-byte "+" after it: "closed", no CANCEL, no data', async () => {
    for (const line of ['Grüße', 'y'.repeat(8001), '"DONE"', '{5}', '~{5}']) {
        const { c, t, s } = await sessionClient();
        const p = s.send(line);
        await new Promise(r => setImmediate(r));
        assert.match(t.sent[1], /^\{\d+\}\r\n$/);
        s.cancel();
        for (const b of enc.encode('+ Ready for literal data\r\n')) {
            c.feed(Uint8Array.of(b)); // after the close: ignored
        }
        await assert.rejects(p, e => e.kind === 'closed');
        await assert.rejects(s.result, e => e.kind === 'closed');
        assert.equal(t.closed, true);
        assert.equal(t.sent.length, 2, JSON.stringify(t.sent));
    }
});

// loginFed(greeting, reply): a fedClient that logged in with the reply
// to LOGIN (and "OK" to anything after it); returns { c, t, ok }.
async function loginFed(greeting, reply) {
    const { c, t } = await fedClient(greeting);
    const p = c.login('u', 'p');
    await new Promise(r => setImmediate(r));
    c.feed(enc.encode(reply));
    for (let i = 0; i < 5; i++) {
        await new Promise(r => setImmediate(r));
        const last = t.sent[t.sent.length - 1];
        const tag = last.split(' ')[0];
        if (t.sent.length > 1 && !last.includes('LOGIN') && !t.answered?.includes(tag)) {
            (t.answered ??= []).push(tag);
            c.feed(enc.encode(last.includes('CAPABILITY') ? `* CAPABILITY IMAP4rev1 EXECUTE\r\n${tag} OK done\r\n` : `${tag} OK done\r\n`));
        }
    }
    return { c, t, ok: await p };
}

const TOK = '0123456789abcdefABCDEF0123456789';

test('interactive and tokens: EXECUTE-SYNC tokens: mixed case sent as is; not 32 hex digits never sent; a login reply without one after a list with one: no NOOP; of two, a valid one is sent', async () => {
    const G = '* OK [CAPABILITY IMAP4rev1 EXECUTE EXECUTE-SYNC=' + TOK + '] hi\r\n';
    const cases = [
        ['* OK [CAPABILITY IMAP4rev1] hi\r\n', `X1 OK [CAPABILITY IMAP4rev1 EXECUTE EXECUTE-SYNC=${TOK}] in\r\n`, `X2 NOOP ${TOK}\r\n`],
        ['* OK [CAPABILITY IMAP4rev1] hi\r\n', 'X1 OK [CAPABILITY IMAP4rev1 EXECUTE EXECUTE-SYNC={5}] in\r\n', null],
        ['* OK [CAPABILITY IMAP4rev1] hi\r\n', `X1 OK [CAPABILITY IMAP4rev1 EXECUTE EXECUTE-SYNC=${TOK}0] in\r\n`, null],
        ['* OK [CAPABILITY IMAP4rev1] hi\r\n', `X1 OK [CAPABILITY IMAP4rev1 EXECUTE EXECUTE-SYNC=${TOK.slice(1)}g] in\r\n`, null],
        [G, 'X1 OK [CAPABILITY IMAP4rev1 EXECUTE] in\r\n', null],
        ['* OK [CAPABILITY IMAP4rev1] hi\r\n', `* CAPABILITY IMAP4rev1 EXECUTE EXECUTE-SYNC=${TOK}\r\nX1 OK [CAPABILITY IMAP4rev1 EXECUTE] in\r\n`, null],
        ['* OK [CAPABILITY IMAP4rev1] hi\r\n', `X1 OK [CAPABILITY IMAP4rev1 EXECUTE EXECUTE-SYNC=x EXECUTE-SYNC=${TOK}] in\r\n`, `X2 NOOP ${TOK}\r\n`],
        ['* OK [CAPABILITY IMAP4rev1] hi\r\n', `X1 OK [CAPABILITY IMAP4rev1 EXECUTE execute-sync=${TOK}] in\r\n`, `X2 NOOP ${TOK}\r\n`],
    ];
    for (const [g, reply, noop] of cases) {
        const { t } = await loginFed(g, reply);
        const sent = t.sent.filter(x => /NOOP/.test(x));
        assert.deepEqual(sent, noop ? [noop] : [], `${reply.trim()}: ${JSON.stringify(t.sent)}`);
    }
});

test('login: a token of the pre-login greeting is never sent (the login reply without a CAPABILITY code)', async () => {
    const { t } = await loginFed('* OK [CAPABILITY IMAP4rev1 EXECUTE EXECUTE-SYNC=' + TOK + '] hi\r\n', 'X1 OK Logged in\r\n');
    assert.deepEqual(t.sent.filter(x => /NOOP/.test(x)), [], JSON.stringify(t.sent));
});
