// execute-client.mjs - an IMAP EXECUTE client (imapexec's protocol, see the
// README's "The EXECUTE protocol") without any Thunderbird or Node API.
//
// The caller owns the socket and hands this module a transport:
//   { write(Uint8Array), close(), startTls() -> Promise (optional) }
// and feeds it what the socket reads with client.feed(Uint8Array) and
// client.closed(error) when the socket ends.  Timers come from the
// options (setTimeout/clearTimeout) or the global object.
//
//   const c = new ExecuteClient(transport, { timeout: 30000 });
//   await c.greeting();                 // "* OK ..." (not for PREAUTH tunnels)
//   await c.login(user, password);      // LOGIN, then the EXECUTE-SYNC NOOP
//   const list = await c.services();    // [{ name, flags, description }]
//   const r = await c.run("echo", ["a", "b c"]);  // { out, err, exit, ... }
//   const s = c.interactive("calendar", [], { onOutput });
//   await s.ready; s.send("list"); s.done(); await s.result;
//   await c.logout();

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8");

// The kinds of ExecuteError.kind, one a user can act on each.
export const ErrorKinds = Object.freeze([
  "timeout", "closed", "protocol", "auth", "no-execute", "refused", "bad", "tls",
  "limit",
]);

// ExecuteError: an error of this module; kind is one of ErrorKinds, code
// the response code (NONEXISTENT, CANNOT, ...) if the server gave one.
export class ExecuteError extends Error {
  constructor(kind, message, code = null) {
    super(message);
    this.name = "ExecuteError";
    this.kind = kind;
    this.code = code;
  }
}

// bytesToLatin1(bytes): a string of one char per octet (for parsing).
function bytesToLatin1(b) {
  let s = "";
  for (let i = 0; i < b.length; i += 8192) {
    s += String.fromCharCode.apply(null, b.subarray(i, i + 8192));
  }
  return s;
}

// latin1ToBytes(s): the inverse of bytesToLatin1.
function latin1ToBytes(s) {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    b[i] = s.charCodeAt(i) & 0xff;
  }
  return b;
}

