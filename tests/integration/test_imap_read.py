"""test_imap_read.py - the IMAP read path against the real Dovecot: login,
sessions and the pool, folders, message lists with paging, sorting and
search, the folder cache, and the failures a user can meet."""

import os
import signal
import subprocess
import threading
import time
import unittest
import urllib.parse

from harness import (ENV, NGINX_PORT, POSTERN, SERVE_PORT, WORK, Client,
                     Process, metrics, wait_port)


def alice():
    return ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"]


def inbox_count():
    return int(ENV.mail.get("SEED_INBOX_COUNT", "200"))


def logged_in(port=SERVE_PORT, server=None):
    c = Client(port)
    r = c.login(*alice(), server=server)
    assert r.status == 303, (r.status, r.body[:300])
    return c


class Login(unittest.TestCase):
    def test_good_password_logs_in_and_sets_a_strict_cookie(self):
        c = Client()
        r = c.login(*alice())
        self.assertEqual(r.status, 303)
        self.assertTrue(r.header("location").endswith("/mailbox?f=INBOX"))
        cookie = [s for s in r.set_cookies if s.startswith("postern=")][0]
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Strict", cookie)
        self.assertIn("Path=/", cookie)
        value = cookie.split(";")[0].split("=", 1)[1]
        self.assertEqual(len(value), 86)  # 32 bytes of id + 32 of key
        r = c.get("/")
        self.assertEqual(r.status, 303)  # a live session skips the form

    def test_bad_password_shows_only_login_failed(self):
        c = Client()
        r = c.login(ENV.mail["ALICE_USER"], "wrong-password")
        self.assertEqual(r.status, 401)
        self.assertIn(b"Login failed.", r.body)
        self.assertIn(b'<form method="post"', r.body)
        self.assertNotIn("postern", c.cookies)
        r = c.login("nosuchuser", "x")
        self.assertIn(b"Login failed.", r.body)

    def test_json_login_answers_ok_and_a_csrf_token(self):
        c = Client()
        c.get("/")
        r = c.post("/login", {"user": alice()[0], "password": alice()[1]},
                   json=True)
        self.assertEqual(r.status, 200, r.body)
        import json
        body = json.loads(r.body)
        self.assertTrue(body["ok"])
        self.assertEqual(len(body["csrf"]), 86)  # masked (BREACH)
        status, folders = c.json("/folders")
        self.assertEqual(status, 200)

    def test_unknown_server_is_refused_on_the_form(self):
        c = Client()
        r = c.login(*alice(), server="nowhere")
        self.assertEqual(r.status, 400)
        self.assertIn(b"Unknown mail server", r.body)

    def test_implicit_tls_server_works_too(self):
        c = logged_in(server="local-imaps")
        status, body = c.json("/mailbox?f=INBOX")
        self.assertEqual(status, 200)
        self.assertEqual(body["total"], inbox_count())

    def test_untrusted_certificate_is_refused_with_a_clear_message(self):
        c = Client()
        r = c.login(*alice(), server="untrusted")
        self.assertEqual(r.status, 502)
        self.assertIn(b"could not be reached", r.body)
        self.assertRegex(ENV.serve.output(), r"certificate verify failed")

    def test_login_without_the_form_token_is_403(self):
        c = Client()
        c.get("/")
        r = c.post("/login", {"user": alice()[0], "password": alice()[1]},
                   csrf=False)
        self.assertEqual(r.status, 403)

    def test_mail_server_down_is_a_502_with_retry_in_time(self):
        c = Client()
        t0 = time.monotonic()
        r = c.login(*alice(), server="down")
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(r.status, 502)
        self.assertIn(b"could not be reached", r.body)


