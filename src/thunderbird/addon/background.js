/* background.js - the menu entries "Block sender" / "Allow sender" (message
 * list context menu, and the message display action's menu), "Server
 * services…", and the notifications.  The work is done in the parent
 * process by the Experiment (messenger.imapexec). */
"use strict";

/* global DEFAULT_COMMANDS, commandsFor, errorText, i18n */

// EXECUTE per account: true, false, or a Promise while probing.
const executeOf = new Map();

const MENU = [
  { id: "imapexec-block", title: i18n("blockSender"), contexts: ["message_list"] },
  { id: "imapexec-allow", title: i18n("allowSender"), contexts: ["message_list"] },
  { id: "imapexec-services", title: i18n("serverServices"), contexts: ["message_list", "folder_pane", "tools_menu"] },
  { id: "imapexec-display-block", title: i18n("blockSender"), contexts: ["message_display_action_menu"] },
  { id: "imapexec-display-allow", title: i18n("allowSender"), contexts: ["message_display_action_menu"] },
  { id: "imapexec-display-services", title: i18n("serverServices"), contexts: ["message_display_action_menu"] },
];
for (const m of MENU) {
  messenger.menus.create(m);
}

// When a failed probe may be tried again (ms): a menu opening must not
// log in with a wrong password again and again (the server may lock the
// account or the address out).
const PROBE_RETRY_MS = 10 * 60 * 1000;
const probeFailedAt = new Map();

// probe(accountId): whether the account's server offers EXECUTE, cached
// for the session; a failed login counts as unknown (null), not as no,
// and is not tried again for PROBE_RETRY_MS; an unsupported account
// (OAuth2) counts as no.
function probe(accountId) {
  if (Date.now() - (probeFailedAt.get(accountId) ?? -Infinity) < PROBE_RETRY_MS) {
    return Promise.resolve(null);
  }
  if (!executeOf.has(accountId)) {
    const p = messenger.imapexec.probe(accountId).then(
      r => {
        executeOf.set(accountId, r.execute);
        return r.execute;
      },
      e => {
        executeOf.delete(accountId);
        if (/^(no-execute|unsupported):/.test(e.message)) {
          executeOf.set(accountId, false);
          return false;
        }
        probeFailedAt.set(accountId, Date.now());
        return null;
      }
    );
    executeOf.set(accountId, p);
  }
  return Promise.resolve(executeOf.get(accountId));
}

// messagesOf(list): all messages of a MessageList (or an array), paged.
async function messagesOf(list) {
  if (!list) {
    return [];
  }
  if (Array.isArray(list)) {
    return list;
  }
  const out = [...list.messages];
  let page = list;
  while (page.id) {
    page = await messenger.messages.continueList(page.id);
    out.push(...page.messages);
  }
  return out;
}

// accountOfMessage(m): the account id of a message's folder.
function accountOfMessage(m) {
  return m?.folder?.accountId ?? null;
}

// setMenus(ids, props): update several entries.
async function setMenus(ids, props) {
  await Promise.all(ids.map(id => messenger.menus.update(id, props)));
}

// Enable the entries for accounts with EXECUTE; hide them for accounts
// without (and for non-IMAP accounts); disabled while a probe runs.
messenger.menus.onShown.addListener(async (info, tab) => {
  // every entry of the contexts shown, the hidden ones too (menuIds lists
  // only the visible ones)
  const ours = MENU.filter(m => m.contexts.some(c => info.contexts.includes(c))).map(m => m.id);
  if (!ours.length) {
    return;
  }
  if (info.contexts.includes("tools_menu")) {
    // the services tab has an account chooser of its own
    await setMenus(ours, { visible: true, enabled: true });
    messenger.menus.refresh();
    return;
  }
  let accountId = null;
  if (info.selectedMessages) {
    accountId = accountOfMessage(info.selectedMessages.messages[0]);
  } else if (info.displayedFolder) {
    accountId = info.displayedFolder.accountId;
  } else if (info.selectedFolders?.length) {
    accountId = info.selectedFolders[0].accountId;
  } else if (tab) {
    const shown = await messenger.messageDisplay.getDisplayedMessages(tab.id).catch(() => null);
    accountId = accountOfMessage((await messagesOf(shown))[0]);
  }
  const account = accountId ? await messenger.accounts.get(accountId, false) : null;
  if (!account || account.type !== "imap") {
    await setMenus(ours, { visible: false });
    messenger.menus.refresh();
    return;
  }
  const known = executeOf.get(accountId);
  if (known === true || known === false) {
    await setMenus(ours, { visible: known, enabled: known });
    messenger.menus.refresh();
    return;
  }
  await setMenus(ours, { visible: true, enabled: false });
  messenger.menus.refresh();
  const has = await probe(accountId);
  await setMenus(ours, { visible: has !== false, enabled: has !== false });
  messenger.menus.refresh();
});

