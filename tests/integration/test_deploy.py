"""test_deploy.py - postern exposed on its own and behind a reverse proxy:
HTTPS with the test CA (verified), TLS 1.2+, the redirect listener, Secure
cookies and HSTS, trusted_proxies, base_path = /webmail/ directly and
through nginx (the conf/ examples themselves, FastCGI and HTTP proxy),
gzip, masked CSRF tokens (BREACH) and hashed static URLs."""

import gzip
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import time
import unittest

import test_frontends  # its run_cgi; a module, so no tests run twice
from harness import (ENV, NGINX_PORT, NGINX_SH, POSTERN, ROOT, SERVE_PORT,
                     WORK, Client, Process, Response, port_is_free,
                     served_static, wait_port, write_config)

HTTPS_PORT = SERVE_PORT + 10       # postern serve with TLS, base /
REDIRECT_PORT = SERVE_PORT + 11    # its plain listener that redirects
SUB_PORT = SERVE_PORT + 12         # postern serve at /webmail/, proxies
SUB_FCGI_PORT = SERVE_PORT + 13    # postern fcgi at /webmail/, no gzip
NGINX_FCGI_PORT = SERVE_PORT + 14  # nginx: conf/nginx-postern(-upstream).conf
NGINX_PROXY_PORT = SERVE_PORT + 15  # nginx: conf/nginx-postern-proxy.conf

BASE = "/webmail/"
# 127.0.0.1 is nginx (and the plain test client); 127.0.0.64/26 another
# proxy; 127.0.0.3 is nobody postern should believe.
TRUSTED = "127.0.0.1; 127.0.0.64/26"
UNTRUSTED_SRC = "127.0.0.3"
MASKED_RE = rb'name="csrf" value="([A-Za-z0-9_-]{86})"'

_procs = []
_nginx_dirs = []


def alice():
    return ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"]


def _conf(name, extra):
    path = os.path.join(WORK, f"{name}.conf")
    write_config(path, ENV.mail, extra_postern=extra)
    # write_config listens on SERVE_PORT; each instance here has its own
    with open(path) as f:
        text = f.read()
    return path, text


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _spawn(name, argv):
    p = Process(name, argv)
    _procs.append(p)
    return p


def _site(example, name, upstream):
    """A copy of a conf/ example with its upstream moved to ours."""
    with open(os.path.join(ROOT, "conf", example)) as f:
        text = f.read()
    text = text.replace("127.0.0.1:9000", upstream)
    text = text.replace("127.0.0.1:8080", upstream)
    path = os.path.join(WORK, name)
    _write(path, text)
    return path


