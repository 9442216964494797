#!/usr/bin/python3
"""tbtest.py - drive the real Thunderbird through Marionette (chrome
context) for tests/67-thunderbird.bats.

    tbtest.py PORT setup XPI ACCOUNT=PASSFILE...   install the add-on
        (temporary), set the passwords, show INBOX of the first account
    tbtest.py PORT menu ACCOUNT SENDER... [--shot PNG] [--click ENTRY]
        select the INBOX rows of those senders, open the message list's
        context menu, wait until the add-on's entries are settled, print
        each entry as "id<TAB>label<TAB>visible<TAB>enabled", save a
        screenshot, click ENTRY (block|allow|services)
    tbtest.py PORT display ACCOUNT SENDER --click ENTRY [--shot PNG]
        open the message in a tab, use the message display action's menu
    tbtest.py PORT services ACCOUNT --shot PNG [--console LINE...]
        the "Server services…" tab: print the listed services; run the
        first interactive one with LINEs, then DONE; print the output
    tbtest.py PORT quit                         quit Thunderbird
"""
import base64
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, sys.path[0])
from marionette import Marionette  # noqa: E402

ADDON = "imapexec@imapexec.org"

# JS helpers, prepended to every chrome script.
LIB = r"""
const { MailServices } = ChromeUtils.importESModule("resource:///modules/MailServices.sys.mjs");
const win = Services.wm.getMostRecentWindow("mail:3pane");
const tabmail = win.document.getElementById("tabmail");
const about3Pane = tabmail.tabInfo[0].chromeBrowser.contentWindow;
function inboxOf(key) {
  const server = MailServices.accounts.getAccount(key).incomingServer;
  return server.rootFolder.getFolderWithFlags(Ci.nsMsgFolderFlags.Inbox);
}
"""


def js(m, body, args=None, asynchronous=False):
    """Run LIB + body in chrome context."""
    return m.script(LIB + body, args, asynchronous)


def wait(what, fn, secs=60):
    """Call fn until it returns something true; fail after secs."""
    end = time.monotonic() + secs
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            sys.exit("tbtest: gave up waiting for " + what)
        time.sleep(0.3)


def session(port):
    """A Marionette session in chrome context."""
    m = Marionette(port)
    m.call("WebDriver:NewSession", {"capabilities": {}})
    m.call("Marionette:SetContext", {"value": "chrome"})
    # the main window
    for h in m.call("WebDriver:GetWindowHandles"):
        m.call("WebDriver:SwitchToWindow", {"handle": h})
        if m.script("return document.documentElement.getAttribute('windowtype')") == "mail:3pane":
            break
    return m


def show_inbox(m, key, rows):
    """Show the account's INBOX in the 3-pane tab; wait for rows rows."""
    wait("INBOX of " + key, lambda: js(m, """
      const f = inboxOf(arguments[0]);
      if (!f) return false;
      if (tabmail.currentTabInfo.mode.name !== "mail3PaneTab") tabmail.switchToTab(0);
      if (about3Pane.gFolder !== f) { about3Pane.displayFolder(f); f.updateFolder(null); }
      return about3Pane.gDBView && about3Pane.gDBView.rowCount >= arguments[1];
    """, [key, rows]))


def setup(m, xpi, accounts):
    """Install the add-on, set passwords, show the first INBOX."""
    try:
        m.call("WebDriver:SetWindowRect", {"x": 0, "y": 0, "width": 1280, "height": 800})
    except Exception:  # noqa: BLE001 - headless or a window manager says no
        pass
    m.call("Addon:Install", {"path": xpi, "temporary": True})
    for spec in accounts:
        key, passfile = spec.split("=", 1)
        pw = open(passfile).read().rstrip("\n")
        js(m, """MailServices.accounts.getAccount(arguments[0]).incomingServer.password = arguments[1];
                 return true;""", [key, pw])
    # the add-on's background has started when its menu entries exist
    show_inbox(m, accounts[0].split("=")[0], 1)
    print("setup done")


def select(m, key, senders):
    """Select the INBOX rows whose From holds one of senders."""
    show_inbox(m, key, 1)
    n = js(m, """
      const want = arguments[0];
      const view = about3Pane.gDBView;
      const rows = [];
      for (let i = 0; i < view.rowCount; i++) {
        const a = view.getMsgHdrAt(i).author.toLowerCase();
        if (want.some(w => a.includes(w))) rows.push(i);
      }
      about3Pane.threadTree.selectedIndices = rows;
      return rows.length;
    """, [senders])
    if n != len(senders):
        sys.exit("tbtest: found %s rows for %s" % (n, senders))


