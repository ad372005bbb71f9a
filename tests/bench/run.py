#!/usr/bin/python3
# tests/bench/run.py - `make bench`: postern (embedded, and FastCGI behind nginx) against
# the raw-IMAP floor on the same Dovecot, in one run; writes RESULTS.md. See README.md.
"""Starts tests/env's mail servers (alice's INBOX seeded with 10,000 messages
and a 20 MB attachment), postern serve, postern fcgi behind nginx, and runs
bench_http (the load generator) and bench_floor (the raw IMAP client) for
each measured request kind: median and p95 with one session, requests per
second with --concurrency sessions. Then memory: RSS of a fresh postern with
1,000 idle sessions whose IMAP connections were reaped, and RSS growth while
it streams the attachment.

--smoke: a seconds-long variant for `make check` (few requests, a small
seed); it prints TAP and asserts only that every request succeeded and that
the table was produced, nothing about time.

Ports: POSTERN_BENCH_BASE (default 13000) for the mail servers (BASE+143 ...
BASE+995); POSTERN_BENCH_PORT (default 18700): postern serve PORT, postern
fcgi PORT+1, nginx PORT+2, the memory run's postern PORT+3."""

import argparse
import datetime
import email
import email.policy
import imaplib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
POSTERN = os.path.join(ROOT, "postern")
BIN = os.path.join(ROOT, "build", "bench")
MAILENV = os.path.join(ROOT, "tests", "env", "mailenv.sh")
NGINX_SH = os.path.join(ROOT, "tests", "env", "nginx.sh")

BASE = int(os.environ.get("POSTERN_BENCH_BASE", "13000"))
PORT = int(os.environ.get("POSTERN_BENCH_PORT", "18700"))
SERVE_PORT, FCGI_PORT, NGINX_PORT, MEM_PORT = PORT, PORT + 1, PORT + 2, PORT + 3

MIB = 1024 * 1024
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def log(msg):
    print("# " + msg, flush=True)


def read_env(path):
    env = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            env[k] = (shlex.split(v) or [""])[0]
    return env