def _nginx(name, port, site, http=None):
    d = os.path.join(WORK, name)
    _nginx_dirs.append(d)
    subprocess.run([NGINX_SH, "start", "--dir", d, "--port", str(port),
                    "--site", site] + (["--http", http] if http else []),
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    wait_port(port)


def setUpModule():
    for port in (HTTPS_PORT, REDIRECT_PORT, SUB_PORT, SUB_FCGI_PORT,
                 NGINX_FCGI_PORT, NGINX_PROXY_PORT):
        if not port_is_free(port):
            raise RuntimeError(f"port {port} is taken")
    m = ENV.mail
    tls, text = _conf("tls", f"tls_cert = {m['SERVER_CERT_FILE']}\n"
                             f"tls_key = {m['SERVER_KEY_FILE']}\n"
                             f"redirect_listen = 127.0.0.1:{REDIRECT_PORT}\n")
    _write(tls, text.replace(f"127.0.0.1:{SERVE_PORT}",
                             f"127.0.0.1:{HTTPS_PORT}"))
    sub, text = _conf("sub", f"base_path = {BASE}\n"
                             f"trusted_proxies = {TRUSTED}\n")
    _write(sub, text.replace(f"127.0.0.1:{SERVE_PORT}",
                             f"127.0.0.1:{SUB_PORT}"))
    nogz, text = _conf("sub-nogzip", f"base_path = {BASE}\ncompress = no\n")
    _write(nogz, text)
    _spawn("serve-tls", [POSTERN, "serve", "-c", tls])
    _spawn("serve-sub", [POSTERN, "serve", "-c", sub])
    _spawn("fcgi-sub", [POSTERN, "fcgi", "-c", nogz, "--socket",
                        f"127.0.0.1:{SUB_FCGI_PORT}"])
    for port in (HTTPS_PORT, REDIRECT_PORT, SUB_PORT, SUB_FCGI_PORT):
        wait_port(port)
    _nginx("nginx-fcgi", NGINX_FCGI_PORT,
           _site("nginx-postern.conf", "site-fcgi.conf",
                 f"127.0.0.1:{SUB_FCGI_PORT}"),
           _site("nginx-postern-upstream.conf", "http-fcgi.conf",
                 f"127.0.0.1:{SUB_FCGI_PORT}"))
    _nginx("nginx-proxy", NGINX_PROXY_PORT,
           _site("nginx-postern-proxy.conf", "site-proxy.conf",
                 f"127.0.0.1:{SUB_PORT}"))


def tearDownModule():
    for d in _nginx_dirs:
        subprocess.run([NGINX_SH, "stop", "--dir", d], cwd=ROOT)
    for p in _procs:
        p.stop()


def proc(name):
    return [p for p in _procs if p.name == name][0]


# ---- clients ---------------------------------------------------------------

def tls_context(cafile=None, version=None):
    ctx = ssl.create_default_context(cafile=cafile or ENV.mail["CA_FILE"])
    if version is not None:
        ctx.minimum_version = version
        ctx.maximum_version = version
    return ctx


class DeployClient(Client):
    """harness.Client over any connection: HTTPS verified against the test
    CA, or plain HTTP from a chosen source address."""

    def __init__(self, port, base="/", https=False, source=None,
                 host="127.0.0.1"):
        super().__init__(port, base)
        self.https = https
        self.source = source
        self.host = host

    def connection(self):
        if self.https:
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=30, context=tls_context())
        return http.client.HTTPConnection(
            self.host, self.port, timeout=30,
            source_address=(self.source, 0) if self.source else None)

    def request(self, method, path, headers=None, body=None):
        conn = self.connection()
        try:
            conn.request(method, self.base.rstrip("/") + path, body=body,
                         headers=self._headers(headers))
            raw = conn.getresponse()
            data = raw.read()
            r = Response(raw.status, {k.lower(): v for k, v in
                                      raw.getheaders()}, data)
            r.set_cookies = [v for k, v in raw.getheaders()
                             if k.lower() == "set-cookie"]
        finally:
            conn.close()
        plain = r.body
        if r.header("content-encoding") == "gzip":
            plain = gzip.decompress(r.body)
        # _remember reads the cookies and the form token: give it the page
        r2 = Response(r.status, r.headers, plain)
        r2.set_cookies = r.set_cookies
        self._remember(r2)
        r.plain = plain
        return r


def cookie_line(r, name):
    lines = [c for c in r.set_cookies if c.startswith(name + "=")]
    return lines[0] if lines else None


def login(c):
    r = c.get("/")
    assert r.status == 200, (r.status, r.body[:300])
    r = c.post("/login", {"user": alice()[0], "password": alice()[1]})
    assert r.status == 303, (r.status, r.body[:300])
    return r


def first_uid(c):
    r = c.get("/mailbox?f=INBOX", json=True)
    return json.loads(r.plain)["messages"][0]["uid"]


def mask_free(body):
    return re.sub(rb'name="csrf" value="[^"]*"', b'name="csrf" value=""',
                  body)


# ---- HTTPS -----------------------------------------------------------------

