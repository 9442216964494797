/* options.js - per account (or for all): the block and allow commands. */
"use strict";

/* global commandsFor, i18n */

const $ = id => document.getElementById(id);

// load(): the chosen account's commands into the fields.
async function load() {
  const c = await commandsFor($("account").value);
  $("block").value = c.block;
  $("allow").value = c.allow;
  $("saved").textContent = "";
}

// save(): store the fields for the chosen account.
async function save() {
  const { commands = {} } = await messenger.storage.local.get("commands");
  commands[$("account").value] = { block: $("block").value.trim(), allow: $("allow").value.trim() };
  await messenger.storage.local.set({ commands });
  $("saved").textContent = i18n("optionsSaved");
}

// init(): translate, fill the account list.
async function init() {
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = i18n(el.dataset.i18n);
  }
  $("account").add(new Option(i18n("optionsDefault"), "default"));
  for (const a of await messenger.accounts.list(false)) {
    if (a.type === "imap") {
      $("account").add(new Option(a.name, a.id));
    }
  }
  $("account").addEventListener("change", load);
  $("save").addEventListener("click", save);
  load();
}
init();
