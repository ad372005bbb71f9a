"""harness.py - starts what the integration tests talk to (the private mail
servers of tests/env, postern serve, postern fcgi behind a private nginx)
and stops all of it afterwards; small HTTP helpers for the tests."""

import http.client
import os
import shlex
import signal
import socket
import subprocess
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# POSTERN_IT_BIN: another build of postern (make check runs the suite again
# on build-asan/postern); POSTERN_IT_WORK: where its logs and configs go.
POSTERN = os.path.abspath(os.environ.get("POSTERN_IT_BIN") or
                          os.path.join(ROOT, "postern"))
# A sanitized build: ASan's shadow memory and quarantine make memory
# figures meaningless, so memory bounds are checked on the normal build.
SANITIZED = bool(os.environ.get("POSTERN_IT_BIN"))
# Sanitizer options reach every postern the tests start, CGI runs included.
SANITIZER_ENV = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")
# default: Dovecot as shipped; minimal: IMAP4rev1 only (every fallback);
# prefix: namespace "INBOX." with "." as separator. Each runs side by side.
FLAVOR = os.environ.get("POSTERN_IT_FLAVOR", "default")
_OFFSET = {"default": 0, "minimal": 1, "prefix": 2}[FLAVOR]
WORK = os.path.join(os.path.abspath(os.environ.get("POSTERN_IT_WORK") or
                                    os.path.join(ROOT, "build", "it")),
                    FLAVOR)
NGINX_SH = os.environ.get("POSTERN_NGINX_SH",
                          os.path.join(ROOT, "tests", "env", "nginx.sh"))

# Ports of the integration run; tests/env puts the mail servers at ENV_BASE+.
ENV_BASE = int(os.environ.get("POSTERN_IT_ENV_BASE", "20000")) + 1000 * _OFFSET
SERVE_PORT = int(os.environ.get("POSTERN_IT_PORT", "18080")) + 100 * _OFFSET
FCGI_PORT = SERVE_PORT + 1
NGINX_PORT = SERVE_PORT + 2
STALL_PORT = SERVE_PORT + 5   # accepts, never greets: a hung mail server
DOWN_PORT = SERVE_PORT + 6    # nothing listens: a mail server that is down
# the hardening suites: a hostile fake IMAP server, and postern instances
# of their own (their own config, throttle table and memory figures)
FAKE_IMAP_PORT = SERVE_PORT + 20
EXTRA_SERVE_PORT = SERVE_PORT + 30  # .. + 39


def served_static(name):
    """static/NAME as postern serves it: a stylesheet without its comments
    (a comment standing on its own line goes with the line) and without
    the line breaks after { } and ;."""
    import re
    with open(os.path.join(ROOT, "static", name), "rb") as f:
        data = f.read()
    if name.endswith(".css"):
        # one comment, never past its own end (our files have no comment
        # marks in strings or url(), nor one between two names)
        comment = rb"/\*[^*]*\*+(?:[^/*][^*]*\*+)*/"
        data = re.sub(rb"^" + comment + rb"\n|" + comment, b"", data,
                      flags=re.M)
        data = re.sub(rb"(?<=[{};])\n|^\n", b"", data)
    return data


def read_env_file(path):
    """KEY=value lines of tests/env's env.sh, quotes removed."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, value = line.split("=", 1)
            if key.startswith("export "):
                key = key[len("export "):]
            parts = shlex.split(value) if value else [""]
            env[key] = parts[0] if parts else ""
    return env


def wait_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def port_is_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def write_config(path, mail, extra_postern="", extra_servers="",
                 listen_port=SERVE_PORT):
    """A postern.conf pointing at the private Dovecot and Postfix."""
    text = f"""[postern]
listen = 127.0.0.1:{listen_port}
data_dir = {ROOT}
threads = 4
connect_timeout = 5
io_timeout = 4
client_timeout = 10
max_header_bytes = 4k
max_body_bytes = 64k
max_upload = 2M
pop3_idle = 2
log_level = info
{extra_postern}
[server local]
protocol = imap
host = localhost
port = {mail.get('IMAP_PORT', ENV_BASE + 143)}
tls = starttls
ca_file = {mail.get('CA_FILE', '/nonexistent')}
smtp_host = localhost
smtp_port = {mail.get('SUBMISSION_PORT', ENV_BASE + 587)}
smtp_tls = starttls
address_domain = postern.test