def wait_port(port, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on 127.0.0.1:%d after %.0f s" % (port, timeout))


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def metric(port, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise RuntimeError("no metric %s" % name)


def pin_tree(pid, cpus):
    """Moves pid, its threads and its descendants to cpus (children forked
    later inherit it)."""
    todo = [pid]
    while todo:
        p = todo.pop()
        for tid in os.listdir("/proc/%d/task" % p):
            os.sched_setaffinity(int(tid), cpus)
            try:
                with open("/proc/%d/task/%s/children" % (p, tid)) as f:
                    todo += [int(c) for c in f.read().split()]
            except OSError:
                pass


def read_pid(path):
    with open(path) as f:
        return int(f.read().split()[0])


def cmd_out(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def sections(raw):
    """IMAP section numbers of a message's leaf parts, with their types."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    out = []

    def walk(part, num):
        if part.is_multipart():
            for i, sub in enumerate(part.get_payload(), 1):
                walk(sub, "%s.%d" % (num, i) if num else str(i))
        else:
            out.append((num or "1", part.get_content_type(), part.get("Content-ID")))
    walk(msg, "")
    return out


class Bench:
    def __init__(self, a):
        self.a = a
        self.work = os.path.join(ROOT, "build", "bench-smoke" if a.smoke else "bench")
        self.procs = []
        self.nginx_dir = os.path.join(self.work, "nginx")
        self.mail_dir = os.path.join(self.work, "mail")
        self.results = {}      # (front, kind) -> dict
        self.failures = []     # (front, kind, what)
        self.notes = []
        # Dovecot on CPU 0, what talks to it (postern, nginx, the load
        # generators, the floor's client) on the others: see README.md
        n = os.cpu_count() or 1
        self.app_cpus = set(range(1, n)) if a.pin and n >= 2 else None

    def to_app_cpus(self):
        if self.app_cpus is not None:
            os.sched_setaffinity(0, self.app_cpus)

    def placement(self):
        if self.app_cpus is None:
            return "the scheduler's (--no-pin, or one CPU)"
        return ("Dovecot on CPU 0; postern, nginx, the load generator and the "
                "floor's client on CPU %s" % ",".join(map(str, sorted(self.app_cpus))))

    # ---- servers ----
    def start(self):
        os.makedirs(self.work, exist_ok=True)
        for p in (SERVE_PORT, FCGI_PORT, NGINX_PORT, MEM_PORT):
            if not port_free(p):
                raise RuntimeError("port %d is taken: set POSTERN_BENCH_PORT" % p)
        subprocess.run([MAILENV, "start", "--dir", self.mail_dir, "--base", str(BASE),
                        "--messages", str(self.a.messages),
                        "--big-attachment", str(self.a.attachment)],
                       check=True, cwd=ROOT, stdout=sys.stdout if not self.a.smoke else subprocess.DEVNULL)
        self.mail = read_env(os.path.join(self.mail_dir, "env.sh"))
        if self.app_cpus is not None:
            pin_tree(read_pid(os.path.join(self.mail_dir, "dovecot", "run", "master.pid")),
                     {0})
        self.imap_port = int(self.mail["IMAP_PORT"])
        self.user, self.password = self.mail["ALICE_USER"], self.mail["ALICE_PASS"]
        man = json.load(open(self.mail["SEED_MANIFEST"]))
        uid = {m["seed_id"]: m["uid"] for m in man
               if m["user"] == "alice" and m["folder"] == "INBOX"}
        self.msg_uid = uid["core-related-cid"]
        self.big_uid = uid["bench-big-attachment"]
        # viewed (untimed) before each measured view, so postern cannot
        # answer the view from the message it remembers reading last
        self.other_uid = next(u for u in sorted(uid.values(), reverse=True)
                              if u not in (self.msg_uid, self.big_uid))
        self.find_sections()
        self.write_config(os.path.join(self.work, "postern.conf"), SERVE_PORT, 300)
        self.write_config(os.path.join(self.work, "postern-mem.conf"), MEM_PORT,
                          self.a.mem_pool_idle)
        conf = os.path.join(self.work, "postern.conf")
        self.serve = self.spawn("serve", [POSTERN, "serve", "-c", conf])
        self.spawn("fcgi", [POSTERN, "fcgi", "-c", conf, "--socket",
                            "127.0.0.1:%d" % FCGI_PORT])
        wait_port(SERVE_PORT)
        wait_port(FCGI_PORT)
        subprocess.run([NGINX_SH, "start", "--dir", self.nginx_dir, "--port",
                        str(NGINX_PORT), "--fcgi", "127.0.0.1:%d" % FCGI_PORT],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        wait_port(NGINX_PORT)
        if self.app_cpus is not None:
            pin_tree(read_pid(os.path.join(self.nginx_dir, "nginx.pid")), self.app_cpus)

    def find_sections(self):
        """Which parts the HTML message shows (the HTML alternative, the
        inline images) and which part of the big message is the file."""
        m = imaplib.IMAP4("127.0.0.1", self.imap_port)
        try:
            m.login(self.user, self.password)
            m.select("INBOX", readonly=True)
            _, d = m.uid("FETCH", str(self.msg_uid), "(BODY.PEEK[])")
            parts = sections(d[0][1])
            html = [s for s, t, _ in parts if t == "text/html"]
            imgs = [s for s, t, cid in parts if t.startswith("image/") and cid]
            self.msg_sections = html[:1] + imgs
            _, d = m.uid("FETCH", str(self.big_uid), "(BODY.PEEK[])")
            parts = sections(d[0][1])
            self.big_section = [s for s, t, _ in parts
                                if t == "application/octet-stream"][0]
        finally:
            m.logout()
        if len(self.msg_sections) < 2:
            raise RuntimeError("the HTML message has no inline image: %r" % parts)

    def write_config(self, path, port, pool_idle):
        with open(path, "w") as f:
            f.write("""# written by tests/bench/run.py
[postern]
listen = 127.0.0.1:%d
data_dir = %s
threads = 8
max_connections = 2000
pool_idle = %d
log_level = info
access_log = true

[server local]
protocol = imap
host = 127.0.0.1
port = %d
tls = none
smtp_host = 127.0.0.1
smtp_port = %s
smtp_tls = none
""" % (port, ROOT, pool_idle, self.imap_port, self.mail["SUBMISSION_PORT"]))

    def spawn(self, name, argv):
        logf = open(os.path.join(self.work, name + ".log"), "wb")
        p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, cwd=ROOT,
                             start_new_session=True, preexec_fn=self.to_app_cpus)
        p.logf = logf
        self.procs.append(p)
        return p

    def stop_proc(self, p):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        p.logf.close()

    def stop(self):
        steps = [lambda: subprocess.run([NGINX_SH, "stop", "--dir", self.nginx_dir],
                                        cwd=ROOT, stdout=subprocess.DEVNULL)]
        steps += [lambda p=p: self.stop_proc(p) for p in self.procs]
        steps.append(lambda: subprocess.run([MAILENV, "stop", "--dir", self.mail_dir],
                                            cwd=ROOT, stdout=subprocess.DEVNULL))
        for s in steps:
            try:
                s()
            except Exception as e:  # go on stopping the rest
                log("stopping: %s" % e)

    # ---- measuring ----
    def tool(self, front, kind, argv):
        """Runs one bench tool; returns {name: result dict} and records
        failures (a failed request, a failed setup step, a crash)."""
        p = subprocess.run(argv, capture_output=True, text=True, timeout=3600,
                           preexec_fn=self.to_app_cpus)
        out = {}
        for line in p.stdout.splitlines():
            f = line.split()
            if f and f[0] == "result":
                out[f[1]] = {k: float(v) for k, v in (x.split("=") for x in f[2:])}
            elif f and f[0] == "setup_failures" and int(f[1]) > 0:
                self.failures.append((front, kind, "%s setup steps failed" % f[1]))
            elif f and f[0] in ("images", "literal_bytes"):
                out[f[0]] = int(f[1])
        if p.returncode != 0 or not any(isinstance(v, dict) for v in out.values()):
            self.failures.append((front, kind, "exit %d: %s" % (p.returncode,
                                                                  p.stderr.strip()[-300:])))
        for name, r in out.items():
            if isinstance(r, dict) and r["fail"] > 0:
                self.failures.append((front, name, "%d requests failed" % r["fail"]))
        return out

    def http(self, port, op, n, conc, **kw):
        argv = [os.path.join(BIN, "bench_http"), "--port", str(port), "--user", self.user,
                "--pass", self.password, "--op", op, "--n", str(n),
                "--concurrency", str(conc)]
        for k, v in kw.items():
            argv += ["--" + k.replace("_", "-"), str(v)]
        return argv

    def floor(self, op, n, conc, **kw):
        argv = [os.path.join(BIN, "bench_floor"), "--port", str(self.imap_port),
                "--user", self.user, "--pass", self.password, "--op", op,
                "--n", str(n), "--concurrency", str(conc)]
        for k, v in kw.items():
            argv += ["--" + k, str(v)]
        return argv

    def record(self, front, out, mode):
        for name, r in out.items():
            if isinstance(r, dict):
                self.results.setdefault((front, name), {})[mode] = r

    def measure(self):
        a = self.a
        fronts = [("embedded", SERVE_PORT), ("nginx", NGINX_PORT)]
        msg = {"uid": self.msg_uid, "other_uid": self.other_uid}
        big = {"uid": self.big_uid, "part": self.big_section,
               "expect_bytes": self.a.attachment}
        kinds = [
            # (label, floor op + args, http op + args, n)
            ("login", ("login", {}), ("login", {}), a.n),
            ("first", ("first", {"page": 1}), ("first", {"page": 1}), a.n),
            # context: the same commands on a connection that has just
            # logged in, as postern's first page after a login meets it
            ("first-fresh", ("first-fresh", {"page": 1}), None, a.n),
            ("page100", ("first", {"page": 100}), ("first", {"page": 100}), a.n),
            ("cached", None, ("cached", {"page": 1}), a.n_cached),
            ("message", ("message", {"uid": self.msg_uid,
                                     "sections": ",".join(self.msg_sections)}),
             ("message", msg), a.n),
            ("download", ("download", {"uid": self.big_uid,
                                       "sections": self.big_section}),
             ("download", big), a.n_download),
        ]
        # warm-up: Dovecot's sort and cache indexes, postern's templates
        for front, port in fronts:
            for op, kw in (("first", {"page": 1}), ("first", {"page": 100}),
                           ("message", msg)):
                self.tool(front, "warm-up", self.http(port, op, 2, 1, **kw))
        for label, fl, ht, n in kinds:
            log("measuring %s" % label)
            if fl is not None:
                op, kw = fl
                self.record("floor", self.tool("floor", label, self.floor(op, n, 1, **kw)),
                            "lat")
                self.record("floor", self.tool("floor", label,
                                               self.floor(op, n, a.concurrency, **kw)),
                            "conc")
            for front, port in fronts if ht is not None else ():
                op, kw = ht
                self.record(front, self.tool(front, label, self.http(port, op, n, 1, **kw)),
                            "lat")
                self.record(front, self.tool(front, label,
                                             self.http(port, op, n, a.concurrency, **kw)),
                            "conc")

    def measure_memory(self):
        """A fresh postern: RSS growth while it streams the attachment, then
        RSS with --sessions idle sessions whose connections were reaped."""
        a = self.a
        p = self.spawn("serve-mem", [POSTERN, "serve", "-c",
                                     os.path.join(self.work, "postern-mem.conf")])
        wait_port(MEM_PORT)
        pid = p.pid
        mem = {"start_kb": rss_kb(pid)}
        # one session, one small page: the thread and the pool exist
        self.tool("memory", "warm-up", self.http(MEM_PORT, "first", 1, 1, page=1))
        base = rss_kb(pid)
        peak = [base]
        done = threading.Event()

        def sample():
            while not done.is_set():
                try:
                    peak[0] = max(peak[0], rss_kb(pid))
                except (OSError, RuntimeError):
                    return
                time.sleep(0.002)
        t = threading.Thread(target=sample)
        t.start()
        out = self.tool("memory", "download", self.http(
            MEM_PORT, "download", a.mem_downloads, 1, uid=self.big_uid,
            part=self.big_section, expect_bytes=a.attachment))
        done.set()
        t.join()
        mem["download_base_kb"] = base
        mem["download_peak_kb"] = peak[0]
        mem["downloads"] = int(out.get("download", {}).get("n", 0))
        # idle sessions
        before = rss_kb(pid)
        out = self.tool("memory", "sessions", self.http(
            MEM_PORT, "sessions", a.sessions, a.concurrency))
        mem["sessions_login"] = out.get("sessions")
        deadline = time.monotonic() + a.mem_pool_idle + 30
        while metric(MEM_PORT, "postern_pool_connections") > 0:
            if time.monotonic() > deadline:
                self.failures.append(("memory", "sessions", "connections not reaped"))
                break
            time.sleep(0.2)
        time.sleep(1.0)
        mem["sessions"] = int(metric(MEM_PORT, "postern_sessions"))
        mem["connections"] = int(metric(MEM_PORT, "postern_pool_connections"))
        mem["sessions_before_kb"] = before
        mem["sessions_kb"] = rss_kb(pid)
        if mem["sessions"] < a.sessions:
            self.failures.append(("memory", "sessions", "only %d sessions live"
                                  % mem["sessions"]))
        self.mem = mem
        self.stop_proc(p)
        self.procs.remove(p)

    # ---- reporting ----
    def table(self):
        R = self.results
        lines = []

        def get(front, name, mode, key):
            return R.get((front, name), {}).get(mode, {}).get(key)

        def ms(us):
            return "—" if us is None else "%.2f" % (us / 1000.0)

        def rps(v):
            return "—" if v is None else "%.0f" % v

        def ratio(x, y):
            return "—" if x is None or not y else "%.2f×" % (x / y)

        rows = [
            ("login", "login", "login", "≤ —", None),
            ("mailbox page 1, first time", "mailbox_first", "mailbox_first", "≤ 1.5×", 1.5),
            ("mailbox page 1, unchanged", "mailbox_unchanged", "mailbox_first",
             "≤ 0.5× floor first", 0.5),
            ("mailbox page 1, first time, against a floor that has just "
             "logged in", "mailbox_first", "mailbox_first_fresh", "(context)",
             None),
            ("mailbox page 100", "mailbox_page", "mailbox_page", "—", None),
            ("message view (HTML, %d inline images)" % (len(self.msg_sections) - 1),
             "message", "message", "≤ 1.5×", 1.5),
            ("%d MB attachment download" % (self.a.attachment // MIB), "download",
             "download", "≥ 0.90× throughput", None),
        ]
        lines.append("| request | floor median / p95 ms | floor req/s ×%d | "
                     "embedded median / p95 ms | embedded req/s ×%d | embedded/floor | "
                     "nginx+fcgi median / p95 ms | nginx req/s ×%d | nginx/floor | target |"
                     % ((self.a.concurrency,) * 3))
        lines.append("|---|---|---|---|---|---|---|---|---|---|")
        verdicts = []
        for label, name, floor_name, target, limit in rows:
            fm = get("floor", floor_name, "lat", "median_us")
            cells = ["%s / %s" % (ms(fm), ms(get("floor", floor_name, "lat", "p95_us")))
                     if name != "mailbox_unchanged" else "(first: %s)" % ms(fm),
                     rps(get("floor", floor_name, "conc", "rps"))
                     if name != "mailbox_unchanged" else "—"]
            for front in ("embedded", "nginx"):
                m = get(front, name, "lat", "median_us")
                cells += ["%s / %s" % (ms(m), ms(get(front, name, "lat", "p95_us"))),
                          rps(get(front, name, "conc", "rps"))]
                if name == "download":
                    # throughput ratio: floor time / postern time
                    cells.append(ratio(fm, m) + " thr.")
                    if front == "embedded" and m and fm:
                        verdicts.append(("%d MB download ≥ 90%% of the floor's "
                                         "throughput" % (self.a.attachment // MIB),
                                         fm / m >= 0.9, "%.0f%%" % (100 * fm / m)))
                else:
                    cells.append(ratio(m, fm))
                    if front == "embedded" and limit is not None and m and fm:
                        verdicts.append(("%s %s" % (label, target), m / fm <= limit,
                                         "%.2f×" % (m / fm)))
            lines.append("| %s | %s | %s |" % (label, " | ".join(cells), target))
        c_emb = get("embedded", "mailbox_cached", "conc", "rps")
        c_ngx = get("nginx", "mailbox_cached", "conc", "rps")
        lines.append("| mailbox page 1, cached (same session again) | — | — | "
                     "%s / %s | %s | — | %s / %s | %s | — | ≥ 2000 req/s embedded |"
                     % (ms(get("embedded", "mailbox_cached", "lat", "median_us")),
                        ms(get("embedded", "mailbox_cached", "lat", "p95_us")),
                        rps(c_emb),
                        ms(get("nginx", "mailbox_cached", "lat", "median_us")),
                        ms(get("nginx", "mailbox_cached", "lat", "p95_us")), rps(c_ngx)))
        if c_emb is not None:
            verdicts.append(("≥ 2,000 cached mailbox pages/s (embedded, %d sessions)"
                             % self.a.concurrency, c_emb >= 2000, "%.0f/s" % c_emb))
        dl = get("floor", "download", "lat", "median_us")
        for front in ("floor", "embedded", "nginx"):
            m = get(front, "download", "lat", "median_us")
            if m:
                self.notes.append("%s download throughput: %.0f MB/s (median)"
                                  % (front, self.a.attachment / MIB / (m / 1e6)))
        del dl
        mem = getattr(self, "mem", None)
        mlines = []
        if mem:
            growth = (mem["download_peak_kb"] - mem["download_base_kb"]) / 1024
            idle = mem["sessions_kb"] / 1024
            mlines.append("| RSS at start | %.1f MB |" % (mem["start_kb"] / 1024))
            mlines.append("| RSS growth while streaming the %d MB attachment (%d downloads, "
                          "sampled every 2 ms) | %.1f MB (%.1f → %.1f MB) |"
                          % (self.a.attachment // MIB, mem["downloads"], growth,
                             mem["download_base_kb"] / 1024, mem["download_peak_kb"] / 1024))
            mlines.append("| RSS with %d idle sessions, %d IMAP connections left | "
                          "%.1f MB (%.1f MB before they logged in) |"
                          % (mem["sessions"], mem["connections"], idle,
                             mem["sessions_before_kb"] / 1024))
            verdicts.append(("RSS growth while streaming ≤ 4 MB", growth <= 4,
                             "%.1f MB" % growth))
            verdicts.append(("%d idle sessions ≤ 100 MB RSS" % mem["sessions"], idle <= 100,
                             "%.1f MB" % idle))
        return lines, mlines, verdicts

    def report(self, load_before, load_after, started):
        lines, mlines, verdicts = self.table()
        cpu = "unknown"
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mhd = cmd_out(["pkg-config", "--modversion", "libmicrohttpd"])
        out = [BEGIN,
               "## Run of %s%s" % (started.strftime("%Y-%m-%d %H:%M UTC"),
                                  " (smoke: not a measurement)" if self.a.smoke else ""),
               "",
               "- machine: %d CPUs (`nproc`), %s" % (os.cpu_count(), cpu),
               "- placement: %s" % self.placement(),
               "- load average (1/5/15 min): %s before, %s after" % (load_before, load_after),
               "- versions: %s, Dovecot %s, %s, libmicrohttpd %s" % (
                   cmd_out([POSTERN, "--version"]), cmd_out(["dovecot", "--version"]),
                   cmd_out(["nginx", "-v"]).replace("nginx version: ", ""), mhd),
               "- seed: %d messages in INBOX, attachment %d bytes; %d requests per "
               "latency figure (%d cached, %d downloads), %d concurrent sessions for req/s"
               % (self.a.messages, self.a.attachment, self.a.n, self.a.n_cached,
                  self.a.n_download, self.a.concurrency),
               "",
               ] + lines + ["", "Throughput of the download (median): " +
                            "; ".join(self.notes) + ".", "", "Memory (fresh `postern serve`, "
                            "pool_idle = %d s):" % self.a.mem_pool_idle, "",
                            "| what | RSS |", "|---|---|"] + mlines + [
               "", "Targets (embedded server):", ""]
        for what, ok, val in verdicts:
            out.append("- %s: **%s** (%s)" % (what, "met" if ok else "missed", val))
        if self.failures:
            out += ["", "Failures:", ""] + ["- %s %s: %s" % f for f in self.failures]
        out.append(END)
        text = "\n".join(out) + "\n"
        print(text)
        path = self.a.out or os.path.join(self.work, "RESULTS.md")
        old = open(path).read() if os.path.exists(path) else ""
        if BEGIN in old and END in old:
            new = old[:old.index(BEGIN)] + text.rstrip("\n") + old[old.index(END) + len(END):]
        else:
            new = (old + "\n" if old else "# postern benchmark results\n\n") + text
        with open(path, "w") as f:
            f.write(new)
        log("table written to %s" % path)
        return path


def loadavg():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="seconds-long check (make check)")
    ap.add_argument("--n", type=int, default=200, help="requests per figure")
    ap.add_argument("--n-cached", type=int, default=2000,
                    help="requests for the cached page figures")
    ap.add_argument("--n-download", type=int, default=200, help="downloads per figure")
    ap.add_argument("--concurrency", type=int, default=8, help="sessions for req/s")
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--attachment", type=int, default=20 * MIB, help="bytes")
    ap.add_argument("--sessions", type=int, default=1000, help="idle sessions for RSS")
    ap.add_argument("--mem-downloads", type=int, default=5)
    ap.add_argument("--mem-pool-idle", type=int, default=2,
                    help="pool_idle of the memory run (s)")
    ap.add_argument("--no-pin", dest="pin", action="store_false",
                    help="leave CPU placement to the scheduler (see README.md)")
    ap.add_argument("--out", help="RESULTS.md to update (default: tests/bench/RESULTS.md, "
                    "or build/bench-smoke/RESULTS.md with --smoke)")
    a = ap.parse_args()
    if a.smoke:
        a.n, a.n_cached, a.n_download, a.concurrency = 4, 8, 2, 2
        a.messages, a.attachment, a.sessions, a.mem_downloads = 5000, 2 * MIB, 20, 2
    elif a.out is None:
        a.out = os.path.join(HERE, "RESULTS.md")
    for tool in ("bench_http", "bench_floor"):
        if not os.access(os.path.join(BIN, tool), os.X_OK):
            sys.exit("run.py: %s/%s is missing: run `make bench`" % (BIN, tool))
    b = Bench(a)
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = loadavg()
    tap = []
    try:
        b.start()
        tap.append((True, "environment starts"))
        b.measure()
        b.measure_memory()
    except Exception as e:
        tap.append((False, "run: %s" % e))
        b.failures.append(("run", "-", str(e)))
    finally:
        b.stop()
    path = b.report(load_before, loadavg(), started)
    ok_table = os.path.exists(path) and "| message view" in open(path).read()
    tap.append((not b.failures, "every measured request succeeded (%d failures)"
                % len(b.failures)))
    tap.append((ok_table, "the table is produced in %s" % os.path.relpath(path, ROOT)))
    if a.smoke:
        for i, (ok, what) in enumerate(tap, 1):
            print("%s %d - bench smoke: %s" % ("ok" if ok else "not ok", i, what))
        for f in b.failures:
            print("#   %s %s: %s" % f)
    sys.exit(0 if all(ok for ok, _ in tap) else 1)


if __name__ == "__main__":
    main()
