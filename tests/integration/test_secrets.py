"""test_secrets.py - no password and no session cookie (its id and key)
in any log line postern writes or any page it serves: a login with a
real password, failed logins with distinctive ones (one against a server
that repeats the credentials back in its refusal), errors of every kind,
a logout; postern logging at debug level."""

import re
import unittest

import fake_imap
from harness import ENV, EXTRA_SERVE_PORT, FAKE_IMAP_PORT, Client

PORT = EXTRA_SERVE_PORT + 3
ECHO_PORT = FAKE_IMAP_PORT + 2
WRONG = ["Wr0ng-Secret-9f1c2e", "Echo-Secret-77ab31", "Down-Secret-4c0ffe",
         "Json-Secret-e5d9aa"]
ECHO = None
PROC = None


def setUpModule():
    global ECHO, PROC
    ECHO = fake_imap.FakeImap(ECHO_PORT)
    ECHO.mode = "echo"
    PROC = ENV.spawn_serve("secrets", PORT, extra_postern="log_level = debug",
                           extra_servers=f"""
[server echo]
protocol = imap
host = 127.0.0.1
port = {ECHO_PORT}
tls = none
""")


def tearDownModule():
    if PROC is not None:
        PROC.stop()
    if ECHO is not None:
        ECHO.stop()


class Secrets(unittest.TestCase):
    def test_no_password_or_session_key_in_logs_or_pages(self):
        user, password = ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"]
        pages = []

        def keep(r):
            pages.append(r.body)
            pages.extend(v.encode() for k, v in r.headers.items()
                         if k != "set-cookie")
            return r

        c = Client(PORT)
        self.assertEqual(keep(c.login(user, password)).status, 303)
        cookie = c.cookies["postern"]
        status, box = c.json("/mailbox?f=INBOX")
        self.assertEqual(status, 200)
        uid = box["messages"][0]["uid"]
        for path in ("/mailbox?f=INBOX", f"/message?f=INBOX&uid={uid}",
                     f"/source?f=INBOX&uid={uid}", "/mailbox?f=NoSuchBox",
                     "/message?f=INBOX&uid=4000000000", "/no/such/page",
                     "/compose", "/folders?format=json"):
            keep(c.get(path))
        keep(c.post("/action", {"f": "INBOX", "op": "read"}, csrf=False))
        keep(c.post("/action", {"f": "INBOX", "op": "bogus"}))
        # failures, each with a password of its own
        r = keep(Client(PORT).login(user, WRONG[0]))
        self.assertEqual(r.status, 401)
        r = keep(Client(PORT).login("someone", WRONG[1], server="echo"))
        self.assertEqual(r.status, 401)
        # the echoing server did get it, and said it back
        self.assertIn(WRONG[1].encode(), ECHO.received())
        r = keep(Client(PORT).login(user, WRONG[2], server="down"))
        self.assertEqual(r.status, 502)
        j = Client(PORT)
        j.get("/")
        r = keep(j.post("/login", {"user": user, "password": WRONG[3]},
                        json=True))
        self.assertEqual(r.status, 401)
        keep(c.get("/compose"))
        r = keep(c.post("/logout", {}))
        self.assertEqual(r.status, 303)
        # the cookie is no good any more
        self.assertEqual(keep(c.request("GET", "/folders",
                                        {"Cookie": f"postern={cookie}"}
                                        )).status, 303)

        secrets = [password, cookie, cookie[:43], cookie[43:]] + WRONG
        logs = {"secrets instance": PROC.output(),
                "serve": ENV.serve.output(), "fcgi": ENV.fcgi.output()}
        self.assertIn("login of someone on echo failed", logs[
            "secrets instance"])
        for name, text in logs.items():
            for s in secrets:
                self.assertNotIn(s, text, f"a secret in the {name} log")
            # and nothing that looks like a whole session cookie
            self.assertIsNone(re.search(r"postern=[A-Za-z0-9_-]{86}", text),
                              name)
        for body in pages:
            for s in secrets:
                self.assertNotIn(s.encode(), body)
