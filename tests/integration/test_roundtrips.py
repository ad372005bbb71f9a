"""test_roundtrips.py - the IMAP round trips a page costs, counted through
/metrics against the real Dovecot (CONDSTORE on): what tests/bench measures
must stay as cheap as it was made, and stay correct when the folder changes."""

import base64
import contextlib
import imaplib
import ssl
import unittest

from harness import ENV, Client, metrics

KEY = 'postern_imap_commands_total{command="%s"}'


def alice():
    return ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"]


def logged_in():
    c = Client()
    r = c.login(*alice())
    assert r.status == 303, (r.status, r.body[:300])
    return c


def imap():
    m = imaplib.IMAP4(ENV.mail.get("TLS_HOSTNAME") or "localhost",
                      int(ENV.mail["IMAP_PORT"]))
    m.starttls(ssl.create_default_context(cafile=ENV.mail["CA_FILE"]))
    m.login(*alice())
    m.select("INBOX")
    return m


@contextlib.contextmanager
def appended(subject, raw):
    """raw APPENDed to INBOX for the block, as its UID; deleted after."""
    m = imap()
    try:
        m.append("INBOX", None, None, raw)
        _, d = m.uid("SEARCH", None, "SUBJECT", f'"{subject}"')
        yield d[0].split()[-1].decode()
    finally:
        _, d = m.uid("SEARCH", None, "SUBJECT", f'"{subject}"')
        for u in d[0].split():
            m.uid("STORE", u, "+FLAGS", "(\\Deleted)")
            m.uid("EXPUNGE", u)
        m.logout()


def delta(before, after, *verbs):
    return {v: after[KEY % v] - before[KEY % v] for v in verbs}