class Sessions(unittest.TestCase):
    def test_logout_kills_the_old_cookie(self):
        c = logged_in()
        self.assertEqual(c.get("/folders").status, 200)  # has the token
        old = dict(c.cookies)
        r = c.post("/logout", {})
        self.assertEqual(r.status, 303)
        self.assertNotIn("postern", c.cookies)
        thief = Client()
        thief.cookies = old
        r = thief.get("/folders")
        self.assertEqual(r.status, 303)  # back to the login form
        status, body = thief.json("/folders")
        self.assertEqual(status, 401)

    def test_post_without_csrf_is_403(self):
        c = logged_in()
        login_token = c.csrf
        self.assertEqual(c.get("/folders").status, 200)
        r = c.post("/logout", {}, csrf=False)
        self.assertEqual(r.status, 403)
        # the login form's token is not the session's
        r = c.post("/logout", {"csrf": login_token})
        self.assertEqual(r.status, 403)
        r = c.post("/logout", {"csrf": "x" * 43})
        self.assertEqual(r.status, 403)
        self.assertEqual(c.get("/folders").status, 200)  # still logged in

    def test_killed_imap_connection_is_reopened_transparently(self):
        c = logged_in()
        self.assertEqual(c.get("/mailbox?f=INBOX").status, 200)
        # kill alice's server-side imap processes (Dovecot runs one per
        # connection, named after the user)
        out = subprocess.run(["pgrep", "-f", "imap.*alice"],
                             capture_output=True, text=True).stdout.split()
        self.assertTrue(out, "no imap process of alice found")
        for pid in out:
            os.kill(int(pid), signal.SIGKILL)
        time.sleep(0.3)
        r = c.get("/mailbox?f=INBOX")
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual(c.get("/folders").status, 200)

    def test_expired_session_goes_back_to_login(self):
        port = SERVE_PORT + 20
        conf = os.path.join(WORK, "short-session.conf")
        with open(ENV.config) as f:
            text = f.read()
        text = text.replace(f"127.0.0.1:{SERVE_PORT}", f"127.0.0.1:{port}")
        text = text.replace("[postern]\n", "[postern]\nsession_idle = 2\n", 1)
        with open(conf, "w") as f:
            f.write(text)
        p = Process("short-session", [POSTERN, "serve", "-c", conf])
        try:
            wait_port(port)
            c = logged_in(port)
            self.assertEqual(c.get("/folders").status, 200)
            time.sleep(3.5)
            r = c.get("/folders")
            self.assertEqual(r.status, 303)
            self.assertEqual(urllib.parse.urlparse(
                r.header("location")).path, "/")
        finally:
            p.stop()

    def test_stalled_session_does_not_block_another(self):
        # the "stall" server accepts and never greets: a login there hangs
        # until io_timeout (4 s) while alice keeps browsing
        done = {}

        def stalled_login():
            c = Client()
            t0 = time.monotonic()
            r = c.login("someone", "pw", server="stall")
            done["status"] = r.status
            done["secs"] = time.monotonic() - t0

        c = logged_in()
        t = threading.Thread(target=stalled_login)
        t.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        for _ in range(5):
            self.assertEqual(c.get("/mailbox?f=INBOX").status, 200)
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assertNotIn("status", done)  # still stalled
        t.join(20)
        self.assertEqual(done["status"], 504)
        self.assertLess(done["secs"], 8)


class Folders(unittest.TestCase):
    def test_folder_list_has_roles_counts_and_the_non_ascii_folder(self):
        c = logged_in()
        status, body = c.json("/folders")
        self.assertEqual(status, 200)
        by_path = {f["path"]: f for f in body["folders"]}
        self.assertEqual(body["folders"][0]["path"], "INBOX")
        self.assertEqual(by_path["INBOX"]["role"], "inbox")
        self.assertEqual(by_path["INBOX"]["total"], inbox_count())
        self.assertGreater(by_path["INBOX"]["unread"], 0)
        roles = {f["role"] for f in body["folders"]}
        self.assertTrue({"sent", "drafts", "trash", "archive"} <= roles,
                        roles)
        non_ascii = ENV.mail["SEED_FOLDER_NONASCII"]
        self.assertIn(non_ascii, by_path)
        self.assertTrue(by_path[non_ascii]["subscribed"])
        for f in body["folders"]:
            for key in ("name", "path", "role", "unread", "total",
                        "subscribed"):
                self.assertIn(key, f)

    def test_folders_page_links_every_folder(self):
        c = logged_in()
        r = c.get("/folders")
        self.assertEqual(r.status, 200)
        non_ascii = ENV.mail["SEED_FOLDER_NONASCII"]
        leaf = non_ascii.split(ENV.mail.get("IMAP_SEPARATOR") or "/")[-1]
        self.assertIn(f">{leaf}</a>".encode(), r.body)
        self.assertIn(b"mailbox?f=" + urllib.parse.quote(
            non_ascii, safe="").encode(), r.body)

    def test_non_ascii_folder_lists_its_messages(self):
        c = logged_in()
        non_ascii = ENV.mail["SEED_FOLDER_NONASCII"]
        status, body = c.json("/mailbox?f=" + urllib.parse.quote(non_ascii))
        self.assertEqual(status, 200)
        self.assertEqual(body["folder"], non_ascii)
        self.assertGreater(body["total"], 0)


