"""test_pop3.py - POP3 accounts against the real Dovecot POP3 (issue 6):
each login way, STLS and POP3S, the list, the message view through the same
code as IMAP (compared with the IMAP view of the very same message),
attachments and source byte for byte, delete committed (gone after a new
login), new mail after "refresh", and clear pages for errors."""

import email.message
import email.policy
import imaplib
import os
import smtplib
import ssl
import time
import unittest
import urllib.parse

from harness import ENV, EXTRA_SERVE_PORT, Client

POP3_SERVERS = ("pop3-user", "pop3-apop", "pop3-plain", "pop3s")


def pop3_client(server="pop3s", user=None, password=None):
    c = Client()
    r = c.login(user or ENV.mail["ALICE_USER"],
                password or ENV.mail["ALICE_PASS"], server=server)
    if r.status != 303:
        raise AssertionError(f"POP3 login on {server}: {r.status} {r.body!r}")
    c.get("/mailbox?f=INBOX")  # the session's CSRF token
    return c


def imap_client():
    c = Client()
    r = c.login(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"],
                server="local")
    assert r.status == 303, r.status
    return c


def q(s):
    return urllib.parse.quote(str(s), safe="")


def imap_uid_of(uidl):
    # Dovecot's default pop3_uidl_format %08Xu%08Xv: the IMAP UID in hex
    return int(uidl[:8], 16)


def deliver(to, subject):
    """Mail from outside, through the real Postfix and LMTP."""
    msg = (f"From: Carol <carol@example.net>\r\nTo: {to}\r\n"
           f"Subject: {subject}\r\nMessage-ID: <{subject}@example.net>\r\n"
           f"\r\nHello {subject}\r\n")
    with smtplib.SMTP("127.0.0.1", int(ENV.mail["SMTP_PORT"]),
                      timeout=10) as s:
        s.sendmail("carol@example.net", [to], msg)