class Https(unittest.TestCase):
    def test_https_verified_against_the_ca_made_at_test_start(self):
        c = DeployClient(HTTPS_PORT, https=True, host="localhost")
        r = c.get("/")
        self.assertEqual(r.status, 200)
        self.assertIn(b'<form method="post" action="/login">', r.body)
        self.assertEqual(r.header("strict-transport-security"),
                         "max-age=31536000")
        self.assertIn("Secure", cookie_line(r, "postern_login"))
        # a CA that did not sign the certificate: the client refuses it,
        # so the verification above was real
        conn = http.client.HTTPSConnection(
            "localhost", HTTPS_PORT, timeout=10,
            context=tls_context(ENV.mail["UNTRUSTED_CA_FILE"]))
        with self.assertRaises(ssl.SSLCertVerificationError):
            conn.request("GET", "/healthz")
        conn.close()

    def test_tls_1_2_and_1_3_only(self):
        for v, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"),
                        (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            with socket.create_connection(("127.0.0.1", HTTPS_PORT), 10) as s:
                with tls_context(version=v).wrap_socket(
                        s, server_hostname="localhost") as t:
                    self.assertEqual(t.version(), name)
        for v in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            ctx = tls_context(version=v)
            # the client offers the old version (seclevel 0 allows it);
            # the server must be the one that refuses
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            with socket.create_connection(("127.0.0.1", HTTPS_PORT), 10) as s:
                with self.assertRaises(ssl.SSLError, msg=v.name) as cm:
                    ctx.wrap_socket(s, server_hostname="localhost")
            self.assertNotIn("NO_PROTOCOLS", str(cm.exception))
            self.assertNotIn("NO_CIPHERS", str(cm.exception))

    def test_login_over_https_gives_a_secure_session_cookie(self):
        c = DeployClient(HTTPS_PORT, https=True, host="localhost")
        r = login(c)
        line = cookie_line(r, "postern")
        self.assertIn("Secure", line)
        self.assertIn("HttpOnly", line)
        self.assertIn("SameSite=Strict", line)
        self.assertEqual(r.header("location"), "/mailbox?f=INBOX")
        r = c.get("/mailbox?f=INBOX")
        self.assertEqual(r.status, 200)
        self.assertIn(b'class="messages"', r.body)

    def test_plain_http_cookies_are_not_secure_and_get_no_hsts(self):
        c = DeployClient(SERVE_PORT)
        r = login(c)
        self.assertNotIn("Secure", cookie_line(r, "postern"))
        self.assertIsNone(r.header("strict-transport-security"))

    def test_https_on_from_the_web_server_makes_cookies_secure(self):
        # FastCGI and CGI share the code that reads HTTPS=on
        for https, secure in (("on", True), ("", False)):
            status, headers, _ = test_frontends.run_cgi(
                "GET", "/", extra={"HTTPS": https} if https else None)
            self.assertEqual(status, 200)
            self.assertEqual("Secure" in headers["set-cookie"], secure)
            self.assertEqual("strict-transport-security" in headers, secure)

    def test_the_plain_listener_only_redirects_to_https(self):
        for method, status in (("GET", 301), ("HEAD", 301), ("POST", 308)):
            conn = http.client.HTTPConnection("127.0.0.1", REDIRECT_PORT,
                                              timeout=10)
            conn.request(method, "/mailbox?f=INBOX&page=2", body=b"x=1"
                         if method == "POST" else None,
                         headers={"Host": f"localhost:{REDIRECT_PORT}"})
            r = conn.getresponse()
            r.read()
            conn.close()
            self.assertEqual(r.status, status, method)
            self.assertEqual(r.getheader("location"),
                             f"https://localhost:{HTTPS_PORT}"
                             f"/mailbox?f=INBOX&page=2")
        # what it serves is a redirect, never a page of postern
        conn = http.client.HTTPConnection("127.0.0.1", REDIRECT_PORT,
                                          timeout=10)
        conn.request("GET", "/healthz")
        r = conn.getresponse()
        self.assertEqual(r.status, 301)
        self.assertNotEqual(r.read(), b"ok\n")
        self.assertIsNone(r.getheader("set-cookie"))
        conn.close()
        # the Location follows to a page that works, verified
        c = DeployClient(HTTPS_PORT, https=True, host="localhost")
        self.assertEqual(c.get("/healthz").body, b"ok\n")

    def test_the_redirect_needs_a_plausible_host(self):
        with socket.create_connection(("127.0.0.1", REDIRECT_PORT), 10) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            out = s.recv(4096)
        self.assertIn(b" 400 ", out.split(b"\r\n", 1)[0])
        with socket.create_connection(("127.0.0.1", REDIRECT_PORT), 10) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: evil/\"x\r\n\r\n")
            out = s.recv(4096)
        self.assertIn(b" 400 ", out.split(b"\r\n", 1)[0])


