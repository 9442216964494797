/* common.js - what the background, the options page and the services tab
 * share: the block/allow commands of an account and error texts. */
"use strict";

/* exported DEFAULT_COMMANDS, commandsFor, errorText, i18n */

// The commands run for "Block sender" and "Allow sender" unless the
// options say otherwise: a service and its leading arguments; the
// addresses are appended.
const DEFAULT_COMMANDS = { block: "blacklist add", allow: "whitelist add" };

// i18n(name, subs): a string of _locales.
function i18n(name, subs) {
  return messenger.i18n.getMessage(name, subs) || name;
}

// commandsFor(accountId): { block, allow } for the account (its own
// setting, else the default setting, else DEFAULT_COMMANDS).
async function commandsFor(accountId) {
  const { commands = {} } = await messenger.storage.local.get("commands");
  return { ...DEFAULT_COMMANDS, ...(commands.default || {}), ...(commands[accountId] || {}) };
}

// errorText(error): one clear sentence for an error of the Experiment
// ("kind: details").
function errorText(e) {
  const msg = String(e?.message || e);
  const m = /^([a-z-]+): (.*)$/s.exec(msg);
  if (!m) {
    return msg;
  }
  const t = messenger.i18n.getMessage("err_" + m[1]);
  return t ? `${t} (${m[2]})` : msg;
}