class RoundTrips(unittest.TestCase):
    def test_login_takes_the_capabilities_from_the_ok(self):
        before = metrics()
        logged_in()
        d = delta(before, metrics(), "STARTTLS", "AUTHENTICATE",
                  "CAPABILITY", "ENABLE")
        # one CAPABILITY: after STARTTLS (what came before TLS is
        # forgotten), none after AUTHENTICATE, whose OK carries them
        self.assertEqual(d, {"STARTTLS": 1, "AUTHENTICATE": 1,
                             "CAPABILITY": 1, "ENABLE": 1})

    def test_unchanged_folder_costs_one_noop(self):
        c = logged_in()
        self.assertEqual(c.get("/mailbox?f=INBOX").status, 200)
        before = metrics()
        for _ in range(3):
            self.assertEqual(c.get("/mailbox?f=INBOX").status, 200)
        d = delta(before, metrics(), "NOOP", "SELECT", "FETCH", "SORT")
        self.assertEqual(d, {"NOOP": 3, "SELECT": 0, "FETCH": 0, "SORT": 0})

    def test_flag_set_elsewhere_shows_on_the_next_list(self):
        c = logged_in()
        status, page = c.json("/mailbox?f=INBOX")
        self.assertEqual(status, 200)
        target = next(m for m in page["messages"] if not m["flagged"])
        m = imap()
        try:
            m.uid("STORE", str(target["uid"]), "+FLAGS", "(\\Flagged)")
            before = metrics()
            status, again = c.json("/mailbox?f=INBOX")
            self.assertEqual(status, 200)
            got = next(x for x in again["messages"]
                       if x["uid"] == target["uid"])
            self.assertTrue(got["flagged"])
            # the NOOP heard of the change; the folder was read again
            self.assertEqual(delta(before, metrics(), "SELECT")["SELECT"], 1)
        finally:
            m.uid("STORE", str(target["uid"]), "-FLAGS", "(\\Flagged)")
            m.logout()
        status, last = c.json("/mailbox?f=INBOX")
        got = next(x for x in last["messages"] if x["uid"] == target["uid"])
        self.assertFalse(got["flagged"])

    def test_message_arriving_elsewhere_is_listed(self):
        c = logged_in()
        status, page = c.json("/mailbox?f=INBOX")
        self.assertEqual(status, 200)
        m = imap()
        try:
            m.append("INBOX", None, None,
                     b"Subject: roundtrips arrival\r\nFrom: x@example.org\r\n"
                     b"Date: Mon, 1 Jul 2030 10:00:00 +0000\r\n\r\nhi\r\n")
            status, again = c.json("/mailbox?f=INBOX")
            self.assertEqual(again["total"], page["total"] + 1)
            self.assertEqual(again["messages"][0]["subject"],
                             "roundtrips arrival")
        finally:
            _, d = m.uid("SEARCH", None, "SUBJECT", '"roundtrips arrival"')
            for uid in d[0].split():
                m.uid("STORE", uid, "+FLAGS", "(\\Deleted)")
                m.uid("EXPUNGE", uid)
            m.logout()
        status, last = c.json("/mailbox?f=INBOX")
        self.assertEqual(last["total"], page["total"])

    def test_mark_read_through_postern_shows_on_the_next_list(self):
        c = logged_in()
        self.assertEqual(c.get("/folders").status, 200)  # the session token
        status, page = c.json("/mailbox?f=INBOX")
        self.assertEqual(status, 200)
        # earlier suites may have read every message on page 1: make the
        # newest one unread elsewhere first, and put it back as it was
        target = page["messages"][0]
        was_seen = target["seen"]
        m = imap()
        try:
            m.uid("STORE", str(target["uid"]), "-FLAGS", "(\\Seen)")
            status, unread = c.json("/mailbox?f=INBOX")
            got = next(x for x in unread["messages"]
                       if x["uid"] == target["uid"])
            self.assertFalse(got["seen"])
            r = c.post("/action", {"f": "INBOX", "uid": str(target["uid"]),
                                   "op": "read"})
            self.assertEqual(r.status, 303, r.body[:200])
            status, again = c.json("/mailbox?f=INBOX")
            got = next(x for x in again["messages"]
                       if x["uid"] == target["uid"])
            self.assertTrue(got["seen"])
        finally:
            m.uid("STORE", str(target["uid"]),
                  "+FLAGS" if was_seen else "-FLAGS", "(\\Seen)")
            m.logout()

    def test_downloads_say_their_size_and_keep_the_connection(self):
        # 600 KiB: more than the memo keeps, so each download is a FETCH
        data = bytes(range(256)) * 2400
        raw = (b"Subject: roundtrips download\r\nFrom: x@example.org\r\n"
               b"Date: Mon, 1 Jul 2030 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=b1\r\n\r\n"
               b"--b1\r\nContent-Type: text/plain\r\n\r\nsee the file\r\n"
               b"--b1\r\nContent-Type: application/octet-stream\r\n"
               b"Content-Disposition: attachment; filename=d.bin\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n" +
               base64.encodebytes(data).replace(b"\n", b"\r\n") +
               b"--b1\r\nContent-Type: application/octet-stream\r\n"
               b"Content-Disposition: attachment; filename=empty.bin\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n\r\n"
               b"--b1--\r\n")
        with appended("roundtrips download", raw) as uid:
            c = logged_in()
            self.assertEqual(c.get(f"/message?f=INBOX&uid={uid}").status, 200)
            before = metrics()
            # an empty file: nothing to send, the reply still read whole
            r = c.get(f"/part?f=INBOX&uid={uid}&part=3")
            self.assertEqual((r.status, r.body), (200, b""))
            self.assertEqual(r.header("content-length"), "0")
            for _ in range(2):
                r = c.get(f"/part?f=INBOX&uid={uid}&part=2")
                self.assertEqual((r.status, r.body), (200, data))
                # the decoded size, as Dovecot's BINARY literal announced it
                self.assertEqual(r.header("content-length"), str(len(data)))
                self.assertIsNone(r.header("transfer-encoding"))
            # each reply was read to its end: one connection served them all
            self.assertEqual(delta(before, metrics(), "AUTHENTICATE", "FETCH"),
                             {"AUTHENTICATE": 0, "FETCH": 3})

    def test_body_and_parts_after_the_message_page_fetch_each_part_once(self):
        png = base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYPj"
            "/HwAEAQH/ZVuD3wAAAABJRU5ErkJggg==")
        raw = (b"Subject: roundtrips memo\r\nFrom: x@example.org\r\n"
               b"Date: Mon, 1 Jul 2030 11:00:00 +0000\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/related; boundary=b1\r\n\r\n"
               b"--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
               b"<p>logo: <img src=\"cid:logo@x\"></p>\r\n"
               b"--b1\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n" +
               base64.b64encode(png) + b"\r\n--b1--\r\n")
        with appended("roundtrips memo", raw) as uid:
            c = logged_in()
            q = f"f=INBOX&uid={uid}"
            self.assertEqual(c.get(f"/message?{q}").status, 200)
            # the frame, with the small image inside it: made by /message
            # for the request that follows, no round trip of its own
            before = metrics()
            r = c.get(f"/body?{q}")
            self.assertEqual(r.status, 200)
            self.assertIn(b'src="data:image/png;base64,' +
                          base64.b64encode(png) + b'"', r.body)
            self.assertEqual(delta(before, metrics(), "FETCH")["FETCH"], 0)
            # another kind of frame for the same message: made afresh from
            # the parts /message read
            before = metrics()
            r = c.get(f"/body?{q}&plain=1")
            self.assertEqual(r.status, 200)
            self.assertEqual(delta(before, metrics(), "FETCH")["FETCH"], 0)
            # the image by itself (a download): no second look at the
            # structure
            before = metrics()
            r = c.get(f"/part?{q}&part=2")
            self.assertEqual((r.status, r.body), (200, png))
            self.assertEqual(delta(before, metrics(), "FETCH")["FETCH"], 1)
            # the page again: flags are asked afresh, the parts are not
            before = metrics()
            self.assertEqual(c.get(f"/message?{q}").status, 200)
            self.assertEqual(c.get(f"/part?{q}&part=2").body, png)
            self.assertEqual(delta(before, metrics(), "FETCH")["FETCH"], 1)
