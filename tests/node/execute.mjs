#!/usr/bin/env node
// execute.mjs - run an imapexec EXECUTE service from Node with imapflow.
//
//   node execute.mjs HOST PORT              list the services
//   node execute.mjs HOST PORT NAME [ARG...]  run service NAME, print its
//                                           output; exit with its status
//
// The server is imapexec in front of a preauthenticated IMAP server (a
// PREAUTH greeting: no credentials), or Dovecot with imapexec as its
// post-login script (see below).  imapflow has no EXECUTE command of
// its own; its exec(command, attributes, { untagged }) sends any command
// and hands each untagged response of that name to a handler.

import { readFileSync } from 'node:fs';
import { ImapFlow } from 'imapflow';

const [host, port, service, ...args] = process.argv.slice(2);
if (!host || !port) {
    console.error('usage: node execute.mjs HOST PORT [SERVICE [ARG...]]');
    process.exit(64);
}

// With EXECUTE_MJS_USER, EXECUTE_MJS_PASSFILE and EXECUTE_MJS_CA: a
// login over TLS (port 993 style), as to Dovecot with imapexec as its
// post-login script.
const env = process.env;
// Behind Dovecot's post-login (imapexec -P), EXECUTE needs the sync: the
// first command after the login is "NOOP <token>", the token being the
// value of the EXECUTE-SYNC capability in the login reply.  imapflow
// sends commands of its own right after the login (ID, NAMESPACE,
// ENABLE, COMPRESS), so the sync goes in at the one place before them;
// a CAPABILITY after it shows what imapexec offers once synced
// (COMPRESS=DEFLATE, which it serves itself).
class SyncingImapFlow extends ImapFlow {
    async setAuthenticationState() {
        await super.setAuthenticationState();
        const cap = [...this.capabilities.keys()].find(c => c.startsWith('EXECUTE-SYNC='));
        if (cap) {
            for (const [cmd, attrs] of [['NOOP', [{ type: 'ATOM', value: cap.slice('EXECUTE-SYNC='.length) }]], ['CAPABILITY', []]])
                (await this.exec(cmd, attrs)).next();
        }
    }
}
const client = new SyncingImapFlow(env.EXECUTE_MJS_USER ? {
    host,
    port: Number(port),
    secure: true,
    tls: { ca: readFileSync(env.EXECUTE_MJS_CA) },
    auth: {
        user: env.EXECUTE_MJS_USER,
        pass: readFileSync(env.EXECUTE_MJS_PASSFILE, 'utf8').replace(/\n$/, '')
    },
    logger: false
} : {
    host,
    port: Number(port),
    secure: false,
    doSTARTTLS: false, // plain IMAP on loopback or in a tunnel
    logger: false
});

// The value of an attribute from imapflow's parser (atom, string, literal).
const text = a => (a && a.value !== undefined ? Buffer.isBuffer(a.value) ? a.value.toString('utf8') : String(a.value) : '');

// tag EXECUTE: one "* EXECUTE SERVICE name (flags) description" each.
async function listServices() {
    const services = [];
    const r = await client.exec('EXECUTE', [], {
        untagged: {
            EXECUTE: async u => {
                const a = u.attributes || [];
                if (text(a[0]).toUpperCase() === 'SERVICE') {
                    services.push({
                        name: text(a[1]),
                        flags: (a[2] || []).map(text),
                        description: text(a[3])
                    });
                }
            }
        }
    });
    r.next();
    return services;
}

// tag EXECUTE name args...: "* EXECUTE (TAG "t") OUT|ERR data" while it
// runs, "* EXECUTE (TAG "t") EXIT n" (or SIGNAL) at the end.
async function runService(name, argv) {
    const result = { out: '', err: '', exit: null, signal: null };
    const attrs = [{ type: 'ATOM', value: name }, ...argv.map(value => ({ type: 'STRING', value }))];
    let r;
    try {
        r = await client.exec('EXECUTE', attrs, {
            untagged: {
                EXECUTE: async u => {
                    const a = u.attributes || [];
                    const kind = text(a[1]).toUpperCase();
                    if (kind === 'OUT') result.out += text(a[2]) + (a[2].type === 'LITERAL' ? '' : '\n');
                    else if (kind === 'ERR') result.err += text(a[2]) + (a[2].type === 'LITERAL' ? '' : '\n');
                    else if (kind === 'EXIT') result.exit = Number(text(a[2]));
                    else if (kind === 'SIGNAL') result.signal = text(a[2]);
                }
            }
        });
        r.next();
        result.status = 'OK';
    } catch (err) {
        result.status = (err.serverResponseCode || err.responseStatus || 'NO') + ': ' + (err.responseText || err.message);
    }
    return result;
}

let code = 0;
try {
    await client.connect();
    if (!client.authenticated || !client.capabilities.has('EXECUTE')) {
        throw new Error('no authenticated session with EXECUTE: capabilities ' + [...client.capabilities.keys()].join(' '));
    }
    // imapflow compresses whenever COMPRESS=DEFLATE is offered (unless
    // disableCompression); the tests ask which way it went.
    if (process.env.EXECUTE_MJS_SHOW_COMPRESSION)
        console.error('compression ' + (client._deflate ? 'on' : 'off'));
    const services = await listServices();
    if (!service) {
        for (const s of services) console.log(`${s.name}\t(${s.flags.join(' ')})\t${s.description}`);
    } else {
        if (!services.some(s => s.name === service)) throw new Error(`no service ${service}`);
        const r = await runService(service, args);
        process.stdout.write(r.out);
        process.stderr.write(r.err);
        if (r.status !== 'OK') console.error(`EXECUTE ${service}: ${r.status}`);
        code = r.exit !== null ? r.exit : 1;
    }
    await client.logout();
} catch (err) {
    console.error('execute.mjs:', err.message);
    code = 1;
    client.close();
}
process.exit(code);
