/* services.js - the "Server services…" tab: the account's services from
 * discovery, a one-shot run with arguments, an interactive console. */
"use strict";

/* global errorText, i18n */

const $ = id => document.getElementById(id);
let current = null; // { name, interactive }
let sessionId = null;

// status(text, isError): the line next to the buttons.
function status(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

// print(text, cls): append to the output pane.
function print(text, cls = "") {
  const span = document.createElement("span");
  span.className = cls;
  span.textContent = text;
  $("output").append(span);
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
  } catch (e) {
    status(errorText(e), true);
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
}

// run(): one-shot with the arguments, or open the interactive session.
async function run() {
  $("output").textContent = "";
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
