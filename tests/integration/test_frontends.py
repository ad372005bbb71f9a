"""test_frontends.py - the same pages from postern serve, from nginx in
front of postern fcgi, and from plain CGI; limits, bad input, config
errors, the access log, FastCGI connections kept open, and a clean
shutdown."""

import os
import re
import signal
import socket
import struct
import subprocess
import time
import unittest

from harness import (ENV, FCGI_PORT, NGINX_PORT, POSTERN, ROOT, SANITIZER_ENV,
                     SERVE_PORT, WORK, Process, raw_request, request,
                     served_static, wait_port)

FRONTS = {"serve": SERVE_PORT, "nginx+fcgi": NGINX_PORT}
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options",
                    "referrer-policy")


def run_cgi(method, uri, body=b"", extra=None):
    """Runs ./postern as a CGI program; returns (status, headers, body)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GATEWAY_INTERFACE": "CGI/1.1",
        "POSTERN_CONFIG": ENV.config,
        "REQUEST_METHOD": method,
        "REQUEST_URI": uri,
        "REMOTE_ADDR": "127.0.0.9",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(body)) if body else "",
    }
    env.update({k: os.environ[k] for k in SANITIZER_ENV if k in os.environ})
    env.update(extra or {})
    p = subprocess.run([POSTERN], input=body, env=env, capture_output=True,
                       timeout=20)
    assert p.returncode == 0, p.stderr
    head, _, rest = p.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        k, _, v = line.partition(": ")
        headers[k.lower()] = v
    status = int(headers["status"].split()[0])
    return status, headers, rest


def _fcgi_record(rtype, content=b""):
    pad = (8 - len(content) % 8) % 8
    return (struct.pack(">BBHHBx", 1, rtype, 1, len(content), pad) +
            content + b"\0" * pad)


def _fcgi_recv(sock, n):
    data = b""
    while len(data) < n:
        b = sock.recv(n - len(data))
        if not b:
            raise ConnectionError("FastCGI connection closed")
        data += b
    return data


def fcgi_request(sock, method, uri, body=b"", keep=True):
    """One request over a raw FastCGI connection, as a web server sends it
    (FCGI_KEEP_CONN when keep); returns (status, body) of the answer."""
    params = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": method,
              "REQUEST_URI": uri, "REMOTE_ADDR": "127.0.0.1",
              "SERVER_PROTOCOL": "HTTP/1.1"}
    if body:
        params["CONTENT_LENGTH"] = str(len(body))
        params["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
    pairs = b""
    for k, v in params.items():
        k, v = k.encode(), v.encode()
        pairs += bytes([len(k), len(v)]) + k + v
    msg = _fcgi_record(1, struct.pack(">HB5x", 1, 1 if keep else 0))
    msg += _fcgi_record(4, pairs) + _fcgi_record(4)
    for i in range(0, len(body), 65528):
        msg += _fcgi_record(5, body[i:i + 65528])
    msg += _fcgi_record(5)
    sock.sendall(msg)
    out = b""
    while True:
        _, rtype, _, clen, plen = struct.unpack(">BBHHBx",
                                                _fcgi_recv(sock, 8))
        content = _fcgi_recv(sock, clen + plen)[:clen]
        if rtype == 6:      # FCGI_STDOUT
            out += content
        elif rtype == 3:    # FCGI_END_REQUEST
            break
    head, _, rest = out.partition(b"\r\n\r\n")
    return int(head.split(b"\r\n")[0].split()[1]), rest


class SamePages(unittest.TestCase):
    def test_login_page_is_the_same_from_every_front_end(self):
        bodies = {}
        for name, port in FRONTS.items():
            r = request(port, "GET", "/")
            self.assertEqual(r.status, 200, name)
            self.assertEqual(r.header("content-type"),
                             "text/html; charset=utf-8", name)
            self.assertIn(b'<form method="post" action="/login">', r.body)
            self.assertIn(b'<option value="local-imaps">', r.body)
            bodies[name] = r.body
        status, _, cgi_body = run_cgi("GET", "/")
        self.assertEqual(status, 200)
        bodies["cgi"] = cgi_body
        # the login form's token is fresh for every visitor
        for k, v in bodies.items():
            self.assertRegex(v, rb'name="csrf" value="[A-Za-z0-9_-]{86}"')
            bodies[k] = re.sub(rb'name="csrf" value="[^"]*"', b"CSRF", v)
        self.assertEqual(len(set(bodies.values())), 1, bodies.keys())

    def test_static_file_is_the_same_from_every_front_end(self):
        want = served_static("postern.css")
        etags = set()
        for name, port in FRONTS.items():
            r = request(port, "GET", "/static/postern.css")
            self.assertEqual(r.status, 200, name)
            self.assertEqual(r.body, want, name)
            self.assertEqual(r.header("content-type"),
                             "text/css; charset=utf-8")
            etags.add(r.header("etag"))
            r = request(port, "GET", "/static/postern.css",
                        {"If-None-Match": r.header("etag")})
            self.assertEqual(r.status, 304, name)
            self.assertEqual(r.body, b"")
        self.assertEqual(len(etags), 1)
        status, headers, body = run_cgi("GET", "/static/postern.css")
        self.assertEqual((status, body), (200, want))
        self.assertEqual(headers["etag"], etags.pop())

    def test_every_response_has_the_security_headers(self):
        for name, port in FRONTS.items():
            for path in ("/", "/static/postern.css", "/nope", "/healthz"):
                r = request(port, "GET", path)
                for h in SECURITY_HEADERS:
                    self.assertIsNotNone(r.header(h), f"{name} {path} {h}")
                csp = r.header("content-security-policy")
                self.assertIn("frame-ancestors 'none'", csp)
                self.assertNotIn("unsafe-inline", csp)

    def test_unknown_path_is_a_404_page_or_json(self):
        for name, port in FRONTS.items():
            r = request(port, "GET", "/no/such/thing")
            self.assertEqual(r.status, 404, name)
            self.assertIn(b"404", r.body)
            self.assertIn(b"<html", r.body)
            r = request(port, "GET", "/no/such/thing",
                        {"Accept": "application/json"})
            self.assertEqual(r.status, 404, name)
            self.assertEqual(r.header("content-type"), "application/json")
            self.assertIn(b'"code":"not_found"', r.body)

    def test_json_login_view_from_every_front_end(self):
        for name, port in FRONTS.items():
            r = request(port, "GET", "/?format=json")
            self.assertEqual(r.status, 200, name)
            self.assertIn(b'"servers":[{"name":"local"', r.body)

    def test_healthz(self):
        for name, port in FRONTS.items():
            r = request(port, "GET", "/healthz")
            self.assertEqual((r.status, r.body), (200, b"ok\n"), name)


class FastCGIConnections(unittest.TestCase):
    """Connections the web server keeps open (FCGI_KEEP_CONN), as nginx
    does with keepalive in an upstream."""

    def connect(self):
        s = socket.create_connection(("127.0.0.1", FCGI_PORT), timeout=10)
        self.addCleanup(s.close)
        return s

    def test_idle_kept_connections_hold_no_worker(self):
        # more idle kept connections than the 4 threads of the test config
        kept = [self.connect() for _ in range(6)]
        for s in kept:
            self.assertEqual(fcgi_request(s, "GET", "/healthz"),
                             (200, b"ok\n"))
        # a new connection is still served, and so is each kept one again
        self.assertEqual(fcgi_request(self.connect(), "GET", "/healthz",
                                      keep=False), (200, b"ok\n"))
        for s in reversed(kept):
            self.assertEqual(fcgi_request(s, "GET", "/healthz"),
                             (200, b"ok\n"))

    def test_an_unread_body_does_not_reach_the_next_request(self):
        s = self.connect()
        body = b"user=a&password=" + b"p" * (70 * 1024)  # cap is 64k
        status, page = fcgi_request(s, "POST", "/login", body)
        self.assertEqual(status, 413)
        self.assertIn(b"too large", page)
        self.assertEqual(fcgi_request(s, "GET", "/healthz"), (200, b"ok\n"))

    def test_a_connection_not_kept_is_closed_after_its_answer(self):
        s = self.connect()
        self.assertEqual(fcgi_request(s, "GET", "/healthz", keep=False),
                         (200, b"ok\n"))
        self.assertEqual(s.recv(1), b"")


class BadInput(unittest.TestCase):
    def test_path_traversal_to_static_is_refused(self):
        for name, port in FRONTS.items():
            for path in ("/static/..%2fconf%2fpostern.conf",
                         "/static/%2e%2e/Makefile",
                         "/static/..%2F..%2Fetc%2Fpasswd"):
                line, out = raw_request(
                    port, f"GET {path} HTTP/1.1\r\nHost: x\r\n"
                          f"Connection: close\r\n\r\n".encode())
                self.assertRegex(line, r" 40[04] ", f"{name} {path}")
                self.assertNotIn(b"[postern]", out)
                self.assertNotIn(b"root:", out)

    def test_malformed_request_line_is_a_400(self):
        line, _ = raw_request(SERVE_PORT, b"THIS IS NOT HTTP\r\n\r\n")
        self.assertIn(" 400 ", line)
        # and the server still answers afterwards
        self.assertEqual(request(SERVE_PORT, "GET", "/healthz").status, 200)

    def test_bad_percent_escape_is_a_400(self):
        for name, port in FRONTS.items():
            r = request(port, "GET", "/?user=%zz")
            self.assertEqual(r.status, 400, name)
            self.assertIn(b"not valid", r.body)

    def test_oversized_headers_are_a_431(self):
        # max_header_bytes is 4k in the test config; nginx allows 8k a line
        big = "x" * 5000
        for name, port in FRONTS.items():
            r = request(port, "GET", "/", {"X-Big": big})
            self.assertEqual(r.status, 431, name)
            self.assertIn(b"<html", r.body)
        self.assertEqual(request(SERVE_PORT, "GET", "/healthz").status, 200)

    def test_oversized_body_is_a_413(self):
        body = b"user=a&password=" + b"p" * (70 * 1024)  # cap is 64k
        for name, port in FRONTS.items():
            r = request(port, "POST", "/login", {
                "Content-Type": "application/x-www-form-urlencoded"}, body)
            self.assertEqual(r.status, 413, name)
            self.assertIn(b"too large", r.body)

    def test_method_not_allowed_names_the_allowed_one(self):
        for name, port in FRONTS.items():
            r = request(port, "PUT", "/", body=b"")
            self.assertEqual(r.status, 405, name)
            self.assertEqual(r.header("allow"), "GET, HEAD")


class AccessLog(unittest.TestCase):
    def test_one_line_per_request_and_no_password(self):
        secret = "Sekr3t-Pa55word-Never-Logged"
        for port in FRONTS.values():
            request(port, "POST", "/login", {
                "Content-Type": "application/x-www-form-urlencoded"},
                f"user=alice&password={secret}".encode())
            request(port, "GET", f"/no-such-page?token={secret}")
        time.sleep(0.2)
        for proc in (ENV.serve, ENV.fcgi):
            out = proc.output()
            self.assertNotIn(secret, out)
            self.assertRegex(
                out, r"access 127\.0\.0\.1 POST /login \d{3} \d+ \d+ms")
            self.assertRegex(out, r"access 127\.0\.0\.1 GET /no-such-page "
                                  r"404 \d+ \d+ms")


class Config(unittest.TestCase):
    def run_postern(self, *args):
        return subprocess.run([POSTERN, *args], capture_output=True,
                              text=True, timeout=10, cwd=ROOT)

    def test_check_config_accepts_the_test_config(self):
        p = self.run_postern("check-config", "-c", ENV.config)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"ok \(\d+ servers\)")

    def test_bad_key_stops_start_up_with_exit_2_and_names_it(self):
        bad = os.path.join(WORK, "bad.conf")
        with open(bad, "w") as f:
            f.write("[postern]\nlisten = 127.0.0.1:1\nthreds = 4\n"
                    "[server a]\nhost = x\n")
        for cmd in ("check-config", "serve", "fcgi"):
            p = self.run_postern(cmd, "-c", bad)
            self.assertEqual(p.returncode, 2, cmd)
            self.assertIn(f"{bad}: [postern] threds: unknown key", p.stderr)

    def test_bad_value_and_missing_file_are_exit_2(self):
        bad = os.path.join(WORK, "bad2.conf")
        with open(bad, "w") as f:
            f.write("[server a]\nhost = x\ntls = maybe\n")
        p = self.run_postern("check-config", "-c", bad)
        self.assertEqual(p.returncode, 2)
        self.assertIn("[server a] tls: \"maybe\"", p.stderr)
        p = self.run_postern("serve", "-c", "/nonexistent.conf")
        self.assertEqual(p.returncode, 2)
        self.assertIn("/nonexistent.conf: cannot read", p.stderr)

    def test_usage_and_version(self):
        p = self.run_postern("--version")
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^postern \d+\.\d+")
        p = self.run_postern("--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("postern fcgi", p.stdout)
        p = self.run_postern("frobnicate")
        self.assertEqual(p.returncode, 64)
        self.assertIn("unknown command", p.stderr)

    def test_missing_templates_stop_start_up_naming_the_folder(self):
        conf = os.path.join(WORK, "nodata.conf")
        with open(conf, "w") as f:
            f.write(f"[postern]\ndata_dir = {WORK}/empty\n"
                    "[server a]\nhost = x\n")
        p = self.run_postern("check-config", "-c", conf)
        self.assertEqual(p.returncode, 2)
        self.assertIn("templates", p.stderr)


class Shutdown(unittest.TestCase):
    def start_serve(self, port):
        conf = os.path.join(WORK, f"shutdown-{port}.conf")
        with open(ENV.config) as f:
            text = f.read().replace(f"127.0.0.1:{SERVE_PORT}",
                                    f"127.0.0.1:{port}")
        with open(conf, "w") as f:
            f.write(text)
        p = Process(f"shutdown-{port}", [POSTERN, "serve", "-c", conf])
        wait_port(port)
        return p

    def test_sigterm_finishes_the_request_in_flight_then_exits_0(self):
        port = SERVE_PORT + 10
        p = self.start_serve(port)
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # not done yet
        time.sleep(0.3)
        p.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        # no new connections once the signal arrived
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        s.sendall(b"Connection: close\r\n\r\n")
        data = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:80])
        self.assertTrue(data.endswith(b"ok\n"))
        self.assertEqual(p.proc.wait(15), 0)
        p.stop()

    def test_fcgi_exits_0_on_sigterm(self):
        port = SERVE_PORT + 11
        p = Process("fcgi-shutdown", [POSTERN, "fcgi", "-c", ENV.config,
                                      "--socket", f"127.0.0.1:{port}"])
        wait_port(port)
        p.proc.send_signal(signal.SIGTERM)
        self.assertEqual(p.proc.wait(15), 0)
        p.stop()


class Install(unittest.TestCase):
    def test_make_install_gives_a_working_tree(self):
        import shutil
        import tempfile
        prefix = tempfile.mkdtemp(prefix="postern-install-")
        try:
            p = subprocess.run(["make", "-s", "install", f"PREFIX={prefix}"],
                               cwd=ROOT, capture_output=True, text=True,
                               timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr)
            for rel in ("bin/postern", "share/postern/templates/login.mustache",
                        "share/postern/static/postern.css",
                        "share/postern/nginx-postern.conf",
                        "share/postern/postern.service",
                        "etc/postern/postern.conf.example"):
                self.assertTrue(os.path.exists(os.path.join(prefix, rel)),
                                rel)
            # the installed binary finds the installed data from anywhere
            p = subprocess.run([os.path.join(prefix, "bin/postern"),
                                "check-config", "-c",
                                os.path.join(prefix,
                                             "etc/postern/postern.conf.example")],
                               cwd="/", capture_output=True, text=True,
                               timeout=10)
            self.assertEqual(p.returncode, 0, p.stderr)
        finally:
            shutil.rmtree(prefix, ignore_errors=True)