// notify(text): a short notification.
async function notify(text) {
  console.info("imapexec: " + text);
  try {
    await messenger.notifications.create({
      type: "basic",
      title: i18n("notifyTitle"),
      message: text,
      iconUrl: "icons/imapexec.svg",
    });
  } catch (e) {
    console.warn("imapexec: no notification: " + e);
  }
}

// senderAction(kind, messages): run the account's block or allow command
// with the From addresses of the messages (Thunderbird's own address
// parser), one EXECUTE per account; notify the outcome.
async function senderAction(kind, messages) {
  const byAccount = new Map();
  for (const m of messages) {
    const acc = accountOfMessage(m);
    if (!acc) {
      continue;
    }
    const parsed = await messenger.messengerUtilities.parseMailboxString(m.author || "");
    for (const p of parsed) {
      if (p.email) {
        if (!byAccount.has(acc)) {
          byAccount.set(acc, new Set());
        }
        byAccount.get(acc).add(p.email.toLowerCase());
      }
    }
  }
  if (!byAccount.size) {
    await notify(i18n("noSender"));
    return [];
  }
  const results = [];
  for (const [acc, set] of byAccount) {
    const account = await messenger.accounts.get(acc, false);
    const name = account?.name || acc;
    const who = [...set];
    const words = ((await commandsFor(acc))[kind] || DEFAULT_COMMANDS[kind]).trim().split(/\s+/);
    let text;
    try {
      // in chunks; an address the server refuses (a hostile From such as
      // "-x@evil.org") does not stop the others
      const each = await messenger.imapexec.runEach(acc, words[0], words.slice(1), who);
      const good = each.filter(r => r.ok).map(r => r.item);
      const bad = each.filter(r => !r.ok);
      const lines = [];
      if (good.length) {
        lines.push(i18n(kind === "block" ? "blocked" : "allowed", [name, good.join(", ")]));
      }
      for (const r of bad) {
        lines.push(i18n("failed", [name, r.item + ": " + i18n("refusedBy", [r.text])]));
      }
      text = lines.join("\n");
      results.push({ account: acc, who: good, refused: bad.map(r => r.item), ok: !bad.length, text });
    } catch (e) {
      console.error("imapexec: " + acc + ": " + e.message);
      if (/^no-execute:/.test(e.message)) {
        executeOf.set(acc, false);
      }
      text = i18n("failed", [name, errorText(e)]);
      results.push({ account: acc, who, ok: false, text });
    }
    await notify(text);
  }
  return results;
}

// openServices(accountId): the "Server services…" tab.
function openServices(accountId) {
  const q = accountId ? "?account=" + encodeURIComponent(accountId) : "";
  return messenger.tabs.create({ url: "services/services.html" + q });
}

messenger.menus.onClicked.addListener(async (info, tab) => {
  let messages = await messagesOf(info.selectedMessages);
  if (!messages.length && tab && info.menuItemId.startsWith("imapexec-display-")) {
    messages = await messagesOf(await messenger.messageDisplay.getDisplayedMessages(tab.id));
  }
  switch (info.menuItemId) {
    case "imapexec-block":
    case "imapexec-display-block":
      return senderAction("block", messages);
    case "imapexec-allow":
    case "imapexec-display-allow":
      return senderAction("allow", messages);
    case "imapexec-services":
    case "imapexec-display-services":
      return openServices(accountOfMessage(messages[0]) ?? info.displayedFolder?.accountId ?? info.selectedFolders?.[0]?.accountId);
  }
  return undefined;
});
