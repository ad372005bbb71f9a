"""test_abuse.py - hostile browsers: oversized headers, bodies and uploads
on both front ends (nginx may answer first: a clean 4xx either way), slow
clients timed out, login throttling per address and per user (429 with
Retry-After), the session cookie's flags (DESIGN §4), and the security
headers of DESIGN §3 on every route, logged in or not."""

import json
import os
import re
import socket
import unittest
import urllib.parse

from harness import (ENV, EXTRA_SERVE_PORT, NGINX_PORT, POSTERN, SERVE_PORT,
                     Client, raw_request, request)

FRONTS = {"serve": SERVE_PORT, "nginx+fcgi": NGINX_PORT}
ABUSE_PORT = EXTRA_SERVE_PORT + 1
ABUSE = None


def setUpModule():
    global ABUSE
    # tight limits of its own, so the rest of the suite is not throttled
    ABUSE = ENV.spawn_serve("abuse", ABUSE_PORT, extra_postern="""
login_fails_per_user = 3
login_fails_per_address = 6
login_delay_max = 600
client_timeout = 2
""")


def tearDownModule():
    if ABUSE is not None:
        ABUSE.stop()


def alice():
    return ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"]


def bob():
    return ENV.mail["BOB_USER"], ENV.mail["BOB_PASS"]


def read_until_closed(s, limit=1 << 20):
    data = b""
    while len(data) < limit:
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            break
        if not b:
            break
        data += b
    return data


class Oversized(unittest.TestCase):
    def multipart(self, size):
        boundary = "----postern-abuse"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; "
                f'name="attachment"; filename="big.bin"\r\n'
                f"Content-Type: application/octet-stream\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        body = head + b"\0" * size + tail
        return {"Content-Type":
                f"multipart/form-data; boundary={boundary}"}, body

    def post_expecting(self, port, headers, body):
        """POST /send as curl does with a big body (Expect: 100-continue):
        a refusal by Content-Length comes before any body is sent, so the
        answer cannot be lost to a reset while the body is still going."""
        head = (f"POST /send HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n"
                f"Connection: close\r\n")
        for k, v in headers.items():
            head += f"{k}: {v}\r\n"
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall((head + "\r\n").encode())
            got = b""
            while b"\r\n\r\n" not in got:
                b = s.recv(65536)
                if not b:
                    break
                got += b
            if got.startswith(b"HTTP/1.1 100"):
                s.sendall(body)
                got = got.split(b"\r\n\r\n", 1)[1]
            while True:
                try:
                    b = s.recv(65536)
                except ConnectionResetError:
                    break
                if not b:
                    break
                got += b
        status_line, _, rest = got.partition(b"\r\n")
        hdrs, _, text = rest.partition(b"\r\n\r\n")
        return int(status_line.split()[1]), hdrs, text

    def test_upload_over_max_upload_is_a_413_from_both_front_ends(self):
        # max_upload is 2M and max_body_bytes 64k in the test config
        headers, body = self.multipart(ENV.max_upload + 128 * 1024)
        for name, port in FRONTS.items():
            status, head, text = self.post_expecting(port, headers, body)
            self.assertEqual(status, 413, name)
            self.assertIn(b"too large", text, name)
            self.assertIn(b"x-content-type-options: nosniff", head.lower())
        self.assertEqual(request(SERVE_PORT, "GET", "/healthz").status, 200)

    def test_chunked_body_over_the_cap_is_a_413(self):
        # no Content-Length to refuse early: counted as it comes
        chunk = b"p" * 16384
        for name, port in FRONTS.items():
            with socket.create_connection(("127.0.0.1", port),
                                          timeout=20) as s:
                s.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\n"
                          b"Connection: close\r\n"
                          b"Content-Type: application/x-www-form-urlencoded"
                          b"\r\nTransfer-Encoding: chunked\r\n\r\n")
                try:
                    for _ in range(8):  # 128k, the cap is 64k
                        s.sendall(b"4000\r\n" + chunk + b"\r\n")
                    s.sendall(b"0\r\n\r\n")
                except OSError:
                    pass  # refused before the end: fine
                out = read_until_closed(s)
            self.assertRegex(out.split(b"\r\n", 1)[0].decode("latin-1"),
                             r"^HTTP/1\.1 413 ", name)

    def test_huge_content_length_is_refused_before_the_body(self):
        for name, port in FRONTS.items():
            line, _ = raw_request(port, (
                b"POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 900000000\r\n\r\nuser=a"))
            # postern's 413, or nginx's own (client_max_body_size)
            self.assertRegex(line, r"^HTTP/1\.1 413 ", name)

    def test_headers_nginx_refuses_itself_are_still_a_clean_4xx(self):
        # one 20 KB header: past nginx's 8k buffers, past postern's 4k cap
        for name, port in FRONTS.items():
            line, out = raw_request(port, (
                b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"X-Big: " + b"b" * 20000 + b"\r\n\r\n"))
            self.assertRegex(line, r"^HTTP/1\.1 4(00|31|94) ", name)
            self.assertNotIn(b"b" * 100, out, name)
        # many small headers: past postern's count and byte caps
        many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 40)
                        for i in range(150))
        for name, port in FRONTS.items():
            line, _ = raw_request(port, b"GET / HTTP/1.1\r\nHost: x\r\n"
                                  b"Connection: close\r\n" + many + b"\r\n")
            self.assertRegex(line, r"^HTTP/1\.1 4(00|31) ", name)
        self.assertEqual(request(SERVE_PORT, "GET", "/healthz").status, 200)

    def test_long_url_is_refused(self):
        for name, port in FRONTS.items():
            line, _ = raw_request(port, b"GET /?q=" + b"u" * 9000 +
                                  b" HTTP/1.1\r\nHost: x\r\n"
                                  b"Connection: close\r\n\r\n")
            self.assertRegex(line, r"^HTTP/1\.1 (4\d\d) ", name)


