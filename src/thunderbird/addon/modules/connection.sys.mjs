// connection.sys.mjs - the Thunderbird side of the EXECUTE client: the
// account's settings and password, a TCPSocket of the add-on's own (as
// Thunderbird's Pop3Client and SmtpClient open theirs), one short-lived
// connection per operation, closed afterwards.  Loaded by the Experiment's
// parent script (api/imapexec/parent.js) as a system module.

import { MailServices } from "resource:///modules/MailServices.sys.mjs";
import { setTimeout, clearTimeout } from "resource://gre/modules/Timer.sys.mjs";
import { ExecuteClient, ExecuteError } from "./execute-client.mjs";

const TIMEOUT_MS = 30000;
const open = new Set(); // the clients with a socket
const sessions = new Map(); // interactive sessions by id
let nextSession = 1;
let outputListener = () => {};

// setOutputListener(fn): fn(sessionId, stream, text) for session output.
export function setOutputListener(fn) {
  outputListener = fn;
}

// closeAll(): close every connection (the add-on goes away).
export function closeAll() {
  for (const c of open) {
    c.fail(new ExecuteError("closed", "the add-on was shut down"));
  }
  open.clear();
  sessions.clear();
}

// closeSessionsOf(owner): end the interactive sessions owner opened (a
// page of the add-on that closes).
export function closeSessionsOf(owner) {
  for (const { client, owner: o } of sessions.values()) {
    if (o === owner) {
      client.fail(new ExecuteError("closed", "the page was closed"));
    }
  }
}

// serverOf(accountId): the account's incoming server; an IMAP one only.
function serverOf(accountId) {
  const account = MailServices.accounts.getAccount(accountId);
  const server = account?.incomingServer;
  if (!server || server.type !== "imap") {
    throw new ExecuteError("no-execute", "not an IMAP account");
  }
  return server;
}

// passwordOf(server, prompt): the saved password (passwordPromptRequired
// loads it), else (if prompt) the user is asked; never leaves this module.
function passwordOf(server, prompt = true) {
  let pw = "";
  try {
    void server.passwordPromptRequired;
    pw = server.password;
  } catch (e) {
    pw = "";
  }
  if (!pw && prompt) {
    try {
      const host = server.hostname || server.hostName;
      pw = server.getPasswordWithUI(
        `Password for ${server.username} on ${host} (imapexec)`,
        "imapexec"
      );
    } catch (e) {
      pw = "";
    }
  }
  if (!pw) {
    throw new ExecuteError("nopassword", "no password for this account");
  }
  return pw;
}

// socketError(event): an ExecuteError for a TCPSocket error event.
function socketError(event) {
  const name = event?.name || "";
  if (name === "SecurityError" || /certificate|security|ssl|tls/i.test(event?.message || "")) {
    return new ExecuteError("tls", "the server's certificate is not trusted or TLS failed (" + (event.message || name) + ")");
  }
  return new ExecuteError("unreachable", "the server could not be reached (" + (event?.message || name || "error") + ")");
}

// connect(accountId, prompt): a logged-in ExecuteClient for the account
// (TLS or STARTTLS as the account says; plain only where the account is
// plain); prompt: whether the user may be asked for a missing password.
async function connect(accountId, prompt = true) {
  const server = serverOf(accountId);
  if (server.authMethod === Ci.nsMsgAuthMethod.OAuth2) {
    throw new ExecuteError("unsupported", "OAuth2 accounts are not supported yet");
  }
  const host = (server.hostname || server.hostName).toLowerCase();
  const ssl = server.socketType === Ci.nsMsgSocketType.SSL;
  const password = passwordOf(server, prompt);
  let socket = null;
  let opened = false;
  const transport = {
    write: b => socket.send(b.buffer, b.byteOffset, b.length),
    close: () => {
      try {
        socket.close();
      } catch (e) {
        // closed already
      }
    },
    // once all written has gone out, as far as bufferedAmount tells (best
    // effort: with output still queued, Gecko defers the switch and reads
    // on in plaintext meanwhile, which the client then refuses; ondrain
    // fires only after a full buffer, so it is polled, for at most the
    // client's timeout, which bounds the handshake anyway)
    startTls: async () => {
      for (let waited = 0; socket.bufferedAmount > 0 && waited < TIMEOUT_MS; waited += 10) {
        await new Promise(resolve => setTimeout(resolve, 10));
      }
      socket.upgradeToSecure();
    },
  };
  const client = new ExecuteClient(transport, { timeout: TIMEOUT_MS, setTimeout, clearTimeout });
  open.add(client);
  const connected = new Promise((resolve, reject) => {
    socket = new TCPSocket(host, server.port, { binaryType: "arraybuffer", useSecureTransport: ssl });
    socket.onopen = () => {
      opened = true;
      resolve();
    };
    socket.ondata = e => client.feed(new Uint8Array(e.data));
    socket.onerror = e => {
      const err = socketError(e);
      if (!opened) {
        reject(err);
      }
      client.closed(err);
    };
    socket.onclose = () => {
      open.delete(client);
      client.closed(null);
    };
  });
  try {
    await connected;
    await client.greeting();
    if (server.socketType === Ci.nsMsgSocketType.alwaysSTARTTLS) {
      await client.starttls();
    }
    if (client.hasCapability("AUTH=PLAIN")) {
      await client.authenticatePlain(server.username, password);
    } else {
      await client.login(server.username, password);
    }
  } catch (e) {
    client.fail(e instanceof ExecuteError ? e : new ExecuteError("protocol", String(e)));
    throw e;
  }
  return client;
}