class TlsFiles(unittest.TestCase):
    def config(self, name, extra):
        path, text = _conf(name, extra)
        _write(path, text)
        return path

    def check(self, path, *want):
        for cmd in ("check-config", "serve"):
            p = subprocess.run([POSTERN, cmd, "-c", path], capture_output=True,
                               text=True, timeout=20, cwd=ROOT)
            self.assertEqual(p.returncode, 2, (cmd, p.stderr))
            for w in want:
                self.assertIn(w, p.stderr, cmd)

    def test_missing_certificate_stops_start_up_naming_the_file(self):
        missing = os.path.join(WORK, "no-such-cert.pem")
        path = self.config("tls-missing", f"tls_cert = {missing}\n"
                           f"tls_key = {ENV.mail['SERVER_KEY_FILE']}\n")
        self.check(path, missing, "tls_cert", "No such file")

    def test_unreadable_key_stops_start_up_naming_the_file(self):
        key = os.path.join(WORK, "unreadable.key")
        os.makedirs(key, exist_ok=True)  # a directory cannot be read
        path = self.config("tls-unreadable",
                           f"tls_cert = {ENV.mail['SERVER_CERT_FILE']}\n"
                           f"tls_key = {key}\n")
        self.check(path, key, "tls_key", "cannot read")

    def test_a_certificate_given_as_key_is_refused(self):
        cert = ENV.mail["SERVER_CERT_FILE"]
        path = self.config("tls-swapped", f"tls_cert = {cert}\n"
                           f"tls_key = {cert}\n")
        self.check(path, "tls_key", "no unencrypted PEM private key")

    def test_a_key_of_another_certificate_is_refused(self):
        path = self.config("tls-mismatch",
                           f"tls_cert = {ENV.mail['SERVER_CERT_FILE']}\n"
                           f"tls_key = {ENV.mail['UNTRUSTED_KEY_FILE']}\n")
        self.check(path, ENV.mail["UNTRUSTED_KEY_FILE"], "not the key")

    def test_redirect_listen_without_tls_is_a_config_error(self):
        path = self.config("redirect-notls",
                           f"redirect_listen = 127.0.0.1:{REDIRECT_PORT}\n")
        self.check(path, "redirect_listen", "tls_cert")


# ---- trusted proxies -------------------------------------------------------

