"""fake_imap.py - a scripted *hostile* IMAP server for the hardening tests:
the one place a fake is right, since no real server misbehaves on purpose.
It plays a plain IMAP4rev1 server until its mode says where to misbehave
(in the greeting, at STARTTLS, or at the first command after login) and
records every byte each connection sent, so tests can check that no
credentials went out in clear."""

import random
import socket
import threading
import time

# Modes that misbehave instead of the greeting (before any login).
GREETING_MODES = ("greet-endless", "greet-garbage", "greet-deep",
                  "greet-disconnect", "greet-literal")
# Modes for a server section with tls = starttls: TLS is never started.
STARTTLS_MODES = ("starttls-bad", "starttls-no", "starttls-omitted",
                  "starttls-plain")
# Modes that log in fine, then misbehave at the first command that reads
# mail (LIST, SELECT, ...): the mailbox page's first request.
AFTER_LOGIN_MODES = ("literal", "endless", "deep", "garbage",
                     "stall-literal", "drip", "disconnect")

# "client-first": the greeting waits for the client's first bytes. A TLS
# client speaks first and gives up at the greeting; written before its
# ClientHello was read, the greeting made it close with that unread, the
# reset dropped the ClientHello from this side's buffer, and nothing was
# recorded.

# Commands answered normally in every mode once logged in (the pool pings
# with NOOP; capability checks are not what is being tested).
_HARMLESS = {"NOOP", "CAPABILITY", "LOGOUT", "ENABLE", "ID"}


class FakeImap:
    """Listens on host:port (127.0.0.1 by default); each connection runs on its own thread
    and reads self.mode when it needs to decide, so a test can switch the
    mode between requests (pooled connections follow)."""

    def __init__(self, port, host="127.0.0.1"):
        self.port = port
        self.mode = "normal"
        self.lock = threading.Lock()
        self.transcripts = []   # bytes each connection sent, in order
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.stopping = False
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def stop(self):
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in list(self.conns):
            try:
                c.close()
            except OSError:
                pass

    def clear(self):
        with self.lock:
            self.transcripts = []

    def received(self):
        """Everything every connection sent since the last clear()."""
        with self.lock:
            return b"".join(bytes(t) for t in self.transcripts)

    def wait_received(self, min_bytes=1, timeout=10.0):
        """received(), once at least min_bytes have come (the connection's
        thread may read after postern has already answered the browser),
        or whatever came when timeout seconds have passed."""
        deadline = time.monotonic() + timeout
        while len(self.received()) < min_bytes and \
                time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            rec = bytearray()
            with self.lock:
                self.transcripts.append(rec)
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(c, rec),
                             daemon=True).start()

    # ---- one connection ----

    def _serve(self, c, rec):
        c.settimeout(30)
        try:
            _Session(self, c, rec).run()
        except OSError:
            pass  # postern hung up on us: that is usually the point
        finally:
            try:
                c.close()
            except OSError:
                pass
            with self.lock:
                if c in self.conns:
                    self.conns.remove(c)