def entries(m, popup_expr):
    """The add-on's entries in a popup: [(id, label, visible, enabled)]."""
    return js(m, """
      const popup = %s;
      return [...popup.querySelectorAll("menuitem")]
        .filter(i => i.id.includes("menuitem-_imapexec-"))
        .map(i => [i.id.replace(/.*menuitem-_imapexec-/, ""), i.label,
                   !i.hidden && !i.collapsed, !i.disabled]);
    """ % popup_expr)


def settle(m, popup_expr):
    """The entries once settled: none disabled while a probe runs, and the
    same for 1.5 s (the add-on updates them after the menu opens)."""
    last, since = None, time.monotonic()
    end = since + 30
    while time.monotonic() < end:
        e = entries(m, popup_expr)
        if e != last:
            last, since = e, time.monotonic()
        elif all((not v) or en for _, _, v, en in e) and time.monotonic() - since > 1.5:
            return e
        time.sleep(0.2)
    return last


def shot(m, path):
    """Save a screenshot to path (atomically: two runs may write it);
    its directory (build/ of a fresh work tree) is made if missing."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    _shot(m, path + ".tmp%d" % os.getpid())
    os.replace(path + ".tmp%d" % os.getpid(), path)


def _shot(m, path):
    """Save a screenshot to path: of the whole X screen (menus and all)
    with xwd when TB_DISPLAY names Thunderbird's Xvfb, else of the window
    through Marionette (no popups in that)."""
    disp = os.environ.get("TB_DISPLAY")
    if disp:
        dump = path + ".xwd"
        subprocess.run(["xwd", "-root", "-silent", "-display", disp, "-out", dump], check=True)
        subprocess.run([sys.executable, os.path.join(sys.path[0], "xwd2png.py"), dump, path], check=True)
        os.unlink(dump)
        return
    png = m.call("WebDriver:TakeScreenshot", {"full": False, "hash": False})
    png = png.get("value", png) if isinstance(png, dict) else png
    open(path, "wb").write(base64.b64decode(png))


def click(m, popup_expr, entry):
    """Click the add-on's entry in the popup, then close it."""
    ok = js(m, """
      const popup = %s;
      const item = [...popup.querySelectorAll("menuitem")].find(i => i.id.endsWith("menuitem-_imapexec-" + arguments[0]));
      if (!item) return false;
      item.parentNode.activateItem(item);
      return true;
    """ % popup_expr, [entry])
    if not ok:
        sys.exit("tbtest: no entry " + entry)
    time.sleep(0.5)
    js(m, "const p = %s; if (p.state !== 'closed') p.hidePopup(); return true;" % popup_expr)


CONTEXT = 'about3Pane.document.getElementById("mailContext")'


def menu(m, key, senders, shotpath, entry):
    """The message list's context menu on the rows of senders."""
    select(m, key, senders)
    js(m, """
      const tree = about3Pane.threadTree;
      const i = tree.selectedIndices[0];
      tree.scrollToIndex(i);
      const row = tree.getRowAtIndex(i);
      const r = row.getBoundingClientRect();
      const ev = new about3Pane.MouseEvent("contextmenu", { bubbles: true, cancelable: true,
        button: 2, clientX: r.x + 20, clientY: r.y + r.height / 2,
        screenX: about3Pane.mozInnerScreenX + r.x + 20, screenY: about3Pane.mozInnerScreenY + r.y + r.height / 2 });
      row.dispatchEvent(ev);
      return true;
    """)
    wait("context menu", lambda: js(m, "return %s.state === 'open';" % CONTEXT), 20)
    found = settle(m, CONTEXT)
    for e in found:
        print("\t".join(str(x) for x in e))
    if not found:
        print("no entries")
    # more than one entry of an add-on: Thunderbird groups them in a
    # submenu named after the add-on; open it
    label = js(m, """
      const item = %s.querySelector('[id$="menuitem-_imapexec-block"]');
      const menu = item && !item.hidden && item.parentNode.closest("menu");
      if (menu) { menu.openMenu(true); return menu.label; }
      return "";
    """ % CONTEXT)
    print("submenu\t" + label)
    if label:
        wait("submenu", lambda: js(m, """return %s.querySelector('[id$="menuitem-_imapexec-block"]')
                                          .parentNode.state === "open";""" % CONTEXT), 20)
    if shotpath:
        shot(m, shotpath)
    if entry:
        click(m, CONTEXT, entry)
    else:
        js(m, "%s.hidePopup(); return true;" % CONTEXT)