// withClient(accountId, fn, prompt): connect, fn(client), log out (always).
async function withClient(accountId, fn, prompt = true) {
  const client = await connect(accountId, prompt);
  try {
    return await fn(client);
  } finally {
    await client.logout();
    open.delete(client);
  }
}

// plain(result): a run's result as plain data for the add-on.
function plain(r) {
  return {
    ok: r.ok,
    status: r.status,
    code: r.code,
    text: r.text,
    outText: r.outText,
    errText: r.errText,
    exit: r.exit ?? null,
  };
}

// probe(accountId): { execute } after a login; never asks for a password
// (it runs when a menu opens, not because the user asked for it).
export function probe(accountId) {
  return withClient(accountId, async c => ({ execute: c.hasCapability("EXECUTE") }), false);
}

// services(accountId): discovery.
export function services(accountId) {
  return withClient(accountId, c => c.services());
}

// run(accountId, service, args): one one-shot EXECUTE.
export function run(accountId, service, args) {
  return withClient(accountId, async c => plain(await c.run(service, args)));
}

// runEach(accountId, service, lead, items): the service with the lead
// arguments and the items, in chunks; one refused item does not stop the
// others (ExecuteClient.runEach).  [{ item, ok, code, text }].
export function runEach(accountId, service, lead, items) {
  return withClient(accountId, c => c.runEach(service, lead, items));
}

// openSession(accountId, service, owner): an interactive session on a
// connection of its own (owner: who may end it with closeSessionsOf); output goes to the output listener; resolves with its id
// once the server is ready.
export async function openSession(accountId, service, owner = null) {
  const client = await connect(accountId);
  const id = nextSession++;
  // one streaming decoder a stream: a character may span two chunks
  const decs = { out: new TextDecoder(), err: new TextDecoder() };
  let crlf = false;
  try {
    const list = await client.services();
    crlf = list.some(s => s.name === service && s.flags.includes("CRLF"));
  } catch (e) {
    // discovery is only for the line ends
  }
  const s = client.interactive(service, [], {
    crlf,
    keep: false, // the output goes to the listener; a session may be long
    onOutput: (stream, bytes) => outputListener(id, stream, decs[stream].decode(bytes, { stream: true })),
  });
  sessions.set(id, { client, s, owner });
  s.result.then(
    r => outputListener(id, "end", JSON.stringify(plain(r))),
    e => outputListener(id, "end", JSON.stringify({ ok: false, kind: e.kind, text: e.message }))
  ).finally(() => {
    sessions.delete(id);
    client.logout().finally(() => open.delete(client));
  });
  await s.ready;
  return id;
}

// session(id): the open session, or an error.
function session(id) {
  const x = sessions.get(id);
  if (!x) {
    throw new ExecuteError("closed", "the session has ended");
  }
  return x.s;
}

// sessionSend(id, line), sessionDone(id), sessionCancel(id).
export async function sessionSend(id, line) {
  await session(id).send(line);
}
export async function sessionDone(id) {
  await session(id).done();
}
export async function sessionCancel(id) {
  await session(id).cancel();
}