[server local-imaps]
protocol = imap
host = localhost
port = {mail.get('IMAPS_PORT', ENV_BASE + 993)}
tls = implicit
ca_file = {mail.get('CA_FILE', '/nonexistent')}

[server nosmtp]
protocol = imap
host = localhost
port = {mail.get('IMAP_PORT', ENV_BASE + 143)}
tls = starttls
ca_file = {mail.get('CA_FILE', '/nonexistent')}
smtp_host = 127.0.0.1
smtp_port = {DOWN_PORT}
smtp_tls = none
address_domain = postern.test

[server untrusted]
protocol = imap
host = localhost
port = {mail.get('IMAPS_PORT', ENV_BASE + 993)}
tls = implicit
ca_file = {mail.get('UNTRUSTED_CA_FILE', '/nonexistent')}

[server stall]
protocol = imap
host = 127.0.0.1
port = {STALL_PORT}
tls = none

[server down]
protocol = imap
host = 127.0.0.1
port = {DOWN_PORT}
tls = none

[server pop3-user]
protocol = pop3
host = localhost
port = {mail.get('POP3_PORT', ENV_BASE + 110)}
tls = starttls
ca_file = {mail.get('CA_FILE', '/nonexistent')}
pop3_auth = user
smtp_host = localhost
smtp_port = {mail.get('SUBMISSION_PORT', ENV_BASE + 587)}
address_domain = postern.test

[server pop3-apop]
protocol = pop3
host = localhost
port = {mail.get('POP3_PORT', ENV_BASE + 110)}
tls = starttls
ca_file = {mail.get('CA_FILE', '/nonexistent')}
pop3_auth = apop

[server pop3-plain]
protocol = pop3
host = localhost
port = {mail.get('POP3_PORT', ENV_BASE + 110)}
tls = starttls
ca_file = {mail.get('CA_FILE', '/nonexistent')}
pop3_auth = plain

[server pop3s]
protocol = pop3
host = localhost
port = {mail.get('POP3S_PORT', ENV_BASE + 995)}
tls = implicit
ca_file = {mail.get('CA_FILE', '/nonexistent')}
smtp_host = localhost
smtp_port = {mail.get('SUBMISSION_PORT', ENV_BASE + 587)}
address_domain = postern.test

