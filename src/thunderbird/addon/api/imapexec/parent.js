/* imapexec Experiment API, parent process: owns the sockets, the logins
 * and the passwords (modules/connection.sys.mjs); the add-on only ever
 * sees results.  Errors reach the add-on as ExtensionError messages
 * "kind: text", kind one of execute-client.mjs's ErrorKinds or
 * unreachable, unsupported, nopassword. */
"use strict";

/* global ExtensionCommon, ExtensionAPI, Services, ChromeUtils */

var { ExtensionUtils } = ChromeUtils.importESModule(
  "resource://gre/modules/ExtensionUtils.sys.mjs"
);
var { ExtensionError } = ExtensionUtils;

const RESOURCE_HOST = "imapexec-addon";

var imapexec = class extends ExtensionCommon.ExtensionAPI {
  // substitute(): map resource://imapexec-addon/ to the add-on's files, so
  // the modules load as system ES modules (TCPSocket, MailServices).  No
  // ALLOW_CONTENT_ACCESS: web content has no business loading them.
  substitute() {
    const res = Services.io
      .getProtocolHandler("resource")
      .QueryInterface(Ci.nsIResProtocolHandler);
    res.setSubstitution(RESOURCE_HOST, this.extension.rootURI);
  }

  // onShutdown: end the sessions, drop the substitution.
  onShutdown(isAppShutdown) {
    if (this.conn) {
      this.conn.closeAll();
    }
    if (isAppShutdown) {
      return;
    }
    Services.io
      .getProtocolHandler("resource")
      .QueryInterface(Ci.nsIResProtocolHandler)
      .setSubstitution(RESOURCE_HOST, null);
  }

  getAPI(context) {
    this.substitute();
    const version = encodeURIComponent(this.extension.version);
    const conn = ChromeUtils.importESModule(
      `resource://${RESOURCE_HOST}/modules/connection.sys.mjs?v=${version}`
    );
    this.conn = conn;
    // wrap(promise): the module's errors as ExtensionError "kind: text".
    const wrap = async p => {
      try {
        return await p;
      } catch (e) {
        if (!e.kind) {
          console.error("imapexec:", e);
        }
        throw new ExtensionError(`${e.kind || "protocol"}: ${e.message}`);
      }
    };
    // one set of listeners for all the add-on's pages (getAPI runs once a
    // page); a page that closes ends only the sessions it opened
    if (!this.listeners) {
      this.listeners = new Set();
      conn.setOutputListener((id, stream, text) => {
        for (const fire of this.listeners) {
          fire.async(id, stream, text);
        }
      });
    }
    const listeners = this.listeners;
    context.callOnClose({ close: () => conn.closeSessionsOf(context) });
    return {
      imapexec: {
        probe: accountId => wrap(conn.probe(accountId)),
        services: accountId => wrap(conn.services(accountId)),
        run: (accountId, service, args) => wrap(conn.run(accountId, service, args)),
        runEach: (accountId, service, lead, items) => wrap(conn.runEach(accountId, service, lead, items)),
        openSession: (accountId, service) => wrap(conn.openSession(accountId, service, context)),
        sessionSend: (id, line) => wrap(conn.sessionSend(id, line)),
        sessionDone: id => wrap(conn.sessionDone(id)),
        sessionCancel: id => wrap(conn.sessionCancel(id)),
        onSessionOutput: new ExtensionCommon.EventManager({
          context,
          name: "imapexec.onSessionOutput",
          register: fire => {
            listeners.add(fire);
            return () => listeners.delete(fire);
          },
        }).api(),
      },
    };
  }
};
