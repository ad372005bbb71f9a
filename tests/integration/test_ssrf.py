"""test_ssrf.py - allow_any_server must not make postern a port scanner:
typed hosts that are (or resolve to) loopback, private, link-local or
other internal addresses are refused before any connection, in every
numeric spelling; a host listed in allowed_hosts gets through; configured
servers are not affected."""

import unittest

import fake_imap
from harness import ENV, EXTRA_SERVE_PORT, FAKE_IMAP_PORT, Client

PORT = EXTRA_SERVE_PORT + 2
TRAP_PORT = FAKE_IMAP_PORT + 1   # records whether anything connected
TRAP = None
LISTED = None   # on 127.0.0.3, the one address allowed_hosts lists
PROC = None


def setUpModule():
    global TRAP, LISTED, PROC
    TRAP = fake_imap.FakeImap(TRAP_PORT)
    LISTED = fake_imap.FakeImap(TRAP_PORT, host="127.0.0.3")
    PROC = ENV.spawn_serve("ssrf", PORT, extra_postern="""
allow_any_server = true
allowed_hosts = 127.0.0.3; mail.example.invalid
""")


def tearDownModule():
    if PROC is not None:
        PROC.stop()
    for t in (TRAP, LISTED):
        if t is not None:
            t.stop()


class Ssrf(unittest.TestCase):
    def setUp(self):
        TRAP.clear()
        LISTED.clear()

    def login(self, server, user="alice", password="ssrf-Pa55"):
        return Client(PORT).login(user, password, server=server)

    def test_the_form_lets_users_type_a_server(self):
        r = Client(PORT).get("/")
        self.assertIn(b'<input id="server" name="server"', r.body)
        self.assertIn(b'<option value="local">', r.body)

    def test_internal_addresses_are_refused_before_connecting(self):
        hosts = ["127.0.0.1", "127.1", "0x7f.1", "2130706433", "0177.0.0.1",
                 "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
                 "10.0.0.1", "172.16.5.4", "192.168.1.1", "100.64.0.1",
                 "169.254.169.254", "[fd00::1]", "[fe80::1]", "0.0.0.0"]
        for host in hosts:
            r = self.login(f"{host}:{TRAP_PORT}")
            self.assertEqual(r.status, 400, f"{host}: {r.body[:200]!r}")
            self.assertIn(b"internal address", r.body, host)
            self.assertIn(b"allowed_hosts", r.body, host)
            self.assertIn(b'name="password"', r.body, host)
        # nothing reached the loopback listener, not even a TCP hello
        self.assertEqual(TRAP.transcripts, [])
        self.assertNotIn("ssrf-Pa55", PROC.output())

    def test_a_name_that_resolves_inside_is_refused(self):
        for name in ("localhost", "LocalHost"):
            r = self.login(f"{name}:{TRAP_PORT}")
            self.assertEqual(r.status, 400, f"{name}: {r.body[:200]!r}")
            self.assertIn(b"internal address", r.body, name)
        self.assertEqual(TRAP.transcripts, [])

    def test_a_listed_host_gets_through_and_still_needs_tls(self):
        LISTED.mode = "client-first"
        r = self.login(f"127.0.0.3:{TRAP_PORT}")
        # the trap speaks no TLS: the handshake fails, a 502
        self.assertEqual(r.status, 502, r.body[:300])
        self.assertEqual(TRAP.transcripts, [])
        got = LISTED.wait_received(min_bytes=5)
        self.assertTrue(got.startswith(b"\x16\x03"), got[:20])  # ClientHello
        self.assertNotIn(b"LOGIN", got)
        self.assertNotIn(b"ssrf-Pa55", got)

    def test_nonsense_is_not_a_server(self):
        for text in ("mail example.org", "a;b", "[::1", "host:0",
                     "host:99999", "-x", "x" * 300, "[nothex]:993"):
            r = self.login(text)
            self.assertEqual(r.status, 400, text)
            self.assertIn(b"is not a mail server", r.body, text)
        self.assertEqual(TRAP.transcripts, [])

    def test_configured_servers_are_not_guarded(self):
        r = self.login("local", ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
        self.assertEqual(r.status, 303, r.body[:300])