def wait_for(pred, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def imap_count(user, password):
    m = imaplib.IMAP4("localhost", int(ENV.mail["IMAP_PORT"]))
    m.starttls(ssl.create_default_context(cafile=ENV.mail["CA_FILE"]))
    m.login(user, password)
    typ, data = m.select("INBOX", readonly=True)
    m.logout()
    return int(data[0])


def dovecot_log():
    with open(f"{ENV.mail_dir}/dovecot/dovecot.log", errors="replace") as f:
        return f.read()


class Logins(unittest.TestCase):
    def test_each_way_to_log_in_lists_the_whole_maildrop(self):
        want = imap_count(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
        methods = {"pop3-user": "method=PLAIN", "pop3-apop": "method=APOP",
                   "pop3-plain": "method=PLAIN", "pop3s": "method=PLAIN"}
        for server in POP3_SERVERS:
            before = len(dovecot_log())
            c = pop3_client(server)
            status, j = c.json("/mailbox?f=INBOX")
            self.assertEqual(status, 200, server)
            self.assertEqual(j["total"], want, server)
            self.assertEqual(len(j["messages"]), 50, server)
            new_log = dovecot_log()[before:]
            logins = [l for l in new_log.splitlines()
                      if "pop3-login: Info: Login: user=<alice>" in l]
            self.assertTrue(logins, server)
            self.assertIn(methods[server], logins[0], server)
            # STLS or implicit TLS: the password never went in clear
            self.assertIn("TLS", logins[0], server)
            c.post("/logout", {})

    def test_wrong_password_is_login_failed(self):
        c = Client()
        r = c.login(ENV.mail["ALICE_USER"], "wrong", server="pop3s")
        self.assertEqual(r.status, 401)
        self.assertIn(b"Login failed.", r.body)
        self.assertNotIn("postern", c.cookies)

    def test_server_down_is_a_clear_502(self):
        c = Client()
        r = c.login(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"],
                    server="pop3-down")
        self.assertEqual(r.status, 502)
        self.assertIn(b"<form", r.body)  # the login form again, explained


class ListAndView(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pop = pop3_client("pop3s")
        cls.imap = imap_client()
        status, cls.page = cls.pop.json("/mailbox?f=INBOX")
        assert status == 200

    def test_messages_are_named_by_uidl_newest_first(self):
        ids = [m["uid"] for m in self.page["messages"]]
        for i in ids:
            self.assertIsInstance(i, str)
            self.assertRegex(i, r"^[\x21-\x7e]{1,70}$")
        uids = [imap_uid_of(i) for i in ids]
        self.assertEqual(uids, sorted(uids, reverse=True))
        status, p2 = self.pop.json("/mailbox?f=INBOX&page=2")
        self.assertEqual(status, 200)
        self.assertLess(imap_uid_of(p2["messages"][0]["uid"]), uids[-1])
        status, asc = self.pop.json("/mailbox?f=INBOX&sort=date-asc")
        self.assertEqual(imap_uid_of(asc["messages"][0]["uid"]), 1)
        status, big = self.pop.json("/mailbox?f=INBOX&sort=size-desc")
        sizes = [m["size"] for m in big["messages"]]
        self.assertEqual(sizes, sorted(sizes, reverse=True))

    def test_summaries_match_the_imap_list(self):
        status, imap_page = self.imap.json("/mailbox?f=INBOX&page=1")
        by_uid = {m["uid"]: m for m in imap_page["messages"]}
        checked = 0
        for m in self.page["messages"]:
            im = by_uid.get(imap_uid_of(m["uid"]))
            if im is None:
                continue
            checked += 1
            for k in ("subject", "from", "has_attachments"):
                self.assertEqual(m[k], im[k], (k, m["uid"]))
        self.assertGreater(checked, 20)

    def test_message_view_is_the_imap_view(self):
        for m in self.page["messages"][:43]:
            uidl, uid = m["uid"], imap_uid_of(m["uid"])
            s1, pj = self.pop.json(f"/message?f=INBOX&uid={q(uidl)}")
            s2, ij = self.imap.json(f"/message?f=INBOX&uid={uid}")
            self.assertEqual((s1, s2), (200, 200), m["subject"])
            for k in ("subject", "from", "to", "cc", "date",
                      "remote_content_blocked"):
                self.assertEqual(pj.get(k), ij.get(k), (k, m["subject"]))
            self.assertEqual([(a["part"], a["filename"], a["type"])
                              for a in pj["attachments"]],
                             [(a["part"], a["filename"], a["type"])
                              for a in ij["attachments"]], m["subject"])
            html_p = pj["body"]["html"].replace(f"uid={q(uidl)}", "uid=X")
            html_i = ij["body"]["html"].replace(f"uid={uid}", "uid=X")
            self.assertEqual(html_p, html_i, m["subject"])

    def test_attachments_and_source_are_byte_identical(self):
        seen_attachment = False
        for m in self.page["messages"][:43]:
            if not m["has_attachments"]:
                continue
            uidl, uid = m["uid"], imap_uid_of(m["uid"])
            s, pj = self.pop.json(f"/message?f=INBOX&uid={q(uidl)}")
            for a in pj["attachments"]:
                rp = self.pop.get(f"/part?f=INBOX&uid={q(uidl)}"
                                  f"&part={a['part']}")
                ri = self.imap.get(f"/part?f=INBOX&uid={uid}"
                                   f"&part={a['part']}")
                self.assertEqual(rp.status, 200)
                self.assertEqual(rp.body, ri.body, (m["subject"], a))
                self.assertEqual(rp.header("content-disposition"),
                                 ri.header("content-disposition"))
                seen_attachment = True
            sp = self.pop.get(f"/source?f=INBOX&uid={q(uidl)}")
            si = self.imap.get(f"/source?f=INBOX&uid={uid}")
            self.assertEqual(sp.status, 200)
            self.assertEqual(sp.body, si.body, m["subject"])
        self.assertTrue(seen_attachment)

    def test_opened_messages_show_as_read_for_the_session(self):
        c = pop3_client("pop3s")
        status, j = c.json("/mailbox?f=INBOX")
        target = j["messages"][3]["uid"]
        self.assertFalse(j["messages"][3]["seen"])
        self.assertEqual(c.get(f"/message?f=INBOX&uid={q(target)}").status,
                         200)
        status, j = c.json("/mailbox?f=INBOX")
        seen = {m["uid"]: m["seen"] for m in j["messages"]}
        self.assertTrue(seen[target])
        self.assertEqual(sum(seen.values()), 1)

    def test_unknown_message_and_folder_are_404(self):
        self.assertEqual(self.pop.get("/message?f=INBOX&uid=nosuch").status,
                         404)
        self.assertEqual(self.pop.get("/mailbox?f=Sent").status, 404)


class PagesAdapt(unittest.TestCase):
    def test_no_action_that_cannot_work_is_offered(self):
        c = pop3_client("pop3s")
        html = c.get("/mailbox?f=INBOX").body
        for absent in (b'value="read"', b'value="flag"', b'value="move"',
                       b'role="search"', b'href="/folders"'):
            self.assertNotIn(absent, html)
        self.assertIn(b'value="delete"', html)
        self.assertIn(b"refresh=1", html)
        status, j = c.json("/mailbox?f=INBOX")
        self.assertEqual(j["caps"], {"folders": False, "flags": False,
                                     "move": False, "search": False,
                                     "snapshot": True})
        self.assertNotIn(b"formaction=\"/draft\"", c.get("/compose").body)
        # the message page the same way
        page = c.get(f"/message?f=INBOX&uid={q(j['messages'][0]['uid'])}")
        self.assertEqual(page.status, 200)
        for absent in (b'value="flag"', b'value="unread"', b'value="move"',
                       b'name="to"'):
            self.assertNotIn(absent, page.body)
        self.assertIn(b'value="delete"', page.body)
        imap = imap_client()
        self.assertIn(b'value="move"', imap.get("/mailbox?f=INBOX").body)

    def test_previous_next_follow_the_list_as_sorted(self):
        c = pop3_client("pop3s")

        def neighbours(uid):
            status, j = c.json(f"/message?f=INBOX&uid={q(uid)}")
            self.assertEqual(status, 200, j)
            return j.get("prev_uid"), j.get("next_uid")

        status, j = c.json("/mailbox?f=INBOX")
        order = [m["uid"] for m in j["messages"]]
        self.assertGreater(len(order), 2)
        self.assertEqual(neighbours(order[0]), (None, order[1]))
        self.assertEqual(neighbours(order[1]), (order[0], order[2]))
        if j["pages"] > 1:  # past the page's end: the list goes on
            status, p2 = c.json("/mailbox?f=INBOX&page=2")
            self.assertEqual(neighbours(order[-1])[1],
                             p2["messages"][0]["uid"])
        # sorted by size: the neighbours of that list
        status, j = c.json("/mailbox?f=INBOX&sort=size-asc")
        by_size = [m["uid"] for m in j["messages"]]
        self.assertEqual(neighbours(by_size[1]), (by_size[0], by_size[2]))
        page = c.get(f"/message?f=INBOX&uid={q(by_size[1])}")
        self.assertIn(f'id="next-msg" rel="next" href="/message?f=INBOX'
                      f'&amp;uid={q(by_size[2])}"'.encode(), page.body)

    def test_what_pop3_cannot_do_is_refused_with_400(self):
        c = pop3_client("pop3s")
        status, j = c.json("/mailbox?f=INBOX")
        uid = j["messages"][0]["uid"]
        for op, extra in (("read", {}), ("move", {"to": "Trash"})):
            r = c.post("/action", dict(f="INBOX", uid=uid, op=op, **extra))
            self.assertEqual(r.status, 400, op)
        r = c.get("/mailbox?f=INBOX&q=hello")
        self.assertEqual(r.status, 400)
        r = c.post("/folder", {"op": "create", "f": "New"})
        self.assertEqual(r.status, 400)


class Freshness(unittest.TestCase):
    def bob(self):
        return pop3_client("pop3s", ENV.mail["BOB_USER"],
                           ENV.mail["BOB_PASS"])

    def test_new_mail_appears_after_refresh_and_delete_is_for_good(self):
        bob = (ENV.mail["BOB_USER"], ENV.mail["BOB_PASS"])
        c = self.bob()
        status, before = c.json("/mailbox?f=INBOX")
        n = before["total"]
        subject = f"pop3-fresh-{int(time.time() * 1000)}"
        deliver(ENV.mail["BOB_EMAIL"], subject)
        wait_for(lambda: imap_count(*bob) == n + 1, "delivery to bob")
        status, j = c.json("/mailbox?f=INBOX")
        self.assertEqual(j["total"], n)  # the snapshot of this connection
        status, j = c.json("/mailbox?f=INBOX&refresh=1")
        self.assertEqual(j["total"], n + 1)
        new = [m for m in j["messages"] if m["subject"] == subject]
        self.assertEqual(len(new), 1)
        uid = new[0]["uid"]
        # deleting asks first (for good: POP3 has no Trash)
        r = c.post("/action", {"f": "INBOX", "uid": uid, "op": "delete"})
        self.assertEqual(r.status, 200)
        self.assertIn(b"for good", r.body)
        self.assertEqual(imap_count(*bob), n + 1)
        r = c.post("/action", {"f": "INBOX", "uid": uid, "op": "delete",
                               "confirm": "1"})
        self.assertEqual(r.status, 303)
        self.assertEqual(imap_count(*bob), n)  # committed at once
        fresh = self.bob()
        status, j = fresh.json("/mailbox?f=INBOX")
        self.assertEqual(j["total"], n)
        self.assertNotIn(subject, [m["subject"] for m in j["messages"]])
        self.assertEqual(fresh.get(f"/message?f=INBOX&uid={q(uid)}").status,
                         404)

    def test_one_outsized_header_does_not_cost_the_list(self):
        # a header block past postern's 256 KiB cap for one TOP: that
        # message is listed from the part kept, and so is every other one
        bob = (ENV.mail["BOB_USER"], ENV.mail["BOB_PASS"])
        subject = f"pop3-big-header-{int(time.time() * 1000)}"
        filler = "".join(f"X-Filler-{i}: {'y' * 70}\r\n" for i in range(4000))
        raw = (f"From: Dave <dave@example.net>\r\nSubject: {subject}\r\n"
               f"Date: Mon, 1 Jul 2030 11:00:00 +0000\r\n{filler}"
               f"\r\nbody\r\n").encode()
        self.assertGreater(len(raw), 300 * 1024)
        m = imaplib.IMAP4("localhost", int(ENV.mail["IMAP_PORT"]))
        m.starttls(ssl.create_default_context(cafile=ENV.mail["CA_FILE"]))
        m.login(*bob)
        try:
            m.append("INBOX", None, None, raw)
            c = self.bob()
            status, j = c.json("/mailbox?f=INBOX")
            self.assertEqual(status, 200, j)
            self.assertEqual(j["total"], imap_count(*bob))
            big = [x for x in j["messages"] if x["subject"] == subject]
            self.assertEqual(len(big), 1, [x["subject"] for x in j["messages"]])
            self.assertEqual(big[0]["from"]["email"], "dave@example.net")
            # the connection went on: the message itself opens
            r = c.get(f"/message?f=INBOX&uid={q(big[0]['uid'])}")
            self.assertEqual(r.status, 200)
            self.assertIn(b"body", c.get(
                f"/body?f=INBOX&uid={q(big[0]['uid'])}").body)
        finally:
            m.select("INBOX")
            _, d = m.search(None, "SUBJECT", f'"{subject}"')
            for n in d[0].split():
                m.store(n, "+FLAGS", "(\\Deleted)")
            m.expunge()
            m.logout()

    def test_an_idle_pop3_connection_is_released(self):
        def logouts():
            return sum(1 for l in dovecot_log().splitlines()
                       if "pop3(bob)" in l and "Logged out" in l)

        c = self.bob()
        self.assertEqual(c.get("/mailbox?f=INBOX").status, 200)
        before = logouts()
        # pop3_idle = 2 in the test config; the reaper runs every second
        wait_for(lambda: logouts() > before, "the idle POP3 connection to "
                 "close", timeout=8)
        # and the next page opens a new one, unseen by the user
        self.assertEqual(c.get("/mailbox?f=INBOX").status, 200)


class OverMaxMessageSize(unittest.TestCase):
    """A POP3 message over max_message_size, which RETR would have to hold
    whole: its page shows the headers and says where the rest is; its
    source streams whole; a reply starts from it."""

    PORT = EXTRA_SERVE_PORT + 4

    @classmethod
    def setUpClass(cls):
        cls.proc = ENV.spawn_serve("pop3-small", cls.PORT,
                                   extra_postern="max_message_size = 64k")
        cls.bob = (ENV.mail["BOB_USER"], ENV.mail["BOB_PASS"])
        cls.subject = f"pop3-over-max-{int(time.time() * 1000)}"
        msg = email.message.EmailMessage()
        msg["From"] = "Erin <erin@example.net>"
        msg["To"] = ENV.mail["BOB_EMAIL"]
        msg["Subject"] = cls.subject
        msg["Date"] = "Tue, 2 Jul 2030 09:00:00 +0000"
        msg.set_content("BODY-OF-THE-BIG-ONE\n")
        msg.add_attachment(os.urandom(150 * 1024), maintype="application",
                           subtype="octet-stream", filename="big.bin")
        cls.raw = msg.as_bytes(policy=email.policy.SMTP)
        m = imaplib.IMAP4("localhost", int(ENV.mail["IMAP_PORT"]))
        m.starttls(ssl.create_default_context(cafile=ENV.mail["CA_FILE"]))
        m.login(*cls.bob)
        m.append("INBOX", None, None, cls.raw)
        m.logout()

    @classmethod
    def tearDownClass(cls):
        m = imaplib.IMAP4("localhost", int(ENV.mail["IMAP_PORT"]))
        m.starttls(ssl.create_default_context(cafile=ENV.mail["CA_FILE"]))
        m.login(*cls.bob)
        m.select("INBOX")
        _, d = m.search(None, "SUBJECT", f'"{cls.subject}"')
        for n in d[0].split():
            m.store(n, "+FLAGS", "(\\Deleted)")
        m.expunge()
        m.logout()
        cls.proc.stop()

    def client(self):
        c = Client(self.PORT)
        r = c.login(*self.bob, server="pop3s")
        self.assertEqual(r.status, 303)
        status, j = c.json("/mailbox?f=INBOX")
        self.assertEqual(status, 200, j)
        big = [x for x in j["messages"] if x["subject"] == self.subject]
        self.assertEqual(len(big), 1)
        return c, q(big[0]["uid"])

    def test_the_page_shows_the_headers_and_where_the_rest_is(self):
        c, uid = self.client()
        r = c.get(f"/message?f=INBOX&uid={uid}")
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertIn(self.subject.encode(), r.body)
        self.assertIn(b"erin@example.net", r.body)
        self.assertIn(b"only its headers are shown", r.body)
        self.assertIn(b">Source</a>", r.body)
        # nothing of the body was read, so nothing is offered from it
        self.assertNotIn(b"BODY-OF-THE-BIG-ONE", r.body)
        self.assertNotIn(b"big.bin", r.body)
        status, j = c.json(f"/message?f=INBOX&uid={uid}")
        self.assertEqual(status, 200)
        self.assertTrue(j["partial"])
        self.assertEqual(j["size"], len(self.raw))
        self.assertEqual(j["attachments"], [])
        self.assertEqual(j["subject"], self.subject)
        # and the whole message still downloads, byte for byte
        r = c.get(f"/source?f=INBOX&uid={uid}")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, self.raw)

    def test_a_reply_starts_from_its_headers(self):
        c, uid = self.client()
        r = c.get(f"/compose?mode=reply&f=INBOX&uid={uid}")
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertIn(("Re: " + self.subject).encode(), r.body)
        self.assertIn(b"erin@example.net", r.body)

    def test_a_message_under_the_cap_is_whole(self):
        # the cap only: the ordinary messages of the maildrop are unchanged
        c = Client(self.PORT)
        self.assertEqual(c.login(*self.bob, server="pop3s").status, 303)
        status, j = c.json("/mailbox?f=INBOX")
        small = [x for x in j["messages"] if x["size"] < 64 * 1024]
        self.assertTrue(small)
        status, m = c.json(f"/message?f=INBOX&uid={q(small[0]['uid'])}")
        self.assertEqual(status, 200)
        self.assertFalse(m["partial"])


if __name__ == "__main__":
    unittest.main()