class TrustedProxies(unittest.TestCase):
    def access_line(self, path):
        time.sleep(0.2)
        for line in proc("serve-sub").output().splitlines():
            if f" GET {path} " in line and " access " in line:
                return line
        self.fail(f"no access line for {path}")

    def visit(self, source, path, headers):
        conn = http.client.HTTPConnection("127.0.0.1", SUB_PORT, timeout=10,
                                          source_address=(source, 0))
        conn.request("GET", BASE.rstrip("/") + path, headers=headers)
        r = conn.getresponse()
        r.read()
        conn.close()
        return r

    FORGED = {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https"}

    def test_forged_headers_from_an_untrusted_address_are_ignored(self):
        r = self.visit(UNTRUSTED_SRC, "/", self.FORGED)
        self.assertEqual(r.status, 200)
        self.assertNotIn("Secure", r.getheader("set-cookie"))
        self.assertIsNone(r.getheader("strict-transport-security"))
        self.visit(UNTRUSTED_SRC, "/probe-untrusted", self.FORGED)
        line = self.access_line("/probe-untrusted")
        self.assertIn(f"access {UNTRUSTED_SRC} GET", line)
        self.assertNotIn("6.6.6.6", line)

    def test_the_same_headers_from_a_trusted_proxy_are_believed(self):
        for src in ("127.0.0.1", "127.0.0.70"):  # listed, and by CIDR
            r = self.visit(src, "/", self.FORGED)
            self.assertIn("Secure", r.getheader("set-cookie"), src)
            self.assertEqual(r.getheader("strict-transport-security"),
                             "max-age=31536000")
            path = f"/probe-trusted-{src.rsplit('.', 1)[1]}"
            self.visit(src, path, self.FORGED)
            self.assertIn("access 6.6.6.6 GET", self.access_line(path))

    def test_the_chain_is_read_from_the_right_up_to_the_first_stranger(self):
        cases = [
            # the client, then another trusted proxy
            ("6.6.6.7, 127.0.0.65", "6.6.6.7", "/chain-1"),
            # the client forged an entry before the real one: ignored
            ("6.6.6.8, 7.7.7.7", "7.7.7.7", "/chain-2"),
            # two headers are one list: neither the first nor the last
            # alone gives these
            (("6.6.6.9", "127.0.0.66"), "6.6.6.9", "/chain-3"),
            (("127.0.0.67", "6.6.6.12"), "6.6.6.12", "/chain-5"),
            # garbage from a trusted hop: the hop itself is the client
            ("6.6.6.10, not-an-address", "127.0.0.1", "/chain-4"),
        ]
        for xff, want, path in cases:
            if isinstance(xff, tuple):
                conn = http.client.HTTPConnection(
                    "127.0.0.1", SUB_PORT, timeout=10)
                conn.putrequest("GET", BASE.rstrip("/") + path)
                for value in xff:
                    conn.putheader("X-Forwarded-For", value)
                conn.endheaders()
                conn.getresponse().read()
                conn.close()
            else:
                self.visit("127.0.0.1", path, {"X-Forwarded-For": xff})
            self.assertIn(f"access {want} GET {path} ",
                          self.access_line(path), xff)

    def test_nginx_proxy_passes_the_client_address(self):
        conn = http.client.HTTPConnection(
            "127.0.0.1", NGINX_PROXY_PORT, timeout=10,
            source_address=("127.0.0.5", 0))
        conn.request("GET", "/webmail/probe-nginx",
                     headers={"X-Forwarded-For": "6.6.6.11",
                              "X-Forwarded-Proto": "https"})
        r = conn.getresponse()
        r.read()
        conn.close()
        self.assertEqual(r.status, 404)
        # nginx appended the real peer; its own X-Forwarded-Proto (http)
        # replaced the client's
        line = self.access_line("/probe-nginx")
        self.assertIn("access 127.0.0.5 GET", line)
        self.assertIsNone(r.getheader("strict-transport-security"))


# ---- base_path, directly and through nginx ---------------------------------

FRONTS = {
    "direct": SUB_PORT,
    "nginx+fcgi": NGINX_FCGI_PORT,
    "nginx+proxy": NGINX_PROXY_PORT,
}
URL_RE = re.compile(rb'(?:href|action|src|formaction)="([^"]*)"')


class BasePath(unittest.TestCase):
    def assert_links_under_base(self, body, what):
        urls = URL_RE.findall(body)
        self.assertTrue(urls, what)
        for u in urls:
            if u.startswith(b"#"):
                continue  # within the page (the skip link)
            self.assertTrue(u.startswith(BASE.encode()),
                            f"{what}: {u!r} is not under {BASE}")

    def walk(self, name, port):
        """Visits the main pages; returns them, CSRF tokens blanked."""
        c = DeployClient(port, base=BASE)
        pages = {}
        r = c.get("/")
        self.assertEqual(r.status, 200, name)
        self.assertIn("Path=/webmail/;", cookie_line(r, "postern_login"))
        self.assert_links_under_base(r.plain, f"{name} login")
        pages["login"] = r.plain
        r = c.post("/login", {"user": alice()[0], "password": alice()[1]})
        self.assertEqual(r.status, 303, (name, r.body[:300]))
        self.assertEqual(r.header("location"), "/webmail/mailbox?f=INBOX")
        self.assertIn("Path=/webmail/;", cookie_line(r, "postern"))
        uid = first_uid(c)
        # the message first: it turns seen, and every walk shows it so
        for page, path in (("message", f"/message?f=INBOX&uid={uid}"),
                           ("mailbox", "/mailbox?f=INBOX"),
                           ("folders", "/folders"),
                           ("compose", "/compose"),
                           ("reply", f"/compose?f=INBOX&uid={uid}"
                                     f"&mode=reply"),
                           ("404", "/no-such-page")):
            r = c.get(path)
            self.assertIn(r.status, (200, 404), (name, page))
            self.assert_links_under_base(r.plain, f"{name} {page}")
            pages[page] = r.plain
        # the message frame links its own stylesheet under the base too
        frame = re.search(rb'<iframe[^>]*src="([^"]*)"',
                          pages["message"]).group(1).decode()
        self.assertTrue(frame.startswith("/webmail/body?"))
        r = c.get(frame[len("/webmail"):].replace("&amp;", "&"))
        self.assertEqual(r.status, 200, name)
        self.assertRegex(r.plain, rb'<link rel="stylesheet" href="/webmail/'
                                  rb'static/[0-9a-f]{16}/body.css">')
        # the static URL from the page works and is cached for good
        css = re.search(rb'href="(/webmail/static/[0-9a-f]{16}/postern.css)"',
                        pages["login"]).group(1).decode()
        r = c.get(css[len("/webmail"):])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("cache-control"),
                         "public, max-age=31536000, immutable")
        # actions redirect under the base
        r = c.post("/action", {"f": "INBOX", "op": "read",
                               "back": "mailbox?f=INBOX&page=1"})
        self.assertEqual(r.status, 303)
        self.assertEqual(r.header("location"),
                         "/webmail/mailbox?f=INBOX&page=1")
        # a request without a session goes to the login form under the base
        r = DeployClient(port, base=BASE).get("/folders")
        self.assertEqual((r.status, r.header("location")), (303, BASE))
        r = c.post("/logout", {})
        self.assertEqual((r.status, r.header("location")), (303, BASE))
        self.assertIn("Max-Age=0", cookie_line(r, "postern"))
        return {k: mask_free(v) for k, v in pages.items()}

    def test_the_same_pages_directly_and_through_nginx(self):
        seen = {name: self.walk(name, port) for name, port in FRONTS.items()}
        for page in seen["direct"]:
            bodies = {name: seen[name][page] for name in seen}
            for name, body in bodies.items():
                self.assertEqual(body.decode(), bodies["direct"].decode(),
                                 f"{page}: {name} differs from direct")

    def test_outside_the_base_is_404_and_the_bare_base_works(self):
        for name, port in FRONTS.items():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/mailbox?f=INBOX")
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.status, 404, name)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/webmail")
            r = conn.getresponse()
            body = r.read()
            conn.close()
            # postern answers the bare base itself; nginx adds the slash
            if r.status == 301:
                self.assertEqual(r.getheader("location").rsplit(
                    ":" + str(port), 1)[-1], "/webmail/", name)
            else:
                self.assertEqual(r.status, 200, name)
                self.assertIn(b'action="/webmail/login"', body)