class _Session:
    def __init__(self, server, c, rec):
        self.server = server
        self.c = c
        self.rec = rec
        self.buf = b""
        self.mode = server.mode  # the greeting's mode is fixed at connect

    def send(self, data):
        self.c.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            b = self.c.recv(65536)
            if not b:
                raise OSError("closed")
            self.rec += b
            self.buf += b
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def drain(self):
        """Reads (and records) until postern closes the connection."""
        while True:
            b = self.c.recv(65536)
            if not b:
                return
            self.rec += b

    def run(self):
        mode = self.mode
        if mode in GREETING_MODES:
            self.misbehave(mode[len("greet-"):], b"*")
            return
        if mode == "client-first":
            b = self.c.recv(65536)
            if not b:
                return
            self.rec += b
            self.buf += b
        caps = b"IMAP4rev1"
        if mode in STARTTLS_MODES and mode != "starttls-omitted":
            caps += b" STARTTLS"
        if mode == "id":
            caps += b" ID"  # otherwise a normal server
        if mode == "starttls-omitted":
            # said in the greeting's text, not in the capability list
            self.send(b"* OK IMAP4rev1 fake ready (STARTTLS soon)\r\n")
        else:
            self.send(b"* OK [CAPABILITY " + caps + b"] fake ready\r\n")
        logged_in = False
        while True:
            ln = self.line()
            parts = ln.split(b" ", 2)
            tag = parts[0]
            verb = parts[1].upper() if len(parts) > 1 else b""
            if verb == b"UID" and len(parts) > 2:
                verb = parts[2].split(b" ", 1)[0].upper()
            v = verb.decode("latin-1")
            if v == "CAPABILITY":
                self.send(b"* CAPABILITY " + caps + b"\r\n" + tag +
                          b" OK done\r\n")
            elif v == "STARTTLS":
                if mode == "starttls-bad":
                    self.send(tag + b" BAD not now\r\n")
                elif mode == "starttls-no":
                    self.send(tag + b" NO TLS is broken today\r\n")
                elif mode == "starttls-plain":
                    # says yes, then keeps talking in clear
                    self.send(tag + b" OK begin TLS\r\n")
                    self.send(b"* OK still plain text\r\n")
                else:
                    self.send(tag + b" BAD unknown command\r\n")
            elif v in ("LOGIN", "AUTHENTICATE") and mode == "echo":
                # refuses, and repeats the credentials back in its reply
                args = ln.split(b" ", 2)[2] if len(parts) > 2 else b""
                self.send(tag + b" NO [AUTHENTICATIONFAILED] you said " +
                          args + b"\r\n")
            elif v in ("LOGIN", "AUTHENTICATE"):
                logged_in = True
                self.send(tag + b" OK logged in\r\n")
            elif v == "LOGOUT":
                self.send(b"* BYE bye\r\n" + tag + b" OK done\r\n")
                return
            elif v in _HARMLESS or not logged_in:
                self.send(tag + b" OK done\r\n")
            else:
                now = self.server.mode
                if now in AFTER_LOGIN_MODES:
                    self.misbehave(now, tag)
                    return
                self.normal(v, tag)

    def normal(self, verb, tag):
        if verb == "LIST":
            self.send(b'* LIST () "/" INBOX\r\n' + tag + b" OK done\r\n")
        elif verb in ("SELECT", "EXAMINE"):
            self.send(b"* 0 EXISTS\r\n* OK [UIDVALIDITY 1] ok\r\n"
                      b"* OK [UIDNEXT 1] ok\r\n" + tag +
                      b" OK [READ-WRITE] done\r\n")
        elif verb == "SEARCH":
            self.send(b"* SEARCH\r\n" + tag + b" OK done\r\n")
        else:
            self.send(tag + b" OK done\r\n")

    def misbehave(self, what, tag):
        if what == "endless":
            # one line that never ends: 64 MiB, far past every cap
            chunk = b"* OK " + b"A" * (1 << 20)
            for _ in range(64):
                self.send(chunk)
            self.drain()
        elif what == "garbage":
            rnd = random.Random(9)
            self.send(bytes(rnd.randrange(256) for _ in range(4096)) +
                      b"\r\n")
            self.drain()
        elif what == "deep":
            self.send(b"* LIST " + b"(" * 10000 + b")" * 10000 + b"\r\n")
            self.drain()
        elif what == "literal":
            # announces 2 GB, sends a little of it
            self.send(b'* LIST () "/" {2000000000}\r\n' + b"x" * 65536)
            self.drain()
        elif what == "stall-literal":
            self.send(b"* 1 FETCH (UID 1 BODY[] {1000}\r\n" + b"y" * 100)
            self.drain()  # and never the rest: postern must time out
        elif what == "drip":
            # never silent, never done: "* OK" lines a byte every 0.5 s,
            # each byte well within io_timeout; command_timeout ends it
            line = b"* OK still working\r\n"
            end = time.monotonic() + 30
            i = 0
            while time.monotonic() < end:
                try:
                    self.c.sendall(line[i % len(line):i % len(line) + 1])
                except OSError:
                    return
                i += 1
                time.sleep(0.5)
        elif what == "disconnect":
            self.send(b"* 1 FETCH (UID 1 FLAGS (\\Seen")
            self.c.shutdown(socket.SHUT_RDWR)
        else:
            raise ValueError(what)
