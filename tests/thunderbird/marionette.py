"""marionette.py - a minimal Marionette (WebDriver for Gecko) client, with
the standard library only: frames are "length:json", commands
[0, id, name, params], answers [1, id, error, result]."""
import json
import socket
import time


class MarionetteError(Exception):
    """An error answer of Marionette (error: its dict)."""


class Marionette:
    """Marionette(port): connect to 127.0.0.1:port (retrying for up to
    `wait` seconds) and read the server's hello."""

    def __init__(self, port, wait=60.0):
        end = time.monotonic() + wait
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), 5)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.3)
        self.sock.settimeout(120)
        self.buf = b""
        self.msgid = 0
        self.hello = self._read()

    def _read(self):
        """One frame, decoded."""
        while b":" not in self.buf:
            self._more()
        i = self.buf.index(b":")
        n = int(self.buf[:i])
        while len(self.buf) < i + 1 + n:
            self._more()
        frame = self.buf[i + 1:i + 1 + n]
        self.buf = self.buf[i + 1 + n:]
        return json.loads(frame)

    def _more(self):
        """Read more bytes into the buffer, or fail on EOF."""
        d = self.sock.recv(65536)
        if not d:
            raise MarionetteError("connection closed")
        self.buf += d

    def call(self, name, params=None):
        """Send command name with params; return its result."""
        self.msgid += 1
        data = json.dumps([0, self.msgid, name, params or {}]).encode()
        self.sock.sendall(str(len(data)).encode() + b":" + data)
        while True:
            msg = self._read()
            if msg[0] == 1 and msg[1] == self.msgid:
                if msg[2]:
                    raise MarionetteError(msg[2])
                return msg[3]

    def script(self, body, args=None, asynchronous=False, timeout=60000):
        """Run body (a function body; async: resolve with the value) in the
        current context; return its value."""
        name = "WebDriver:ExecuteAsyncScript" if asynchronous else "WebDriver:ExecuteScript"
        r = self.call(name, {"script": body, "args": args or [],
                             "scriptTimeout": timeout, "sandbox": "system"})
        return r.get("value") if isinstance(r, dict) else r

    def close(self):
        """End the connection."""
        try:
            self.sock.close()
        except OSError:
            pass
