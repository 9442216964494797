// node-transport.mjs - connect an ExecuteClient (src/thunderbird/addon/
// modules/execute-client.mjs) to a Node socket, for the tests.
//
//   const c = await connect({ host, port, tls: { ca } | null, timeout });

import net from 'node:net';
import tls from 'node:tls';
import { ExecuteClient, ExecuteError } from '../../src/thunderbird/addon/modules/execute-client.mjs';

// Every socket opened, so that a failed test leaves none open (closeAll).
const open = new Set();

// closeAll(): destroy the sockets still open (call from an after() hook).
export function closeAll() {
    for (const s of open) {
        s.destroy();
    }
    open.clear();
}

// connect({ host, port, tls, timeout, log }): a connected ExecuteClient
// whose transport is a net or tls socket (tls: options for tls.connect,
// e.g. { ca }); STARTTLS upgrades in place.  Resolves once connected.
export function connect({ host = '127.0.0.1', port, tls: tlsOpts = null, timeout = 10000, log = null }) {
    return new Promise((resolve, reject) => {
        let sock;
        let client;
        const wire = s => {
            open.add(s);
            s.on('close', () => open.delete(s));
            s.on('data', d => client.feed(new Uint8Array(d.buffer, d.byteOffset, d.length)));
            s.on('error', e => client.closed(e));
            s.on('close', () => client.closed(null));
        };
        const transport = {
            write: b => sock.write(b),
            close: () => sock.destroy(),
            startTls: () => new Promise((res, rej) => {
                const plain = sock;
                plain.removeAllListeners('data');
                plain.removeAllListeners('close');
                plain.removeAllListeners('error');
                // an error before the handshake has ended is a TLS failure
                // (the connection's error too), as in Thunderbird
                const failed = e => {
                    const err = new ExecuteError('tls', 'the TLS handshake failed: ' + (e.message || e));
                    client.closed(err);
                    rej(err);
                };
                sock = tls.connect({ socket: plain, servername: 'localhost', ...(transport.startTlsOptions || tlsOpts || {}) }, () => {
                    sock.off('error', failed);
                    res();
                });
                sock.once('error', failed);
                wire(sock);
            })
        };
        client = new ExecuteClient(transport, { timeout, log });
        const onConnect = () => resolve(client);
        sock = tlsOpts ? tls.connect({ host, port, servername: 'localhost', ...tlsOpts }, onConnect)
            : net.connect({ host, port }, onConnect);
        sock.once('error', reject);
        wire(sock);
    });
}