class SlowClients(unittest.TestCase):
    """client_timeout is 2 s on the abuse instance: an idle browser is
    dropped well before the 10 s this socket waits at most."""

    def assert_dropped(self, first_bytes):
        with socket.create_connection(("127.0.0.1", ABUSE_PORT),
                                      timeout=10) as s:
            s.sendall(first_bytes)
            try:
                out = read_until_closed(s)
            except socket.timeout:
                self.fail(f"still connected after 10 s: {first_bytes!r}")
        # closed, maybe with an error answer, never a page for the request
        self.assertNotIn(b"200 OK", out)

    def test_half_sent_headers_are_dropped(self):
        self.assert_dropped(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")

    def test_half_sent_body_is_dropped(self):
        self.assert_dropped(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\nuser=")

    def test_postern_still_answers_afterwards(self):
        self.assert_dropped(b"GET /")
        self.assertEqual(request(ABUSE_PORT, "GET", "/healthz").status, 200)


class Throttle(unittest.TestCase):
    """login_fails_per_user = 3, login_fails_per_address = 6 here."""

    def assert_throttled(self, r, who):
        self.assertEqual(r.status, 429, f"{who}: {r.body[:200]!r}")
        wait = r.header("retry-after")
        self.assertIsNotNone(wait, who)
        self.assertRegex(wait, r"^[1-9][0-9]*$")
        self.assertLessEqual(int(wait), 600)
        return int(wait)

    def test_per_user_then_per_address(self):
        user, password = alice()
        for i in range(3):
            r = Client(ABUSE_PORT).login(user, f"wrong-{i}")
            self.assertEqual(r.status, 401, i)
            self.assertIn(b"Login failed.", r.body)
        # the right password does not help now: no guess reaches Dovecot
        r = Client(ABUSE_PORT).login(user, password)
        self.assert_throttled(r, "alice")
        self.assertIn(b"Too many failed logins", r.body)
        self.assertIn(b'name="password"', r.body)
        self.assertFalse([ln for ln in r.set_cookies
                          if ln.startswith("postern=")])
        # JSON clients get the same, as an error object
        c = Client(ABUSE_PORT)
        c.get("/")
        h = {"Content-Type": "application/x-www-form-urlencoded",
             "Accept": "application/json"}
        r = c.request("POST", "/login", h, urllib.parse.urlencode(
            {"user": user, "password": password,
             "csrf": c.csrf}).encode())
        self.assert_throttled(r, "alice json")
        self.assertEqual(json.loads(r.body)["error"]["code"], "throttled")
        # bob, at the same address, is not blocked by alice's failures
        r = Client(ABUSE_PORT).login(*bob())
        self.assertEqual(r.status, 303, r.body[:200])
        # three more failures from this address, each for another user,
        # reach the address's allowance: now everyone here waits
        for i in range(3):
            r = Client(ABUSE_PORT).login(f"nosuchuser{i}", "x")
            self.assertEqual(r.status, 401, i)
        r = Client(ABUSE_PORT).login(*bob())
        self.assert_throttled(r, "bob after the address's allowance")
        # the main instance (another process) knows nothing of this
        r = Client(SERVE_PORT).login(*bob())
        self.assertEqual(r.status, 303)
        log = ABUSE.output()
        self.assertIn("throttled", log)
        self.assertNotIn(password, log)


class Cookies(unittest.TestCase):
    def session_cookie(self, r):
        for line in r.set_cookies:
            if line.startswith("postern="):
                return line
        self.fail(f"no session cookie in {r.set_cookies}")

    def flags(self, line):
        return {p.strip().split("=")[0].lower(): p.strip()
                for p in line.split(";")[1:]}

    def test_session_cookie_flags_over_http_and_https(self):
        for name, port in FRONTS.items():
            c = Client(port)
            r = c.login(*alice())
            self.assertEqual(r.status, 303, name)
            line = self.session_cookie(r)
            f = self.flags(line)
            self.assertIn("httponly", f, line)
            self.assertEqual(f.get("samesite"), "SameSite=Strict", line)
            self.assertEqual(f.get("path"), "Path=/", line)
            self.assertNotIn("secure", f, f"{name}: plain HTTP: {line}")
            # 32 bytes of id and 32 of key, base64url
            self.assertRegex(line, r"^postern=[A-Za-z0-9_-]{86};")
            # the logout expires it with the same flags
            c.get("/compose")  # a page with the session's form token
            r = c.post("/logout", {})
            line = self.session_cookie(r)
            self.assertIn("Max-Age=0", line)
            self.assertIn("HttpOnly", line)
            # X-Forwarded-Proto from a peer not in trusted_proxies is not
            # believed (the trusted case: test_deploy.py)
            https = {"X-Forwarded-Proto": "https"}
            c = Client(port)
            r = c.request("GET", "/", https)
            self.assertTrue(r.set_cookies, name)
            if name == "serve":
                for line in r.set_cookies:
                    self.assertNotIn("; Secure", line, name)

    def test_cgi_over_https_marks_cookies_secure(self):
        import subprocess
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "GATEWAY_INTERFACE": "CGI/1.1", "POSTERN_CONFIG": ENV.config,
               "REQUEST_METHOD": "GET", "REQUEST_URI": "/",
               "REMOTE_ADDR": "127.0.0.9", "HTTPS": "on"}
        p = subprocess.run([POSTERN], env=env, capture_output=True,
                           timeout=20)
        head = p.stdout.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        cookies = [ln for ln in head.split("\r\n")
                   if ln.lower().startswith("set-cookie:")]
        self.assertTrue(cookies, head)
        for ln in cookies:
            self.assertIn("; Secure", ln)
            self.assertIn("HttpOnly", ln)
            self.assertIn("SameSite=Strict", ln)


class SecurityHeaders(unittest.TestCase):
    """Every route, GET and POST, logged in and not, error pages, static
    files, /healthz and /metrics: each response has DESIGN §3's headers."""

    def check(self, r, what):
        csp = r.header("content-security-policy")
        self.assertIsNotNone(csp, what)
        directives = {d.strip().split(" ")[0]: d.strip()
                      for d in csp.split(";") if d.strip()}
        self.assertIn("frame-ancestors", directives, f"{what}: {csp}")
        self.assertIn(directives["frame-ancestors"],
                      ("frame-ancestors 'none'", "frame-ancestors 'self'"),
                      what)
        script = directives.get("script-src", directives.get("default-src"))
        self.assertIsNotNone(script, f"{what}: {csp}")
        self.assertNotIn("unsafe-inline", script, what)
        self.assertNotIn("unsafe-eval", script, what)
        self.assertEqual(r.header("x-content-type-options"), "nosniff", what)
        self.assertEqual(r.header("referrer-policy"), "no-referrer", what)
        cache = r.header("cache-control")
        self.assertIsNotNone(cache, what)
        if "/static/" not in what:
            self.assertEqual(cache, "no-store", what)

    def walk(self, name, port, c, uid):
        seen = set()
        gets = ["/", "/folders", "/mailbox?f=INBOX", "/compose",
                f"/message?f=INBOX&uid={uid}", f"/body?f=INBOX&uid={uid}",
                f"/part?f=INBOX&uid={uid}&part=1",
                f"/source?f=INBOX&uid={uid}",
                "/message?f=INBOX&uid=4000000000", "/mailbox?f=NoSuchBox",
                "/healthz", "/metrics", "/static/postern.css",
                "/static/nope.css", "/no/such/route", "/?user=%zz",
                "/mailbox?f=INBOX&page=x", "/mailbox?f=INBOX&format=json"]
        for path in gets:
            r = c.request("GET", path)
            self.check(r, f"{name} GET {path} ({r.status})")
            seen.add(r.status)
            r = c.request("GET", path, {"Accept": "application/json"})
            self.check(r, f"{name} GET {path} json ({r.status})")
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        posts = [("/action", {"f": "INBOX", "op": "nonsense"}),
                 ("/folder", {"op": "nonsense"}),
                 ("/send", {}), ("/draft", {}),
                 ("/action", {"f": "INBOX", "op": "read"}),  # no uid
                 ("/login", {"user": "x"}),                 # no csrf
                 ("/mailbox", {})]                          # 405
        for path, fields in posts:
            for with_csrf in (True, False):
                f = dict(fields)
                if with_csrf and c.csrf:
                    f["csrf"] = c.csrf
                r = c.request("POST", path, form,
                              urllib.parse.urlencode(f).encode())
                self.check(r, f"{name} POST {path} ({r.status})")
                seen.add(r.status)
        r = c.request("PUT", "/", form, b"")
        self.check(r, f"{name} PUT / ({r.status})")
        r = c.request("GET", "/", {"X-Big": "y" * 5000})
        self.check(r, f"{name} 431 ({r.status})")
        r = c.request("POST", "/login", form, b"x" * (70 * 1024))
        self.check(r, f"{name} 413 ({r.status})")
        return seen

    def test_every_route_logged_out_and_in(self):
        for name, port in FRONTS.items():
            out = self.walk(name, port, Client(port), 1)
            # logged out: redirects to the form, refusals, not-found
            self.assertTrue({303, 401, 403, 404} <= out, f"{name}: {out}")
            c = Client(port)
            self.assertEqual(c.login(*alice()).status, 303)
            status, box = c.json("/mailbox?f=INBOX")
            self.assertEqual(status, 200)
            uid = box["messages"][0]["uid"]
            seen = self.walk(name, port, c, uid)
            self.assertTrue({200, 400, 404, 405} <= seen, f"{name}: {seen}")
            r = c.post("/logout", {})
            self.check(r, f"{name} POST /logout")
            self.assertEqual(r.status, 303)