# ---- compression, masked tokens, static caching ----------------------------

GZ_FRONTS = {"serve": SERVE_PORT, "nginx+fcgi": NGINX_PORT}


class Compression(unittest.TestCase):
    def test_gzip_round_trip_of_pages_and_json(self):
        for name, port in GZ_FRONTS.items():
            c = DeployClient(port)
            login(c)
            for path, is_json in (("/mailbox?f=INBOX", False),
                                  ("/folders", False),
                                  ("/mailbox?f=INBOX", True)):
                h = {"Accept-Encoding": "gzip"}
                if is_json:
                    h["Accept"] = "application/json"
                gz = c.request("GET", path, h)
                self.assertEqual(gz.header("content-encoding"), "gzip",
                                 (name, path))
                self.assertEqual(gz.header("vary"), "Accept-Encoding")
                self.assertLess(len(gz.body), len(gz.plain) / 2)
                plain = c.request("GET", path,
                                  {"Accept": "application/json"}
                                  if is_json else None)
                self.assertIsNone(plain.header("content-encoding"))
                self.assertEqual(plain.header("vary"), "Accept-Encoding")
                if is_json:
                    a, b = json.loads(gz.plain), json.loads(plain.body)
                    self.assertNotEqual(a["csrf"], b["csrf"])
                    a["csrf"] = b["csrf"] = ""
                    self.assertEqual(a, b, name)
                else:
                    self.assertEqual(mask_free(gz.plain),
                                     mask_free(plain.body), (name, path))

    def test_accept_encoding_is_honoured_exactly(self):
        for value, coded in (("gzip", True), ("deflate, gzip;q=0.5", True),
                             ("*", True), ("gzip;q=0", False),
                             ("gzip;q=0.000, *", False), ("br", False),
                             ("identity", False)):
            r = DeployClient(SERVE_PORT).request(
                "GET", "/", {"Accept-Encoding": value})
            self.assertEqual(r.header("content-encoding") == "gzip", coded,
                             value)

    def test_streamed_source_is_not_compressed(self):
        c = DeployClient(SERVE_PORT)
        login(c)
        uid = first_uid(c)
        r = c.request("GET", f"/source?f=INBOX&uid={uid}",
                      {"Accept-Encoding": "gzip"})
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("content-encoding"))
        self.assertIn(b"X-Postern-Seed:", r.body)

    def test_compress_no_is_honoured_in_fastcgi_mode(self):
        r = DeployClient(NGINX_FCGI_PORT, base=BASE).request(
            "GET", "/", {"Accept-Encoding": "gzip"})
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("content-encoding"))
        self.assertEqual(r.header("vary"), "Accept-Encoding")
        # the same through the proxy to postern serve, which compresses
        r = DeployClient(NGINX_PROXY_PORT, base=BASE).request(
            "GET", "/", {"Accept-Encoding": "gzip"})
        self.assertEqual(r.header("content-encoding"), "gzip")

    def test_static_files_gzip_with_their_own_etag_and_immutable_urls(self):
        want = served_static("postern.css")
        for name, port in GZ_FRONTS.items():
            c = DeployClient(port)
            page = c.get("/").body
            url = re.search(rb'href="(/static/([0-9a-f]{16})/postern.css)"',
                            page).group(1).decode()
            gz = c.request("GET", url, {"Accept-Encoding": "gzip"})
            self.assertEqual(gz.status, 200, name)
            self.assertEqual(gz.header("content-encoding"), "gzip")
            self.assertEqual(gz.plain, want)
            self.assertEqual(gz.header("cache-control"),
                             "public, max-age=31536000, immutable")
            plain = c.request("GET", url)
            self.assertEqual(plain.body, want)
            self.assertNotEqual(plain.header("etag"), gz.header("etag"))
            r = c.request("GET", url, {"Accept-Encoding": "gzip",
                                       "If-None-Match": gz.header("etag")})
            self.assertEqual((r.status, r.body), (304, b""), name)
            # an old version's URL gets today's file, cached briefly
            r = c.request("GET", "/static/0123456789abcdef/postern.css")
            self.assertEqual((r.status, r.body), (200, want))
            self.assertEqual(r.header("cache-control"),
                             "public, max-age=3600")