class MessageList(unittest.TestCase):
    def test_every_page_of_the_inbox_once_newest_first(self):
        c = logged_in()
        status, first = c.json("/mailbox?f=INBOX")
        self.assertEqual(status, 200)
        total = inbox_count()
        self.assertEqual(first["total"], total)
        self.assertEqual(first["pages"], (total + 49) // 50)
        seen, dates = [], []
        for page in range(1, first["pages"] + 1):
            status, body = c.json(f"/mailbox?f=INBOX&page={page}")
            self.assertEqual(body["page"], page)
            self.assertLessEqual(len(body["messages"]), 50)
            for m in body["messages"]:
                for key in ("uid", "subject", "from", "date", "size", "seen",
                            "flagged", "answered", "has_attachments"):
                    self.assertIn(key, m)
                self.assertRegex(m["date"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:"
                                            r"\d\dZ$")
                seen.append(m["uid"])
                dates.append(m["date"])
        self.assertEqual(len(seen), total)
        self.assertEqual(len(set(seen)), total)
        self.assertEqual(dates, sorted(dates, reverse=True))

    def test_page_past_the_end_is_the_last_page(self):
        c = logged_in()
        status, body = c.json("/mailbox?f=INBOX&page=99999")
        self.assertEqual(status, 200)
        self.assertEqual(body["page"], body["pages"])
        self.assertGreater(len(body["messages"]), 0)

    def test_each_sort_orders_the_list(self):
        c = logged_in()
        checks = {
            "date-asc": lambda m: m["date"],
            "size-asc": lambda m: m["size"],
            "size-desc": lambda m: -m["size"],
            "from-asc": None, "from-desc": None,
            "subject-asc": None, "subject-desc": None,
        }
        default = c.json("/mailbox?f=INBOX")[1]["messages"]
        for sort, key in checks.items():
            status, body = c.json(f"/mailbox?f=INBOX&sort={sort}")
            self.assertEqual(status, 200, sort)
            self.assertEqual(body["sort"], sort)
            msgs = body["messages"]
            self.assertEqual(len(msgs), 50)
            if key is not None:
                self.assertEqual([key(m) for m in msgs],
                                 sorted(key(m) for m in msgs), sort)
            else:
                self.assertNotEqual([m["uid"] for m in msgs],
                                    [m["uid"] for m in default], sort)
        r = c.get("/mailbox?f=INBOX&sort=sideways")
        self.assertEqual(r.status, 400)

    def test_search_finds_by_subject_and_nothing_for_nonsense(self):
        c = logged_in()
        status, body = c.json("/mailbox?f=INBOX")
        subject = next(m["subject"] for m in body["messages"]
                       if len(m["subject"]) > 8)
        word = max(subject.split(), key=len)
        status, found = c.json("/mailbox?f=INBOX&q=" +
                               urllib.parse.quote(word))
        self.assertEqual(status, 200)
        self.assertGreater(found["total"], 0)
        self.assertLess(found["total"], inbox_count())
        self.assertTrue(any(word.lower() in m["subject"].lower()
                            for m in found["messages"]))
        status, none = c.json("/mailbox?f=INBOX&q=zqxjzqxj-nothing")
        self.assertEqual(none["total"], 0)
        self.assertEqual(none["messages"], [])

    def test_html_list_shows_marks_and_decoded_subjects(self):
        c = logged_in()
        r = c.get("/mailbox?f=INBOX")
        self.assertEqual(r.status, 200)
        self.assertIn(b'class="msg unread', r.body)
        self.assertIn(b"Page 1 of", r.body)
        self.assertNotIn(b"=?", r.body)  # no raw RFC 2047 words

    def test_unchanged_folder_is_listed_again_without_fetch(self):
        c = logged_in()
        self.assertEqual(c.get("/mailbox?f=INBOX&sort=size-asc").status, 200)
        before = metrics()
        self.assertEqual(c.get("/mailbox?f=INBOX&sort=size-asc").status, 200)
        after = metrics()
        key = 'postern_imap_commands_total{command="%s"}'
        self.assertEqual(after[key % "FETCH"], before[key % "FETCH"])
        self.assertEqual(after[key % "SORT"], before[key % "SORT"])
        # asked whether it changed: SELECT, or NOOP when the folder is
        # still selected and CONDSTORE tells changes apart
        self.assertGreater(after[key % "SELECT"] + after[key % "NOOP"],
                           before[key % "SELECT"] + before[key % "NOOP"])

    def test_bad_input_answers(self):
        c = logged_in()
        self.assertEqual(c.get("/mailbox?f=NoSuchFolder").status, 404)
        self.assertEqual(c.get("/mailbox?f=INBOX&page=abc").status, 400)
        self.assertEqual(c.get("/mailbox?f=INBOX&page=0").status, 400)
        self.assertEqual(c.get("/mailbox").status, 400)
        self.assertEqual(c.get("/mailbox?f=%0d%0aX").status, 400)

    def test_nginx_fcgi_front_end_keeps_the_session_too(self):
        c = logged_in(NGINX_PORT)
        status, body = c.json("/mailbox?f=INBOX&page=2")
        self.assertEqual(status, 200)
        self.assertEqual(body["page"], 2)