[server pop3-down]
protocol = pop3
host = 127.0.0.1
port = {DOWN_PORT}
tls = none
{extra_servers}"""
    with open(path, "w") as f:
        f.write(text)


class Process:
    """A child process with its output in a log file."""

    def __init__(self, name, argv, env=None):
        self.name = name
        self.log_path = os.path.join(WORK, f"{name}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env,
                                     cwd=ROOT, start_new_session=True)

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Signals the process, waits; returns its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def output(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


class Environment:
    """Everything the suite runs against; one per run."""

    def __init__(self):
        self.mail = {}
        self.procs = []
        self.mail_dir = os.path.join(ROOT, "tests", "env", "run",
                                     f"it-{FLAVOR}")
        self.nginx_dir = os.path.join(WORK, "nginx")
        self.config = os.path.join(WORK, "postern.conf")
        self.serve = None
        self.fcgi = None
        self.stall = None
        self.max_upload = 2 * 1024 * 1024

    def start(self):
        os.makedirs(WORK, exist_ok=True)
        for port in (SERVE_PORT, FCGI_PORT, NGINX_PORT, STALL_PORT,
                     DOWN_PORT):
            if not port_is_free(port):
                raise RuntimeError(f"port {port} is taken: stop what holds it "
                                   f"or set POSTERN_IT_PORT")
        subprocess.run([os.path.join(ROOT, "tests/env/mailenv.sh"), "start",
                        "--dir", self.mail_dir, "--base", str(ENV_BASE),
                        "--flavor", FLAVOR],
                       check=True, cwd=ROOT)
        self.mail = read_env_file(os.path.join(self.mail_dir, "env.sh"))
        write_config(self.config, self.mail)
        # listens but never accepts: connects succeed, no greeting comes
        self.stall = socket.socket()
        self.stall.bind(("127.0.0.1", STALL_PORT))
        self.stall.listen(64)
        self.serve = self.spawn("serve", [POSTERN, "serve", "-c", self.config])
        self.fcgi = self.spawn("fcgi", [POSTERN, "fcgi", "-c", self.config,
                                        "--socket", f"127.0.0.1:{FCGI_PORT}"])
        wait_port(SERVE_PORT)
        wait_port(FCGI_PORT)
        subprocess.run([NGINX_SH, "start",
                        "--dir", self.nginx_dir, "--port", str(NGINX_PORT),
                        "--fcgi", f"127.0.0.1:{FCGI_PORT}"],
                       check=True, cwd=ROOT)
        wait_port(NGINX_PORT)

    def spawn(self, name, argv, env=None):
        p = Process(name, argv, env)
        self.procs.append(p)
        return p

    def spawn_serve(self, name, port, extra_postern="", extra_servers=""):
        """Another postern serve on port, with the test config plus the
        extra lines; stopped with the rest (or by the test, p.stop())."""
        conf = os.path.join(WORK, f"{name}-postern.conf")
        write_config(conf, self.mail, extra_postern, extra_servers,
                     listen_port=port)
        p = self.spawn(name, [POSTERN, "serve", "-c", conf])
        wait_port(port)
        return p

    def stop(self):
        """Stops everything that may run, each step whatever the others
        did: a failed start must not leave servers behind."""
        steps = [
            lambda: subprocess.run([NGINX_SH, "stop", "--dir",
                                    self.nginx_dir], cwd=ROOT),
            *[p.stop for p in self.procs],
            lambda: self.stall is not None and self.stall.close(),
            lambda: subprocess.run([os.path.join(ROOT, "tests/env/mailenv.sh"),
                                    "stop", "--dir", self.mail_dir], cwd=ROOT),
        ]
        for step in steps:
            try:
                step()
            except Exception as e:  # report, and go on stopping the rest
                print(f"# stopping: {e}")


ENV = Environment()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value (last wins)
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())


def request(port, method, path, headers=None, body=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        return Response(r.status, hdrs, data)
    finally:
        conn.close()


def raw_request(port, data, timeout=10):
    """Sends bytes as they are; returns the status line and the rest."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            chunks.append(b)
    out = b"".join(chunks)
    line = out.split(b"\r\n", 1)[0].decode("latin-1")
    return line, out


class Client:
    """A browser-like client: keeps cookies, finds the CSRF token in forms,
    follows nothing by itself so tests see every redirect."""

    CSRF_RE = None

    def __init__(self, port=SERVE_PORT, base="/"):
        import re
        self.port = port
        self.base = base
        self.cookies = {}
        self.csrf = None
        Client.CSRF_RE = re.compile(rb'name="csrf" value="([^"]*)"')

    def _headers(self, extra=None):
        h = dict(extra or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in
                                    self.cookies.items())
        return h

    def _remember(self, r):
        # http.client joins repeated headers; read them all
        for line in r.set_cookies:
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in line:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        m = Client.CSRF_RE.search(r.body or b"")
        if m and m.group(1):
            self.csrf = m.group(1).decode()

    def request(self, method, path, headers=None, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, self.base.rstrip("/") + path, body=body,
                         headers=self._headers(headers))
            raw = conn.getresponse()
            data = raw.read()
            hdrs = {k.lower(): v for k, v in raw.getheaders()}
            r = Response(raw.status, hdrs, data)
            r.set_cookies = [v for k, v in raw.getheaders()
                             if k.lower() == "set-cookie"]
        finally:
            conn.close()
        self._remember(r)
        return r

    def get(self, path, json=False):
        return self.request("GET", path,
                            {"Accept": "application/json"} if json else None)

    def post(self, path, fields, json=False, csrf=True):
        import urllib.parse
        fields = dict(fields)
        if csrf and "csrf" not in fields and self.csrf:
            fields["csrf"] = self.csrf
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        if json:
            h["Accept"] = "application/json"
        return self.request("POST", path, h,
                            urllib.parse.urlencode(fields).encode())

    def login(self, user, password, server=None):
        self.get("/")
        fields = {"user": user, "password": password}
        if server:
            fields["server"] = server
        return self.post("/login", fields)

    def json(self, path):
        import json as _json
        r = self.get(path, json=True)
        return r.status, _json.loads(r.body) if r.body else None


def metrics(port=SERVE_PORT):
    """The /metrics counters as a dict of line name -> value."""
    r = request(port, "GET", "/metrics")
    out = {}
    for line in r.body.decode().splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            out[k] = float(v)
    return out