def display(m, key, senders, shotpath, entry):
    """Select the message of senders (one), then the message display
    action's menu in the message pane: click ENTRY there."""
    select(m, key, senders)
    # the message pane shows it; its header toolbar holds the action
    btn = 'about3Pane.messageBrowser.contentDocument.querySelector(\'[id$="-messageDisplayAction-toolbarbutton"]\')'
    wait("display action", lambda: js(m, "const b = %s; return !!b && !b.disabled && !b.hidden;" % btn), 30)
    js(m, """
      const b = %s;
      const popup = b.querySelector("menupopup") || b.menupopup;
      if (popup) { popup.openPopup(b, "after_end"); } else { b.click(); }
      return true;
    """ % btn)
    popup = "(%s.querySelector('menupopup'))" % btn
    wait("display action menu", lambda: js(m, "const p = %s; return !!p && p.state === 'open';" % popup), 20)
    for e in settle(m, popup):
        print("\t".join(str(x) for x in e))
    if shotpath:
        shot(m, shotpath)
    click(m, popup, entry)


def _page(m, body, args=None, path="/services/services.html"):
    """Run body (a function body) in the services tab's page through a
    frame script (the page lives in the extension process, out of
    Marionette's reach in Thunderbird); returns its value."""
    r = m.script(LIB + """
      const resolve = arguments[arguments.length - 1];
      const tab = tabmail.tabInfo.find(t => t.browser && String(t.browser.currentURI.spec).includes(arguments[2]));
      const mm = tab.browser.messageManager;
      const id = "imxt-" + Math.random();
      const listener = msg => {
        if (msg.data.id !== id) return;
        mm.removeMessageListener("imxt:result", listener);
        resolve(msg.data.error ? { error: msg.data.error } : { value: msg.data.value });
      };
      mm.addMessageListener("imxt:result", listener);
      const code = "(function () { const document = content.document; const args = " + JSON.stringify(arguments[1]) +
        "; let r, e = null; try { r = (function () {" + arguments[0] + "\\n}).apply(null, args); } catch (x) { e = String(x); }" +
        " sendAsyncMessage('imxt:result', { id: " + JSON.stringify(id) + ", value: r, error: e }); })();";
      mm.loadFrameScript("data:," + encodeURIComponent(code), false);
    """, [body, args or [], path], True)
    if "error" in r:
        sys.exit("tbtest: page script: " + r["error"])
    return r.get("value")


def services(m, key, shotpath, lines):
    """Open "Server services…" from the context menu, print the listed
    services; with lines, start the calendar session, send them, DONE,
    print the console's text.  The tab's page runs in the extension
    process: Marionette switches into its <browser> (content context)."""
    menu(m, key, ["alice@example.org"], None, "services")
    ref = wait("services tab", lambda: js(m, """
      const tab = tabmail.tabInfo.find(t => t.browser && String(t.browser.currentURI.spec).includes("/services/services.html"));
      return tab ? tab.browser : null;"""), 30)
    del ref

    def page(body, args=None):
        """Run body in the tab's page; its value."""
        return _page(m, body, args)

    wait("services list", lambda: page('return document.querySelectorAll("#services tbody tr").length > 0;'), 60)
    names = page("""
      return [...document.querySelectorAll("#services tbody tr")].map(r =>
        [r.cells[0].textContent, r.cells[1].textContent, r.cells[2].textContent].join("\t"));""")
    for n in names:
        print("service\t" + n)
    out = 'return document.getElementById("output").textContent;'
    if lines:
        page("""
          document.querySelector('button[data-service="calendar"]').click();
          document.getElementById("run").click();
          return true;""")
        wait("console", lambda: page("return !document.getElementById('console').hidden;"), 30)
        wait("prompt", lambda: "calendar>" in page(out), 30)
        for line in lines:
            before = page(out).count("calendar>")
            page("""
              document.getElementById("line").value = arguments[0];
              document.getElementById("send").click();
              return true;""", [line])
            wait("answer to " + line, lambda: page(out).count("calendar>") > before, 30)
        if shotpath:
            shot(m, shotpath)
        page('document.getElementById("done").click(); return true;')
        wait("end of session", lambda: page("return document.getElementById('console').hidden;"), 30)
        print("output\t" + json.dumps(page(out)))
    elif shotpath:
        shot(m, shotpath)