class MaskedCsrf(unittest.TestCase):
    def test_two_page_loads_show_different_tokens_that_both_validate(self):
        for name, port in GZ_FRONTS.items():
            c = DeployClient(port)
            login(c)
            tokens = []
            for _ in range(2):
                r = c.request("GET", "/folders", {"Accept-Encoding": "gzip"})
                tokens.append(re.search(MASKED_RE, r.plain).group(1)
                              .decode())
            self.assertNotEqual(tokens[0], tokens[1], name)
            for t in tokens:
                r = c.post("/action", {"f": "INBOX", "op": "read",
                                       "csrf": t}, json=True)
                self.assertEqual(r.status, 200, (name, r.body))
                self.assertEqual(json.loads(r.body)["ok"], True)
                # and as X-CSRF-Token
                r = c.request("POST", "/action", {
                    "Accept": "application/json", "X-CSRF-Token": t,
                    "Content-Type": "application/x-www-form-urlencoded"},
                    b"f=INBOX&op=read")
                self.assertEqual(r.status, 200, (name, r.body))
            # one character changed: refused
            bad = tokens[0][:-2] + ("A" if tokens[0][-2] != "A" else "B") + \
                tokens[0][-1]
            r = c.post("/action", {"f": "INBOX", "op": "read", "csrf": bad},
                       json=True)
            self.assertEqual(r.status, 403, name)

    def test_the_login_form_token_is_masked_too(self):
        c = DeployClient(SERVE_PORT)
        first = re.search(MASKED_RE, c.get("/").body).group(1).decode()
        second = re.search(MASKED_RE, c.get("/").body).group(1).decode()
        self.assertNotEqual(first, second)
        # the cookie holds the bare token; neither page shows it
        bare = c.cookies["postern_login"]
        self.assertEqual(len(bare), 43)
        for t in (first, second):
            other = DeployClient(SERVE_PORT)
            other.cookies = dict(c.cookies)
            r = other.post("/login", {"user": alice()[0],
                                      "password": alice()[1], "csrf": t})
            self.assertEqual(r.status, 303, r.body[:300])

    def test_json_login_returns_a_masked_token_that_works(self):
        c = DeployClient(SERVE_PORT)
        c.get("/")
        r = c.post("/login", {"user": alice()[0], "password": alice()[1]},
                   json=True)
        token = json.loads(r.body)["csrf"]
        self.assertEqual(len(token), 86)
        r = c.request("POST", "/action", {
            "Accept": "application/json", "X-CSRF-Token": token,
            "Content-Type": "application/x-www-form-urlencoded"},
            b"f=INBOX&op=read")
        self.assertEqual(r.status, 200, r.body)
