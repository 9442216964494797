/* services.js - the "Server services…" tab: the account's services from
 * discovery, a one-shot run with arguments, an interactive console. */
"use strict";

/* global commandsFor, errorText, i18n */

const $ = id => document.getElementById(id);
let current = null; // { name, interactive }
let sessionId = null;
let paneChars = 0; // characters in the output pane

// status(text, isError): the line next to the buttons.
function status(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

// The output pane keeps the last MAX_PANE characters: an interactive
// session may print for hours.  Output goes into pieces (spans) of up to
// PIECE characters, so that many small reads make few elements.
const MAX_PANE = 1 << 20;
const PIECE = 4096;
// Output and errors that alternate make small pieces: past MAX_PIECES of
// them the oldest go, as lines go from a terminal's scrollback.
const MAX_PIECES = 4096;

// print(text, cls): append text of class cls ("", "err", "end") to the
// output pane; past MAX_PANE characters the oldest are cut (never half of
// a character), past MAX_PIECES pieces the oldest go.
function print(text, cls = "") {
  const out = $("output");
  const last = out.lastChild;
  if (last && last.className === cls && last.textContent.length + text.length <= PIECE) {
    last.textContent += text;
  } else {
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = text;
    out.append(span);
  }
  paneChars += text.length;
  while (out.children.length > MAX_PIECES) {
    paneChars -= out.firstChild.textContent.length;
    out.firstChild.remove();
  }
  while (paneChars > MAX_PANE) {
    const first = out.firstChild;
    const t = first.textContent;
    let cut = paneChars - MAX_PANE;
    const c = t.charCodeAt(cut);
    if (c >= 0xdc00 && c <= 0xdfff) {
      cut++; // the low half of a pair goes with its high half
    }
    if (cut >= t.length) {
      paneChars -= t.length;
      first.remove();
    } else {
      first.textContent = t.slice(cut);
      paneChars -= cut;
    }
  }
}

// exitText(result): "exit 0", "SIGTERM", or the server's refusal.
function exitText(r) {
  if (r.exit && r.exit.code !== undefined) {
    return i18n("servicesExit", [String(r.exit.code)]);
  }
  if (r.exit && r.exit.signal) {
    return r.exit.signal;
  }
  return `${r.status || r.kind || ""} ${r.code ? "[" + r.code + "] " : ""}${r.text || ""}`;
}

// listServices(): discovery into the table.
async function listServices() {
  const body = $("services").tBodies[0];
  body.textContent = "";
  status("…");
  try {
    const list = await messenger.imapexec.services($("account").value);
    for (const s of list) {
      const tr = body.insertRow();
      tr.insertCell().textContent = s.name;
      tr.cells[0].className = "name";
      const interactive = s.flags.includes("INTERACTIVE");
      tr.insertCell().textContent = interactive ? i18n("servicesInteractive") : "";
      tr.insertCell().textContent = s.description;
      const b = document.createElement("button");
      b.textContent = interactive ? i18n("servicesOpen") : i18n("servicesRun");
      b.dataset.service = s.name;
      b.addEventListener("click", () => choose(s.name, interactive));
      tr.insertCell().append(b);
    }
    status(i18n("servicesCount", [String(list.length)]));
    await showLists(list);
  } catch (e) {
    status(errorText(e), true);
  }
}

// showLists(services): the block and allow lists (the services of the
// account's block and allow commands, if the server has them) as lists
// with Remove buttons and an Add field; they take add, remove and list.
async function showLists(services) {
  const acc = $("account").value;
  const cmds = await commandsFor(acc);
  let any = false;
  for (const kind of ["block", "allow"]) {
    const box = $("list-" + kind);
    const service = cmds[kind].trim().split(/\s+/)[0];
    box.textContent = "";
    box.hidden = !services.some(s => s.name === service);
    if (box.hidden) {
      continue;
    }
    any = true;
    const h = document.createElement("h3");
    h.textContent = i18n(kind === "block" ? "listBlocked" : "listAllowed", [service]);
    const ul = document.createElement("ul");
    ul.dataset.service = service;
    const input = document.createElement("input");
    input.placeholder = "name@example.org";
    input.size = 28;
    const add = document.createElement("button");
    add.textContent = i18n("listAdd");
    add.addEventListener("click", () => editList(service, "add", input.value.trim()).then(() => { input.value = ""; }));
    box.append(h, ul, input, add);
    await loadList(service, ul);
  }
  $("lists").hidden = !any;
}

// loadList(service, ul): "service list" into ul, one entry a line.
async function loadList(service, ul) {
  ul.textContent = "";
  try {
    const r = await messenger.imapexec.run($("account").value, service, ["list"]);
    for (const a of r.outText.split("\n").filter(Boolean)) {
      const li = document.createElement("li");
      const span = document.createElement("span");
      span.textContent = a;
      const rm = document.createElement("button");
      rm.textContent = i18n("listRemove");
      rm.dataset.address = a;
      rm.addEventListener("click", () => editList(service, "remove", a));
      li.append(span, rm);
      ul.append(li);
    }
    if (!r.ok) {
      status((r.errText || r.text).trim(), true);
    }
  } catch (e) {
    status(errorText(e), true);
  }
}

// editList(service, verb, address): add or remove, then reload the list.
async function editList(service, verb, address) {
  if (!address) {
    return;
  }
  try {
    const r = await messenger.imapexec.run($("account").value, service, [verb, address]);
    status(r.ok ? `${service} ${verb} ${address}` : (r.errText || r.text).trim(), !r.ok);
  } catch (e) {
    status(errorText(e), true);
  }
  // (not a CSS selector: a service's name may hold any character)
  const ul = [...document.querySelectorAll("ul[data-service]")].find(u => u.dataset.service === service);
  if (ul) { // (gone if another account was chosen meanwhile)
    await loadList(service, ul);
  }
}

// choose(name, interactive): show the runner for a service.
function choose(name, interactive) {
  current = { name, interactive };
  $("runner").hidden = false;
  $("runner-title").textContent = name;
  $("args").parentElement.hidden = interactive;
  $("run").textContent = interactive ? i18n("servicesOpen") : i18n("servicesRun");
  $("console").hidden = true;
  $("output").textContent = "";
  paneChars = 0;
}

// run(): one-shot with the arguments, or open the interactive session.
async function run() {
  $("output").textContent = "";
  paneChars = 0;
  const acc = $("account").value;
  try {
    if (current.interactive) {
      sessionId = await messenger.imapexec.openSession(acc, current.name);
      $("console").hidden = false;
      $("run").hidden = true;
      $("line").focus();
      return;
    }
    const args = $("args").value.split("\n").filter(a => a !== "");
    const r = await messenger.imapexec.run(acc, current.name, args);
    print(r.outText);
    print(r.errText, "err");
    print(`\n[${exitText(r)}]\n`, "end");
  } catch (e) {
    print(errorText(e) + "\n", "err");
  }
}

messenger.imapexec.onSessionOutput.addListener((id, stream, text) => {
  if (id !== sessionId) {
    return;
  }
  if (stream === "end") {
    print(`\n[${exitText(JSON.parse(text))}]\n`, "end");
    $("console").hidden = true;
    $("run").hidden = false;
    sessionId = null;
    return;
  }
  print(text, stream === "err" ? "err" : "");
});

// send(): the input line to the session.
async function send() {
  const line = $("line").value;
  $("line").value = "";
  print(line + "\n", "end");
  await messenger.imapexec.sessionSend(sessionId, line).catch(e => print(errorText(e) + "\n", "err"));
}

// init(): the IMAP accounts into the selector; the account of the URL.
async function init() {
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = i18n(el.dataset.i18n);
  }
  const want = new URLSearchParams(location.search).get("account");
  for (const a of await messenger.accounts.list(false)) {
    if (a.type !== "imap") {
      continue;
    }
    const o = new Option(a.name, a.id, false, a.id === want);
    $("account").add(o);
  }
  $("refresh").addEventListener("click", listServices);
  $("account").addEventListener("change", listServices);
  $("run").addEventListener("click", run);
  $("send").addEventListener("click", send);
  $("line").addEventListener("keydown", e => {
    if (e.key === "Enter") {
      send();
    }
  });
  $("done").addEventListener("click", () => messenger.imapexec.sessionDone(sessionId).catch(() => {}));
  $("cancel").addEventListener("click", () => messenger.imapexec.sessionCancel(sessionId).catch(() => {}));
  if ($("account").value) {
    listServices();
  }
}
init();