// concat(list of Uint8Array): one Uint8Array.
function concat(parts) {
  let n = 0;
  for (const p of parts) {
    n += p.length;
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// toBytes(string or Uint8Array): UTF-8 octets.
function toBytes(v) {
  return typeof v === "string" ? enc.encode(v) : v;
}

// base64(bytes): RFC 4648 base64 of the octets.
export function base64(bytes) {
  const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  let s = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    s += a[(n >> 18) & 63] + a[(n >> 12) & 63];
    s += i + 1 < bytes.length ? a[(n >> 6) & 63] : "=";
    s += i + 2 < bytes.length ? a[n & 63] : "=";
  }
  return s;
}

const LITERAL_RE = /(~?)\{(\d{1,10})(\+?)\}$/;

// ResponseReader: splits the server's byte stream into responses.  A
// response is a line with the literals it announces: { text: [string
// parts, latin1], literals: [Uint8Array] }, where text[i] ends in the
// header of literals[i].  push(bytes) returns the responses completed.
// A line or literal is gathered in a buffer that grows by doubling (up to
// a literal's announced size), so many small reads cost linear time.
export class ResponseReader {
  constructor({ maxLine = 1 << 20, maxLiteral = 64 << 20 } = {}) {
    this.maxLine = maxLine;
    this.maxLiteral = maxLiteral;
    this.acc = new Uint8Array(0); // the current line or literal so far
    this.have = 0; // octets of acc in use
    this.cur = { text: [], literals: [] };
    this.need = -1; // octets of the literal being read, -1: in a line
  }

  // pending: octets read but not yet part of a complete response.
  get pending() {
    return this.have + this.cur.text.reduce((n, t) => n + t.length, 0);
  }

  // take(piece, cap): append piece to acc (capacity doubled as needed,
  // never beyond cap octets).
  take(piece, cap) {
    const want = this.have + piece.length;
    if (want > this.acc.length) {
      const grown = new Uint8Array(Math.min(cap, Math.max(want, 2 * this.acc.length, 4096)));
      grown.set(this.acc.subarray(0, this.have));
      this.acc = grown;
    }
    this.acc.set(piece, this.have);
    this.have = want;
  }

  // takeAll(): what acc holds, as a fresh array; acc is emptied.
  takeAll() {
    const out = this.acc.length === this.have ? this.acc : this.acc.slice(0, this.have);
    this.acc = new Uint8Array(0);
    this.have = 0;
    return out;
  }

  // push(bytes): take more octets; returns the list of complete responses.
  // Throws ExecuteError("protocol") on an overlong line or literal.
  push(bytes) {
    const done = [];
    let i = 0;
    for (;;) {
      if (this.need >= 0) {
        const n = Math.min(this.need - this.have, bytes.length - i);
        if (n > 0) {
          this.take(bytes.subarray(i, i + n), this.need);
          i += n;
        }
        if (this.have < this.need) {
          break;
        }
        this.cur.literals.push(this.takeAll());
        this.need = -1;
        continue;
      }
      if (i >= bytes.length) {
        break;
      }
      const nl = bytes.indexOf(10, i);
      const piece = bytes.subarray(i, nl < 0 ? bytes.length : nl);
      if (this.have + piece.length > this.maxLine) {
        throw new ExecuteError("protocol", "server line too long");
      }
      this.take(piece, this.maxLine);
      if (nl < 0) {
        break;
      }
      i = nl + 1;
      let lineBytes = this.takeAll();
      if (lineBytes.length > 0 && lineBytes[lineBytes.length - 1] === 13) {
        lineBytes = lineBytes.subarray(0, lineBytes.length - 1);
      }
      const line = bytesToLatin1(lineBytes);
      this.cur.text.push(line);
      const m = LITERAL_RE.exec(line);
      if (m) {
        const n = Number(m[2]);
        if (n > this.maxLiteral) {
          throw new ExecuteError("protocol", "server literal too large");
        }
        this.need = n;
        continue;
      }
      done.push(this.cur);
      this.cur = { text: [], literals: [] };
    }
    return done;
  }
}

// Tokens of a response: { t: "atom"|"string"|"list"|"nil", v } where a
// string's v is a Uint8Array and a list's v an array of tokens.

// tokenize(resp, start): the tokens of response resp after character
// start of its first text part; lists in parentheses nest.  Also returns
// "rest": the raw text of the first part after the position where
// tokenizing stopped on an error (for status texts).
export function tokenize(resp, start = 0) {
  let part = 0;
  let i = start;
  let s = resp.text[0];
  const root = [];
  const stack = [root];
  for (;;) {
    while (i < s.length && s[i] === " ") {
      i++;
    }
    if (i >= s.length) {
      break;
    }
    const top = stack[stack.length - 1];
    const c = s[i];
    if (c === "(") {
      const l = [];
      top.push({ t: "list", v: l });
      stack.push(l);
      i++;
    } else if (c === ")") {
      if (stack.length > 1) {
        stack.pop();
      }
      i++;
    } else if (c === '"') {
      let v = "";
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === "\\" && i + 1 < s.length) {
          i++;
        }
        v += s[i++];
      }
      i++;
      top.push({ t: "string", v: latin1ToBytes(v), quoted: true });
    } else if ((c === "{" || (c === "~" && s[i + 1] === "{")) &&
      LITERAL_RE.test(s.slice(i)) && part < resp.literals.length) {
      top.push({ t: "string", v: resp.literals[part], literal: true });
      part++;
      s = resp.text[part] ?? "";
      i = 0;
    } else {
      let j = i;
      while (j < s.length && s[j] !== " " && s[j] !== "(" && s[j] !== ")") {
        // an atom such as [CAPABILITY or BODY[TEXT] may hold brackets
        j++;
      }
      const a = s.slice(i, j);
      top.push(a.toUpperCase() === "NIL" ? { t: "nil", v: null } : { t: "atom", v: a });
      i = j;
    }
  }
  return root;
}

// tokenText(token): the token's value as a JS string (UTF-8 for strings).
export function tokenText(t) {
  if (!t) {
    return "";
  }
  if (t.t === "string") {
    return dec.decode(t.v);
  }
  return t.t === "atom" ? t.v : "";
}