def services_status(m, key):
    """In the open services tab, choose account key and list its services;
    print the status line and the names."""
    _page(m, """
      const sel = document.getElementById("account");
      sel.value = arguments[0];
      sel.dispatchEvent(new content.Event("change"));
      return true;""", [key])
    st = wait("status", lambda: (lambda t: t if t and t != "\u2026" else None)(
        _page(m, 'return document.getElementById("status").textContent;')), 60)
    print("status\t" + st)
    for n in _page(m, 'return [...document.querySelectorAll("#services tbody tr")].map(r => r.cells[0].textContent);'):
        print("service\t" + n)


def lists(m, add, remove, shotpath):
    """In the open services tab: print the block list shown, add one
    address through the Add field, remove one with its Remove button,
    print the list again."""
    ul = 'document.querySelector("#list-block ul")'
    shown = 'return [...%s.querySelectorAll("li span")].map(s => s.textContent);' % ul
    wait("block list", lambda: _page(m, "return !!%s && %s.children.length > 0;" % (ul, ul)), 30)
    print("before\t" + " ".join(_page(m, shown)))
    _page(m, """
      const box = document.getElementById("list-block");
      box.querySelector("input").value = arguments[0];
      box.querySelector("input + button").click();
      return true;""", [add])
    wait("added", lambda: add in _page(m, shown), 30)
    _page(m, """
      document.querySelector('#list-block button[data-address="' + arguments[0] + '"]').click();
      return true;""", [remove])
    # the list is reloaded after the change: wait for the new one
    wait("removed", lambda: (lambda l: remove not in l and add in l)(_page(m, shown)), 30)
    print("after\t" + " ".join(_page(m, shown)))
    if shotpath:
        shot(m, shotpath)


def options(m, key, block, allow):
    """The add-on's options page (opened as the Add-ons Manager would, in
    a tab): set account key's block and allow commands, Save."""
    js(m, """
      const url = WebExtensionPolicy.getByID(arguments[0]).getURL("options/options.html");
      if (!tabmail.tabInfo.some(t => t.browser && String(t.browser.currentURI.spec) === url))
        tabmail.openTab("contentTab", { url });
      return true;""", [ADDON])
    opt = "/options/options.html"
    wait("options page", lambda: js(m, """return tabmail.tabInfo.some(t => t.browser &&
      String(t.browser.currentURI.spec).includes("/options/options.html") && !t.busy);"""), 30)
    wait("options accounts", lambda: _page(m, 'return document.getElementById("account").options.length > 1;', None, opt), 30)
    _page(m, """
      const sel = document.getElementById("account");
      sel.value = arguments[0];
      sel.dispatchEvent(new content.Event("change"));
      return true;""", [key], opt)
    time.sleep(0.5)
    _page(m, """
      document.getElementById("block").value = arguments[0];
      document.getElementById("allow").value = arguments[1];
      document.getElementById("save").click();
      return true;""", [block, allow], opt)
    wait("saved", lambda: _page(m, 'return document.getElementById("saved").textContent;', None, opt), 20)
    print("saved")


def quit_tb(m):
    """Ask Thunderbird to quit."""
    try:
        m.call("Marionette:Quit", {"flags": ["eForceQuit"]})
    except Exception:  # noqa: BLE001 - it goes away mid-answer
        pass


def main():
    port = int(sys.argv[1])
    cmd = sys.argv[2]
    rest = sys.argv[3:]
    opts = {}
    for k in ("--shot", "--click"):
        if k in rest:
            i = rest.index(k)
            opts[k] = rest[i + 1]
            del rest[i:i + 2]
    m = session(port)
    if cmd == "setup":
        setup(m, rest[0], rest[1:])
    elif cmd == "menu":
        menu(m, rest[0], rest[1:], opts.get("--shot"), opts.get("--click"))
    elif cmd == "display":
        display(m, rest[0], rest[1:], opts.get("--shot"), opts.get("--click"))
    elif cmd == "services":
        services(m, rest[0], opts.get("--shot"), rest[1:])
    elif cmd == "services-status":
        services_status(m, rest[0])
    elif cmd == "lists":
        lists(m, rest[0], rest[1], opts.get("--shot"))
    elif cmd == "options":
        options(m, rest[0], rest[1], rest[2])
    elif cmd == "eval":
        # an async chrome script (resolve() with the value); prints it
        print(json.dumps(m.script(LIB + "const resolve = arguments[arguments.length - 1];\n" + rest[0], [], True)))
    elif cmd == "quit":
        quit_tb(m)
        return
    else:
        sys.exit("tbtest: unknown command " + cmd)
    m.call("WebDriver:DeleteSession")
    m.close()


main()
