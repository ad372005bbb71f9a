"""test_hostile.py - postern against a hostile IMAP server (fake_imap.py):
oversized literals, endless lines, 10,000-deep lists, garbage, a stall
mid-literal, a disconnect mid-response and STARTTLS downgrades, before
and after login. Each must end in a clear 502/504 page, postern must
stay up with bounded memory, and no credentials may leave in clear."""

import unittest

import fake_imap
import harness  # noqa: E402
from harness import (ENV, EXTRA_SERVE_PORT, FAKE_IMAP_PORT, Client, request)

PORT = EXTRA_SERVE_PORT
PASSWORD = "Hostile-Test-Pa55word"
USER = "victim"
# Growth of the postern process's peak resident memory over every case
# below together. The endless line alone is 64 MiB; postern's own cap on
# a line is 8 MiB (LIM_IMAP_LINE).
MEM_BOUND_KB = 48 * 1024
if harness.SANITIZED:
    # ASan keeps freed memory in quarantine (256 MB by default): the bound
    # that means something is the normal build's; here only "no runaway"
    MEM_BOUND_KB = 512 * 1024

FAKE = None
PROC = None
BASE_HWM_KB = None  # peak memory before the first attack


def setUpModule():
    global FAKE, PROC, BASE_HWM_KB
    FAKE = fake_imap.FakeImap(FAKE_IMAP_PORT)
    servers = f"""
[server hostile]
protocol = imap
host = 127.0.0.1
port = {FAKE_IMAP_PORT}
tls = none

[server hostile-tls]
protocol = imap
host = 127.0.0.1
port = {FAKE_IMAP_PORT}
tls = starttls
ca_file = {ENV.mail.get('CA_FILE', '/nonexistent')}
"""
    # command_timeout above io_timeout (4 s): "stall-literal" still meets
    # the one, "drip" (a byte every 0.5 s) the other
    PROC = ENV.spawn_serve("hostile", PORT, extra_servers=servers,
                           extra_postern="command_timeout = 7")
    # one ordinary login and page first: memory for normal work is in
    c = Client(PORT)
    c.login(USER, PASSWORD, server="hostile")
    c.get("/mailbox?f=INBOX")
    BASE_HWM_KB = proc_status_kb("VmHWM")


def tearDownModule():
    if PROC is not None:
        PROC.stop()
    if FAKE is not None:
        FAKE.stop()


def proc_status_kb(field):
    with open(f"/proc/{PROC.proc.pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{PROC.proc.pid}/status")


class Hostile(unittest.TestCase):
    def setUp(self):
        FAKE.mode = "normal"
        FAKE.clear()

    def assert_alive(self):
        self.assertIsNone(PROC.proc.poll(), "postern died")
        r = request(PORT, "GET", "/healthz")
        self.assertEqual((r.status, r.body), (200, b"ok\n"))

    def assert_error_page(self, r, status, words, case):
        self.assertEqual(r.status, status, f"{case}: {r.body[:300]!r}")
        self.assertIn(b"<html", r.body, case)
        self.assertIn(words, r.body, case)
        self.assertNotIn(PASSWORD.encode(), r.body, case)

    def login(self, server):
        c = Client(PORT)
        r = c.login(USER, PASSWORD, server=server)
        return c, r

    def test_hostile_greetings_fail_the_login_with_502(self):
        for mode in fake_imap.GREETING_MODES:
            FAKE.mode = mode
            _, r = self.login("hostile")
            self.assert_error_page(r, 502, b"mail server", mode)
            # the login form again, so the user can try another server
            self.assertIn(b'name="password"', r.body, mode)
            self.assert_alive()
        # postern never got as far as sending the credentials
        got = FAKE.received()
        self.assertNotIn(b"LOGIN", got)
        self.assertNotIn(PASSWORD.encode(), got)

    def test_after_login_each_attack_is_a_502_or_504_page(self):
        want = {
            "literal": (502, b"cannot read"),
            "endless": (502, b"cannot read"),
            "deep": (502, b"cannot read"),
            "garbage": (502, b"cannot read"),
            "stall-literal": (504, b"did not answer in time"),
            "drip": (504, b"did not answer in time"),
            "disconnect": (502, b"could not be reached"),
        }
        self.assertEqual(set(want), set(fake_imap.AFTER_LOGIN_MODES))
        for mode, (status, words) in want.items():
            FAKE.mode = "normal"
            c, r = self.login("hostile")
            self.assertEqual(r.status, 303, f"{mode}: login {r.body[:200]}")
            FAKE.mode = mode
            r = c.get("/mailbox?f=INBOX")
            self.assert_error_page(r, status, words, mode)
            # a GET that failed on the server offers to try again
            self.assertIn(b"/mailbox?f=INBOX", r.body, mode)
            self.assert_alive()
            # the session survives a broken server: the next try works
            FAKE.mode = "normal"
            r = c.get("/mailbox?f=INBOX")
            self.assertEqual(r.status, 200, f"{mode}: after {r.body[:300]}")

    def test_json_clients_get_the_same_statuses(self):
        FAKE.mode = "normal"
        c, r = self.login("hostile")
        self.assertEqual(r.status, 303)
        for mode, status, code in (("deep", 502, b'"protocol"'),
                                   ("stall-literal", 504, b'"timeout"')):
            FAKE.mode = mode
            r = c.get("/mailbox?f=INBOX", json=True)
            self.assertEqual(r.status, status, mode)
            self.assertIn(code, r.body, mode)

    def test_starttls_downgrade_never_sends_the_password(self):
        for mode in fake_imap.STARTTLS_MODES:
            FAKE.clear()
            FAKE.mode = mode
            _, r = self.login("hostile-tls")
            self.assert_error_page(r, 502, b"mail server", mode)
            got = FAKE.received()
            for word in (b"LOGIN", b"AUTHENTICATE", PASSWORD.encode(),
                         USER.encode()):
                self.assertNotIn(word, got, f"{mode}: sent {got!r}")
            self.assert_alive()
        # and what postern did send: STARTTLS was asked for where offered
        FAKE.clear()
        FAKE.mode = "starttls-bad"
        self.login("hostile-tls")
        self.assertIn(b"STARTTLS", FAKE.received())

    def test_the_client_address_goes_to_the_server_with_id_before_login(self):
        FAKE.mode = "id"
        _, r = self.login("hostile")
        self.assertEqual(r.status, 303)
        got = FAKE.received()
        want = b'ID ("name" "postern" "x-originating-ip" "127.0.0.1")\r\n'
        self.assertIn(want, got)
        self.assertLess(got.index(want), got.index(b" LOGIN "))
        # a server without ID is not asked
        FAKE.clear()
        FAKE.mode = "normal"
        self.login("hostile")
        self.assertNotIn(b" ID ", FAKE.received())

    def test_memory_stays_bounded_through_every_attack(self):
        for _ in range(2):
            for mode in ("greet-endless", "greet-literal", "greet-deep"):
                FAKE.mode = mode
                self.login("hostile")
            FAKE.mode = "normal"
            c, _ = self.login("hostile")
            for mode in ("endless", "literal", "deep", "garbage"):
                FAKE.mode = mode
                self.assertEqual(c.get("/mailbox?f=INBOX").status, 502)
        self.assert_alive()
        # against the peak before the first attack of the module
        grown = proc_status_kb("VmHWM") - BASE_HWM_KB
        print(f"# peak memory grew by {grown} kB over the attacks")
        self.assertLess(grown, MEM_BOUND_KB,
                        f"peak memory grew by {grown} kB (VmRSS now "
                        f"{proc_status_kb('VmRSS')} kB)")