// parseStatus(text): { status, code, codeArgs, text } of "OK [CODE args] text".
function parseStatus(s) {
  const m = /^(\S+)(?: (.*))?$/.exec(s) || [null, s, ""];
  let rest = m[2] || "";
  let code = null;
  let codeArgs = "";
  if (rest.startsWith("[")) {
    const e = rest.indexOf("]");
    if (e > 0) {
      const inner = rest.slice(1, e);
      const sp = inner.indexOf(" ");
      code = (sp < 0 ? inner : inner.slice(0, sp)).toUpperCase();
      codeArgs = sp < 0 ? "" : inner.slice(sp + 1);
      rest = rest.slice(e + 1).replace(/^ /, "");
    }
  }
  return { status: m[1].toUpperCase(), code, codeArgs, text: rest };
}

// The characters of an IMAP atom (RFC 9051 ATOM-CHAR, minus "]").
const ATOM_RE = /^[!#$&'+,\-./0-9:;<=>?@A-Z[^_`a-z|}~]+$/;
// What a quoted string may hold (7-bit, no CR, LF or NUL).
const QUOTABLE_RE = /^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/;

// encodeArg(value, { atom }): how one argument goes on the wire: a text
// part (string) or a literal ({ literal: Uint8Array }).  Atoms only when
// atom is true and the value is one (and starts with neither ~ nor {).
export function encodeArg(value, { atom = true } = {}) {
  const bytes = toBytes(value);
  const s = bytesToLatin1(bytes);
  if (atom && ATOM_RE.test(s) && s[0] !== "~" && s[0] !== "{" &&
    s.toUpperCase() !== "NIL") {
    return s;
  }
  if (QUOTABLE_RE.test(s) && s.length <= 1024) {
    return '"' + s.replace(/[\\"]/g, "\\$&") + '"';
  }
  return { literal: bytes };
}

// interactiveLine(line): is this text line sent as is in an interactive
// session (printable ASCII, not DONE/CANCEL, not read as quoted/literal)?
function plainInteractiveLine(s) {
  return /^[\x20-\x7e]*$/.test(s) && !/^(DONE|CANCEL)$/i.test(s) &&
    !s.startsWith('"') && !/^~?\{\d+\+?\}$/.test(s) && s.length <= 8000;
}

// The EXECUTE-SYNC token imapexec sends: 32 hex digits, nothing else is
// ever sent back as one.
const SYNC_TOKEN = /^[0-9a-f]{32}$/i;

// ExecuteClient: one IMAP connection.  Commands run one at a time (the
// calls queue); every wait is bounded by options.timeout (ms, default
// 30000) except an interactive session waiting for the user.  The output
// a run keeps is bounded by options.maxOutput (octets, default 16 MiB):
// past it the connection is closed and the run fails with "limit".
export class ExecuteClient {
  constructor(transport, options = {}) {
    this.transport = transport;
    this.timeout = options.timeout ?? 30000;
    this.maxOutput = options.maxOutput ?? 16 << 20;
    this.setTimeout = options.setTimeout ?? globalThis.setTimeout.bind(globalThis);
    this.clearTimeout = options.clearTimeout ?? globalThis.clearTimeout.bind(globalThis);
    this.log = options.log ?? null;
    this.reader = new ResponseReader();
    this.capabilities = new Set();
    this.syncToken = null;
    this.tagNo = 0;
    this.prefix = options.tagPrefix ?? "X";
    this.current = null; // the command in flight
    this.queue = Promise.resolve();
    this.waiters = []; // { kind: "greeting"|"cont", resolve, reject }
    this.error = null;
    this.greeted = null;
    // STARTTLS: null, or "answered" from its OK until the transport
    // has switched to TLS (handle(), starttls())
    this.tlsState = null;
  }

  // feed(bytes): octets the socket read.  Errors close the connection.
  feed(bytes) {
    if (this.error) {
      return;
    }
    if (this.tlsState === "answered") {
      // between STARTTLS's OK and the handshake: plaintext
      this.injected();
      return;
    }
    let resps;
    try {
      resps = this.reader.push(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
    } catch (e) {
      this.fail(e);
      return;
    }
    for (let k = 0; k < resps.length; k++) {
      try {
        this.handle(resps[k]);
      } catch (e) {
        this.fail(e instanceof ExecuteError ? e : new ExecuteError("protocol", String(e)));
        return;
      }
      if (this.tlsState === "answered" && (k + 1 < resps.length || this.reader.pending > 0)) {
        // STARTTLS's OK ends the plaintext part of the connection.
        // Anything after it was sent before the handshake by whoever
        // sits on the wire, and would be read as if it came over TLS
        // (the STARTTLS command injection of RFC 2595's days).
        this.injected();
        return;
      }
    }
  }

  // closed(error): the socket ended (error: its reason, or null).
  closed(error = null) {
    this.fail(error instanceof ExecuteError ? error
      : new ExecuteError("closed", "the server closed the connection" +
        (error ? ": " + (error.message || error) : this.byeText ? ": " + this.byeText : "")));
  }

  // fail(error): end the connection; every waiting call rejects with error.
  fail(error) {
    if (this.error) {
      return;
    }
    this.error = error;
    try {
      this.transport.close();
    } catch (e) {
      // already closed
    }
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) {
      x.reject(error);
    }
    if (this.current) {
      const c = this.current;
      this.current = null;
      c.reject(error);
    }
  }

  // write(parts): send strings (latin1) and Uint8Arrays.
  // Nothing is written once the connection has failed.
  write(...parts) {
    if (this.error) {
      return;
    }
    const b = concat(parts.map(p => (typeof p === "string" ? latin1ToBytes(p) : p)));
    if (this.log) {
      this.log("C: " + bytesToLatin1(b).replace(/\r\n$/, ""));
    }
    this.transport.write(b);
  }

  // handle(resp): one complete response from the server.
  handle(resp) {
    const first = resp.text[0];
    if (this.log) {
      this.log("S: " + resp.text.join("\\n "));
    }
    if (first.startsWith("+")) {
      const i = this.waiters.findIndex(w => w.kind === "cont");
      if (i >= 0) {
        this.waiters.splice(i, 1)[0].resolve(first.slice(2));
      }
      // else: a "+" nobody asked for; ignored
      return;
    }
    if (first.startsWith("* ")) {
      this.untagged(resp);
      return;
    }
    const sp = first.indexOf(" ");
    const tag = sp < 0 ? first : first.slice(0, sp);
    if (this.current && tag === this.current.tag) {
      const st = parseStatus(first.slice(sp + 1));
      if (st.code === "CAPABILITY") {
        this.setCapabilities(st.codeArgs);
      }
      const c = this.current;
      this.current = null;
      if (c.starttls && st.status === "OK") {
        this.tlsState = "answered";
      }
      // a pending continuation wait of this command ends with it
      const w = this.waiters.filter(x => x.kind === "cont");
      this.waiters = this.waiters.filter(x => x.kind !== "cont");
      for (const x of w) {
        x.reject(new ExecuteError(st.status === "BAD" ? "bad" : "refused", st.text, st.code));
      }
      c.resolve(st);
      return;
    }
    throw new ExecuteError("protocol", "unexpected server line: " + first.slice(0, 80));
  }

  // untagged(resp): "* ..." responses.
  untagged(resp) {
    const first = resp.text[0];
    const word = (/^\* (\S+)/.exec(first) || [])[1]?.toUpperCase() ?? "";
    if (word === "OK" || word === "PREAUTH" || word === "BYE" || word === "NO" || word === "BAD") {
      const st = parseStatus(first.slice(2));
      if (st.code === "CAPABILITY") {
        this.setCapabilities(st.codeArgs);
      }
      const g = this.waiters.findIndex(w => w.kind === "greeting");
      if (g >= 0 && word !== "NO" && word !== "BAD") {
        this.waiters.splice(g, 1)[0].resolve(st);
        return;
      }
      if (word === "BYE") {
        this.byeText = st.text;
      }
      return;
    }
    if (word === "CAPABILITY") {
      this.setCapabilities(first.slice(13));
      return;
    }
    if (word === "EXECUTE" && this.current && this.current.onExecute) {
      this.current.onExecute(tokenize(resp, 10));
    }
  }

  // setCapabilities(text): take a capability list; remember EXECUTE-SYNC.
  // A new list replaces the old one, its token included.
  setCapabilities(text) {
    this.capabilities = new Set();
    this.syncToken = null;
    for (const w of text.trim().split(/ +/)) {
      const u = w.toUpperCase();
      if (u.startsWith("EXECUTE-SYNC=") && SYNC_TOKEN.test(w.slice(13))) {
        this.syncToken = w.slice(13);
      }
      this.capabilities.add(u);
    }
  }

  // forgetCapabilities(): what the server said of itself, forgotten (it
  // may have come from somebody else: before STARTTLS).
  forgetCapabilities() {
    this.capabilities = new Set();
    this.syncToken = null;
  }

  // injected(): plaintext after STARTTLS's OK: the connection fails.
  injected() {
    this.forgetCapabilities();
    this.fail(new ExecuteError("tls", "the server sent data in plaintext after agreeing to STARTTLS " +
      "(someone on the network may be injecting commands); connection closed"));
  }

  // hasCapability(name): did the server's last list hold name?
  hasCapability(name) {
    return this.capabilities.has(name.toUpperCase());
  }

  // wait(kind, ms): a promise for the next waiter of kind; rejects with a
  // timeout (and closes the connection) after ms (none if ms is 0).
  wait(kind, ms = this.timeout) {
    if (this.error) {
      return Promise.reject(this.error);
    }
    return new Promise((resolve, reject) => {
      let timer = null;
      const w = {
        kind,
        resolve: v => { this.clearTimeout(timer); resolve(v); },
        reject: e => { this.clearTimeout(timer); reject(e); },
      };
      if (ms) {
        timer = this.setTimeout(() => {
          this.fail(new ExecuteError("timeout", "the server did not answer in time"));
        }, ms);
      }
      this.waiters.push(w);
    });
  }

  // greeting(): wait for the server's "* OK" (or PREAUTH); BYE rejects.
  async greeting() {
    const st = await this.wait("greeting");
    if (st.status === "BYE") {
      this.fail(new ExecuteError("closed", "the server refused the connection: " + st.text));
      throw this.error;
    }
    this.greeted = st;
    return st;
  }

  // command(parts, { onExecute, ms, onSent }): run one command; parts are
  // text (latin1 strings) and { literal: Uint8Array } items, sent with
  // synchronizing literals unless LITERAL+ or nonSync; resolves with the
  // tagged status { status, code, codeArgs, text }.
  command(parts, opts = {}) {
    const run = () => this.runCommand(parts, opts);
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => {});
    return p;
  }

  // runCommand: the body of command(), once the earlier ones are done.
  async runCommand(parts, opts) {
    if (this.error) {
      throw this.error;
    }
    const tag = this.prefix + ++this.tagNo;
    const ms = opts.ms ?? this.timeout;
    let timer = null;
    const result = new Promise((resolve, reject) => {
      this.current = {
        tag,
        starttls: opts.starttls ?? false,
        onExecute: opts.onExecute,
        resolve: v => { this.clearTimeout(timer); resolve(v); },
        reject: e => { this.clearTimeout(timer); reject(e); },
      };
    });
    const arm = () => {
      this.clearTimeout(timer);
      if (ms) {
        timer = this.setTimeout(() => {
          this.fail(new ExecuteError("timeout", "the server did not answer in time"));
        }, ms);
      }
    };
    this.current.arm = arm;
    result.catch(() => {});
    const nonSync = opts.nonSync ?? this.hasCapability("LITERAL+");
    let line = tag;
    for (const p of parts) {
      if (typeof p === "string") {
        line += " " + p;
        continue;
      }
      if (p.raw !== undefined) {
        line += p.raw;
        continue;
      }
      const tilde = p.literal8 ? "~" : "";
      if (nonSync) {
        this.write(line + ` ${tilde}{${p.literal.length}+}\r\n`, p.literal);
        line = "";
      } else {
        this.write(line + ` ${tilde}{${p.literal.length}}\r\n`);
        line = "";
        // a tagged answer instead of "+" rejects this wait (handle())
        await this.wait("cont", ms || this.timeout);
        this.write(p.literal);
      }
    }
    this.write(line + "\r\n");
    arm();
    if (opts.onSent) {
      opts.onSent(tag, arm);
    }
    return await result;
  }

  // tagPrefix of commands (for EXECUTE's (TAG "...") matching).
  currentTag() {
    return this.current ? this.current.tag : null;
  }

  // capability(): CAPABILITY; returns the set.
  async capability() {
    const st = await this.command(["CAPABILITY"]);
    if (st.status !== "OK") {
      throw new ExecuteError("bad", "CAPABILITY failed: " + st.text);
    }
    return this.capabilities;
  }

  // starttls(): STARTTLS, then the transport's startTls(), then CAPABILITY.
  // Nothing the server sent in plaintext after the answer is read (feed()
  // fails the connection); the capabilities learnt before are forgotten.
  // A refusal ends the connection (nothing queued behind it goes out in
  // plaintext); the handshake is bounded by the timeout.
  async starttls() {
    const st = await this.command(["STARTTLS"], { starttls: true });
    if (this.error) {
      throw this.error;
    }
    if (st.status !== "OK") {
      const e = new ExecuteError("tls", "the server refused STARTTLS: " + st.text);
      this.fail(e);
      throw e;
    }
    this.forgetCapabilities();
    let timer = null;
    try {
      await Promise.race([
        this.transport.startTls(),
        new Promise((_, reject) => {
          timer = this.setTimeout(() => reject(new ExecuteError("timeout", "the TLS handshake did not end in time")),
            this.timeout);
        }),
      ]);
    } catch (e) {
      const err = e instanceof ExecuteError ? e : new ExecuteError("tls", "the TLS handshake failed: " + (e.message || e));
      this.fail(err);
      throw this.error;
    } finally {
      this.clearTimeout(timer);
    }
    if (this.error) {
      throw this.error;
    }
    this.tlsState = null;
    return this.capability();
  }

  // login(user, password): LOGIN (quoted strings or literals as needed),
  // then the sync (below).  Rejects with kind "auth" on NO.
  async login(user, password) {
    this.syncToken = null; // only the login reply's counts
    const st = await this.command(["LOGIN", encodeArg(user, { atom: false }), encodeArg(password, { atom: false })]);
    return this.afterLogin(st);
  }

  // authenticatePlain(user, password): AUTHENTICATE PLAIN (SASL-IR when
  // offered), then the sync.
  async authenticatePlain(user, password) {
    this.syncToken = null; // only the login reply's counts
    const ir = base64(concat([new Uint8Array(1), toBytes(user), new Uint8Array(1), toBytes(password)]));
    let st;
    if (this.hasCapability("SASL-IR")) {
      st = await this.command(["AUTHENTICATE PLAIN " + ir]);
    } else {
      st = await this.command(["AUTHENTICATE PLAIN"], {
        onSent: () => {
          this.wait("cont").then(() => this.write(ir + "\r\n"), () => {});
        },
      });
    }
    return this.afterLogin(st);
  }

  // afterLogin(status): a failed login rejects ("auth"); else the
  // EXECUTE-SYNC NOOP if the login reply offered a token, else a
  // CAPABILITY if the reply had no list.  Returns whether EXECUTE is there.
  async afterLogin(st) {
    if (st.status !== "OK") {
      throw new ExecuteError("auth", "login failed: " + st.text, st.code);
    }
    if (st.code !== "CAPABILITY" && !this.hasCapability("EXECUTE")) {
      this.syncToken = null;
      await this.capability();
    }
    if (this.syncToken) {
      const tok = this.syncToken;
      this.syncToken = null;
      const s = await this.command(["NOOP", tok]);
      if (s.status !== "OK") {
        throw new ExecuteError("no-execute", "the EXECUTE sync failed: " + s.text);
      }
    }
    return this.hasCapability("EXECUTE");
  }

  // requireExecute(): reject with "no-execute" unless the server offers it.
  requireExecute() {
    if (!this.hasCapability("EXECUTE")) {
      throw new ExecuteError("no-execute", "this server does not offer EXECUTE");
    }
  }

  // services(): discovery, [{ name, flags: [..], description }].
  async services() {
    this.requireExecute();
    const list = [];
    const st = await this.command(["EXECUTE"], {
      onExecute: toks => {
        if (tokenText(toks[0]).toUpperCase() !== "SERVICE") {
          return;
        }
        list.push({
          name: tokenText(toks[1]),
          flags: (toks[2]?.t === "list" ? toks[2].v : []).map(t => tokenText(t).toUpperCase()),
          description: tokenText(toks[3]),
        });
      },
    });
    if (st.status !== "OK") {
      throw new ExecuteError(st.status === "BAD" ? "no-execute" : "refused", st.text, st.code);
    }
    return list;
  }

  // executeParts(service, args, input): the parts of an EXECUTE command.
  executeParts(service, args, input) {
    const parts = ["EXECUTE", encodeArg(service)];
    if (input !== undefined && input !== null) {
      parts.push("(INPUT", encodeArg(input, { atom: false }), { raw: ")" });
    }
    for (const a of args) {
      parts.push(encodeArg(a));
    }
    return parts;
  }

  // outputHandler(res, crlf, onOutput, getTag, keep): an onExecute
  // callback that gathers (if keep) the OUT/ERR octets, at most maxOutput
  // in all, and the EXIT/SIGNAL of the command tagged getTag().
  outputHandler(res, crlf, onOutput, getTag, keep = true) {
    let kept = 0;
    const eol = crlf ? "\r\n" : "\n";
    return toks => {
      if (toks[0]?.t !== "list" || tokenText(toks[0].v[0]).toUpperCase() !== "TAG" ||
        tokenText(toks[0].v[1]) !== getTag()) {
        return;
      }
      const what = tokenText(toks[1]).toUpperCase();
      if (what === "OUT" || what === "ERR") {
        const t = toks[2];
        // a quoted chunk is a line without its end; a literal is as is
        const raw = t?.t === "string" ? t.v : new Uint8Array(0);
        const quoted = t?.quoted === true;
        const b = quoted ? concat([raw, latin1ToBytes(eol)]) : raw;
        if (keep) {
          kept += b.length;
          if (kept > this.maxOutput) {
            throw new ExecuteError("limit", `the service's output is over ${this.maxOutput} octets; the connection was closed`);
          }
          res[what === "OUT" ? "outParts" : "errParts"].push(b);
        }
        if (onOutput) {
          onOutput(what === "OUT" ? "out" : "err", b);
        }
      } else if (what === "EXIT") {
        res.exit = { code: Number(tokenText(toks[2])) };
      } else if (what === "SIGNAL") {
        res.exit = { signal: tokenText(toks[2]) };
      }
    };
  }

  // finish(res, st): fill in the tagged status of a run.
  static finish(res, st) {
    res.status = st.status;
    res.code = st.code;
    res.codeArgs = st.codeArgs;
    res.text = st.text;
    res.out = concat(res.outParts);
    res.err = concat(res.errParts);
    res.outText = dec.decode(res.out);
    res.errText = dec.decode(res.err);
    res.ok = st.status === "OK";
    delete res.outParts;
    delete res.errParts;
    return res;
  }

  // run(service, args, { input, crlf, onOutput, ms }): a one-shot EXECUTE.
  // Resolves with { ok, status, code, text, out, err, outText, errText,
  // exit: { code } | { signal } | undefined }; refusals (NO/BAD) resolve
  // too, with ok false.  A server without EXECUTE rejects ("no-execute").
  async run(service, args = [], opts = {}) {
    this.requireExecute();
    const res = { outParts: [], errParts: [], exit: undefined };
    const st = await this.command(this.executeParts(service, args, opts.input ?? null), {
      onExecute: this.outputHandler(res, opts.crlf, opts.onOutput, () => this.currentTag()),
      ms: opts.ms,
    });
    return ExecuteClient.finish(res, st);
  }

  // runEach(service, lead, items, { chunk }): run service with the lead
  // arguments and the items, at most chunk items a run (default 16); the
  // items of a refused or failed run are run one at a time, so one item
  // the server refuses (or many items) do not stop the others.  Resolves
  // with [{ item, ok, code, text }] in the order of items.
  async runEach(service, lead, items, { chunk = 16 } = {}) {
    const out = [];
    // outcome(r): the text of a run's result
    const outcome = r => (r.ok ? "" : (r.errText || "").trim() || r.text);
    for (let i = 0; i < items.length; i += chunk) {
      const part = items.slice(i, i + chunk);
      const r = await this.run(service, [...lead, ...part]);
      if (r.ok || part.length === 1) {
        out.push(...part.map(item => ({ item, ok: r.ok, code: r.code, text: outcome(r) })));
        continue;
      }
      for (const item of part) {
        const one = await this.run(service, [...lead, item]);
        out.push({ item, ok: one.ok, code: one.code, text: outcome(one) });
      }
    }
    return out;
  }

  // interactive(service, args, { onOutput, crlf, keep }): an interactive
  // session.  Returns { ready, result, send(line), sendBytes(bytes),
  // done(), cancel() }: ready resolves on the server's "+ ... ready"
  // (rejects if it refused: the result then says why), result with what
  // run() gives once the service ended and DONE or CANCEL was sent.
  interactive(service, args = [], opts = {}) {
    this.requireExecute();
    const res = { outParts: [], errParts: [], exit: undefined };
    let myTag = null;
    let readyResolve;
    let readyReject;
    const ready = new Promise((a, b) => { readyResolve = a; readyReject = b; });
    ready.catch(() => {});
    let isReady = false;
    ready.then(() => { isReady = true; }, () => {});
    let ended = false;
    // keep: false: output goes to onOutput only (a session may be long)
    const outputs = this.outputHandler(res, opts.crlf, opts.onOutput, () => myTag, opts.keep ?? true);
    const result = this.command(this.executeParts(service, args, null), {
      onExecute: outputs,
      ms: 0,
      onSent: tag => {
        myTag = tag;
        this.wait("cont").then(readyResolve, readyReject);
      },
    }).then(st => {
      ended = true;
      readyReject(new ExecuteError(st.status === "BAD" ? "bad" : "refused", st.text, st.code));
      return ExecuteClient.finish(res, st);
    }, e => {
      ended = true;
      readyReject(e);
      throw e;
    });
    // one line or literal after another, in order; none after cancel()
    let chain = ready;
    let canceled = false;
    const enqueue = f => {
      chain = chain.then(() => (ended || canceled ? undefined : f()));
      chain.catch(() => {});
      return chain;
    };
    // a literal whose "+" has not come yet: the server will read the next
    // octets as its data, whatever they are
    let literalWaits = false;
    let doneSent = false;
    // stop(why): end the session by closing the connection
    const stop = why => this.fail(new ExecuteError("closed", why + "; the connection was closed"));
    // sendCancel(): CANCEL, answered within the timeout or stop()
    const sendCancel = () => {
      if (ended) {
        return;
      }
      this.write("CANCEL\r\n");
      const timer = this.setTimeout(() => stop("CANCEL was not answered in time"), this.timeout);
      result.then(() => this.clearTimeout(timer), () => this.clearTimeout(timer));
    };
    const literal = async bytes => {
      literalWaits = true;
      try {
        await this.sendLiteral(bytes);
      } finally {
        literalWaits = false;
      }
    };
    return {
      ready,
      result,
      // send(line): one line of text (its end of line is the service's)
      send: line => enqueue(() => {
        if (plainInteractiveLine(line)) {
          this.write(line + "\r\n");
          return undefined;
        }
        return literal(concat([toBytes(line), latin1ToBytes(opts.crlf ? "\r\n" : "\n")]));
      }),
      // sendBytes(bytes): exact octets (a literal; ~{n} if they hold NUL)
      sendBytes: bytes => enqueue(() => literal(toBytes(bytes))),
      // done(): DONE (close the service's stdin)
      done: () => enqueue(() => {
        this.write("DONE\r\n");
        doneSent = true;
      }),
      // cancel(): CANCEL (the service is killed); not queued behind
      // input, and input not sent yet is dropped.  Before the session is
      // ready, CANCEL waits for it (it would be a command of its own, or
      // an argument literal's data).  Where imapexec would never read it,
      // the connection is closed instead, and imapexec ends the service:
      // while a literal waits for its "+" (sent once the service has read
      // the input before: CANCEL would be the literal's data), and after
      // DONE (imapexec reads no more input).  A CANCEL not answered in
      // time (a full input buffer) closes the connection too.
      cancel: () => {
        if (!ended && !canceled) {
          canceled = true;
          if (!isReady) {
            ready.then(sendCancel, () => {});
          } else if (literalWaits) {
            stop("canceled while the service was not reading its input");
          } else if (doneSent) {
            stop("canceled after DONE");
          } else {
            sendCancel();
          }
        }
        return result.catch(() => {});
      },
    };
  }

  // sendLiteral(bytes): a synchronizing literal line in an interactive
  // session: waits for imapexec's "+ Ready for literal data".
  async sendLiteral(bytes) {
    const tilde = bytes.includes(0) ? "~" : "";
    this.write(`${tilde}{${bytes.length}}\r\n`);
    await this.wait("cont");
    this.write(bytes, "\r\n");
  }

  // logout(): LOGOUT, then close; never rejects.
  async logout() {
    try {
      if (!this.error) {
        await this.command(["LOGOUT"], { ms: Math.min(this.timeout, 5000) });
      }
    } catch (e) {
      // closing anyway
    }
    this.fail(new ExecuteError("closed", "logged out"));
  }
}
