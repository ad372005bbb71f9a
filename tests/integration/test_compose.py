"""test_compose.py - writing mail through postern with the real Postfix
and Dovecot: alice sends bob two attachments (one with a non-ASCII name),
bob reads them byte-identical, alice's Sent holds the message, bob replies
with the right threading headers and alice's original shows \\Answered;
drafts are saved, edited and replaced; a bad recipient, an oversize
attachment and a mail server that is down each give the form back with
the error and nothing lost; header injection is refused."""

import email
import email.message
import email.policy
import imaplib
import os
import re
import ssl
import time
import unittest
import urllib.parse
import uuid

from harness import ENV, EXTRA_SERVE_PORT, Client

ATT1 = ("Résumé année.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 40)
ATT2 = ("notes.txt", b"plain notes\r\nline two\r\n")


def imap(user, password):
    m = imaplib.IMAP4(ENV.mail.get("TLS_HOSTNAME") or "localhost",
                      int(ENV.mail["IMAP_PORT"]))
    m.starttls(ssl.create_default_context(cafile=ENV.mail["CA_FILE"]))
    m.login(user, password)
    return m


def multipart(fields, files):
    """A browser-like multipart/form-data body."""
    boundary = "----postern" + uuid.uuid4().hex
    out = []
    for k, v in fields:
        out.append(f"--{boundary}\r\nContent-Disposition: form-data; "
                   f'name="{k}"\r\n\r\n'.encode() + v.encode() + b"\r\n")
    for k, (name, data, ctype) in files:
        out.append(f"--{boundary}\r\nContent-Disposition: form-data; "
                   f'name="{k}"; filename="{name}"\r\n'
                   f"Content-Type: {ctype}\r\n\r\n".encode() + data +
                   b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def subjects(m, box):
    """UID -> decoded Subject of every message in box not \\Deleted."""
    m.select(box)
    typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS "
                                      "(SUBJECT)])")
    out = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        head = item[0].decode()
        if "\\Deleted" in head:
            continue
        uid = int(re.search(r"UID (\d+)", head).group(1))
        msg = email.message_from_bytes(item[1], policy=email.policy.default)
        out[uid] = str(msg["Subject"] or "")
    return out


def find(m, box, subject, timeout=10):
    """UID of the message with that subject in box, waiting for delivery."""
    deadline = time.monotonic() + timeout
    while True:
        hits = [u for u, s in subjects(m, box).items() if s == subject]
        if hits:
            return hits[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"{subject!r} never reached {box}")
        time.sleep(0.2)


def fetch(m, box, uid):
    m.select(box)
    typ, data = m.uid("FETCH", str(uid), "(FLAGS BODY.PEEK[])")
    flags = data[0][0].decode()
    return flags, email.message_from_bytes(data[0][1],
                                           policy=email.policy.default)


_INBOX_TOP = 0


def setUpModule():
    """Remember where alice's INBOX ends: other modules count it."""
    global _INBOX_TOP
    m = imap(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
    m.select("INBOX")
    typ, data = m.uid("SEARCH", None, "ALL")
    uids = [int(x) for x in data[0].split()]
    _INBOX_TOP = max(uids) if uids else 0
    m.logout()


def tearDownModule():
    """What these tests delivered to alice's INBOX goes again."""
    m = imap(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
    m.select("INBOX")
    typ, data = m.uid("SEARCH", None, "ALL")
    # "N:*" with nothing above N would mean the last message: list them
    new = [x.decode() for x in data[0].split() if int(x) > _INBOX_TOP]
    if new:
        m.uid("STORE", ",".join(new), "+FLAGS.SILENT", r"(\Deleted)")
        m.uid("EXPUNGE", ",".join(new))
    m.logout()


def login(user, password):
    c = Client()
    r = c.login(user, password)
    assert r.status == 303, r.status
    c.get("/folders")  # the session's CSRF token
    return c


def send(c, fields, files=(), route="/send"):
    body, ctype = multipart([("csrf", c.csrf)] + list(fields), list(files))
    return c.request("POST", route, {"Content-Type": ctype}, body)


def sent_folder():
    return ENV.mail.get("SEED_FOLDER_SENT", "Sent")


def drafts_folder():
    return ENV.mail.get("SEED_FOLDER_DRAFTS", "Drafts")


class SendAndReply(unittest.TestCase):
    def test_send_read_reply_thread(self):
        alice = login(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
        bob = login(ENV.mail["BOB_USER"], ENV.mail["BOB_PASS"])
        subject = f"Quartalszahlen Ü {uuid.uuid4().hex[:8]}"
        r = send(alice, [("to", "Bob <bob@postern.test>"),
                         ("subject", subject),
                         ("text", "Hallo Bob,\nanbei die Zahlen.\n")],
                 [("attachment", (ATT1[0], ATT1[1], "application/pdf")),
                  ("attachment", (ATT2[0], ATT2[1], "text/plain"))])
        self.assertEqual(r.status, 303, r.body[:500])
        mb = imap(ENV.mail["BOB_USER"], ENV.mail["BOB_PASS"])
        uid = find(mb, "INBOX", subject)
        # bob reads it through postern: attachments byte-identical
        status, j = bob.json(f"/message?f=INBOX&uid={uid}")
        self.assertEqual(status, 200)
        self.assertEqual(j["subject"], subject)
        names = {a["filename"]: a for a in j["attachments"]}
        self.assertEqual(set(names), {ATT1[0], ATT2[0]})
        for name, data in (ATT1, ATT2):
            r = bob.get(urllib.parse.urlparse(names[name]["href"]).path + "?"
                        + urllib.parse.urlparse(names[name]["href"]).query)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, data, name)
        # alice's Sent holds it, \Seen
        ma = imap(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
        suid = find(ma, sent_folder(), subject)
        flags, sent = fetch(ma, sent_folder(), suid)
        self.assertIn(r"\Seen", flags)
        mid = sent["Message-ID"]
        self.assertRegex(mid, r"^<[^@\s]+@[^>\s]+>$")
        # bob replies through postern's prefilled form
        r = bob.get(f"/compose?mode=reply&f=INBOX&uid={uid}")
        self.assertEqual(r.status, 200)
        form = r.body.decode()
        fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" '
                                 r'value="([^"]*)"', form))
        self.assertIn("alice@postern.test", form)
        self.assertIn("Re: " + subject, form)
        self.assertIn("&gt; anbei die Zahlen.", form)
        to = re.search(r'id="to" name="to" value="([^"]*)"', form).group(1)
        import html
        r = send(bob, [("to", html.unescape(to)),
                       ("subject", "Re: " + subject),
                       ("text", "Danke!\n"),
                       ("in_reply_to", html.unescape(fields["in_reply_to"])),
                       ("references", html.unescape(fields["references"])),
                       ("reply_f", fields["reply_f"]),
                       ("reply_uid", fields["reply_uid"])])
        self.assertEqual(r.status, 303, r.body[:500])
        # the reply threads under the original
        ruid = find(ma, "INBOX", "Re: " + subject)
        flags, reply = fetch(ma, "INBOX", ruid)
        self.assertEqual(reply["In-Reply-To"], mid)
        self.assertIn(mid, reply["References"])
        # bob's copy of the original shows \Answered
        flags, _ = fetch(mb, "INBOX", uid)
        self.assertIn(r"\Answered", flags)
        ma.logout()
        mb.logout()


class Drafts(unittest.TestCase):
    def test_save_edit_and_replace_a_draft(self):
        alice = login(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
        subject = f"Entwurf {uuid.uuid4().hex[:8]}"
        r = send(alice, [("to", "bob@postern.test"), ("bcc", "x@example.org"),
                         ("subject", subject), ("text", "first version\n")],
                 [("attachment", ("a.bin", b"\x00\x01\x02", "application/"
                                  "octet-stream"))], route="/draft")
        self.assertEqual(r.status, 200, r.body[:500])
        self.assertIn(b"Draft saved", r.body)
        ma = imap(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
        duid = find(ma, drafts_folder(), subject)
        flags, d = fetch(ma, drafts_folder(), duid)
        self.assertIn(r"\Draft", flags)
        self.assertEqual(d["Bcc"], "x@example.org")
        # opening the draft edits it
        r = alice.get(f"/compose?mode=draft&f="
                      f"{urllib.parse.quote(drafts_folder())}&uid={duid}")
        self.assertEqual(r.status, 200)
        self.assertIn(b"first version", r.body)
        self.assertIn(b"x@example.org", r.body)
        self.assertIn(f'name="draft_uid" value="{duid}"'.encode(), r.body)
        # saving again replaces it
        r = send(alice, [("to", "bob@postern.test"), ("subject", subject),
                         ("text", "second version\n"),
                         ("draft_uid", str(duid))], route="/draft")
        self.assertEqual(r.status, 200)
        uids = [u for u, s in subjects(ma, drafts_folder()).items()
                if s == subject]
        self.assertEqual(len(uids), 1)
        flags, d = fetch(ma, drafts_folder(), uids[0])
        self.assertIn("second version", d.get_body().get_content())
        ma.logout()


class NothingLost(unittest.TestCase):
    def setUp(self):
        self.alice = login(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])

    def assertFormKept(self, r, text, filename=None):
        self.assertIn(b'<form method="post"', r.body)
        self.assertIn(text.encode(), r.body)
        if filename:
            self.assertIn(filename.encode(), r.body)
            self.assertIn(b'name="keep"', r.body)

    def test_bad_recipient_gives_the_form_back(self):
        r = send(self.alice, [("to", "bob@"), ("subject", "x"),
                              ("text", "TEXT-KEPT-1")],
                 [("attachment", ("kept.txt", b"kept", "text/plain"))])
        self.assertEqual(r.status, 400)
        self.assertIn(b"bob@", r.body)
        self.assertFormKept(r, "TEXT-KEPT-1", "kept.txt")
        # the kept attachment goes along when the address is fixed
        token = re.search(rb'name="keep" value="([^"]+)"', r.body).group(1)
        subject = f"kept attachment {uuid.uuid4().hex[:8]}"
        r = send(self.alice, [("to", "bob@postern.test"),
                              ("subject", subject), ("text", "now"),
                              ("keep", token.decode())])
        self.assertEqual(r.status, 303, r.body[:300])
        mb = imap(ENV.mail["BOB_USER"], ENV.mail["BOB_PASS"])
        flags, msg = fetch(mb, "INBOX", find(mb, "INBOX", subject))
        atts = [p for p in msg.iter_attachments()]
        self.assertEqual([a.get_filename() for a in atts], ["kept.txt"])
        self.assertEqual(atts[0].get_content().encode()
                         if isinstance(atts[0].get_content(), str)
                         else atts[0].get_content(), b"kept")
        mb.logout()

    def test_refused_recipient_gives_the_form_back(self):
        r = send(self.alice, [("to", "nobody@postern.test"),
                              ("subject", "x"), ("text", "TEXT-KEPT-2")])
        self.assertEqual(r.status, 502)
        self.assertIn(b"nobody@postern.test", r.body)
        self.assertFormKept(r, "TEXT-KEPT-2")

    def test_header_injection_is_refused(self):
        r = send(self.alice, [("to", "bob@postern.test"),
                              ("subject", "hi\r\nBcc: evil@example.org"),
                              ("text", "TEXT-KEPT-3")])
        self.assertEqual(r.status, 400)
        self.assertFormKept(r, "TEXT-KEPT-3")

    def test_oversize_attachment_gives_the_form_back(self):
        big = b"x" * (ENV.max_upload + 1)
        r = send(self.alice, [("to", "bob@postern.test"), ("subject", "big"),
                              ("text", "TEXT-KEPT-4")],
                 [("attachment", ("big.bin", big, "application/"
                                  "octet-stream"))])
        self.assertEqual(r.status, 413)
        self.assertIn(b"at most", r.body)
        self.assertIn(b"big.bin", r.body)
        self.assertFormKept(r, "TEXT-KEPT-4")

    def test_smtp_down_gives_the_form_back(self):
        c = Client()
        r = c.login(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"],
                    server="nosmtp")
        self.assertEqual(r.status, 303)
        c.get("/folders")
        r = send(c, [("to", "bob@postern.test"), ("subject", "x"),
                     ("text", "TEXT-KEPT-5")],
                 [("attachment", ("kept5.txt", b"five", "text/plain"))])
        self.assertEqual(r.status, 502)
        self.assertIn(b"could not be reached", r.body)
        self.assertFormKept(r, "TEXT-KEPT-5", "kept5.txt")

    def test_send_without_csrf_is_403(self):
        body, ctype = multipart([("to", "bob@postern.test"),
                                 ("subject", "x"), ("text", "y")], [])
        r = self.alice.request("POST", "/send", {"Content-Type": ctype}, body)
        self.assertEqual(r.status, 403)


class Forward(unittest.TestCase):
    def _original(self, alice, subject):
        r = send(alice, [("to", "alice@postern.test"), ("subject", subject),
                         ("text", "original text\n")],
                 [("attachment", (ATT1[0], ATT1[1], "application/pdf"))])
        self.assertEqual(r.status, 303, r.body[:300])
        ma = imap(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
        uid = find(ma, "INBOX", subject)
        return ma, uid

    def test_forward_inline_carries_the_attachments(self):
        alice = login(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
        subject = f"fwd-inline {uuid.uuid4().hex[:8]}"
        ma, uid = self._original(alice, subject)
        r = alice.get(f"/compose?mode=forward&f=INBOX&uid={uid}")
        self.assertEqual(r.status, 200)
        self.assertIn(("Fwd: " + subject).encode(), r.body)
        self.assertIn(b"original text", r.body)
        parts = re.findall(rb'name="fwd_part" value="([^"]+)"', r.body)
        self.assertEqual(len(parts), 1)
        r = send(alice, [("to", "bob@postern.test"),
                         ("subject", "Fwd: " + subject), ("text", "see below"),
                         ("fwd_f", "INBOX"), ("fwd_uid", str(uid)),
                         ("fwd_part", parts[0].decode())])
        self.assertEqual(r.status, 303, r.body[:300])
        mb = imap(ENV.mail["BOB_USER"], ENV.mail["BOB_PASS"])
        flags, msg = fetch(mb, "INBOX", find(mb, "INBOX", "Fwd: " + subject))
        atts = list(msg.iter_attachments())
        self.assertEqual([a.get_filename() for a in atts], [ATT1[0]])
        self.assertEqual(atts[0].get_content(), ATT1[1])
        ma.logout()
        mb.logout()

    def _append_with_file(self, subject, data):
        """An original in alice's INBOX carrying data as a base64 file."""
        msg = email.message.EmailMessage()
        msg["From"] = "Carol <carol@example.net>"
        msg["To"] = "alice@postern.test"
        msg["Subject"] = subject
        msg.set_content("the file is attached\n")
        msg.add_attachment(data, maintype="application",
                           subtype="octet-stream", filename="file.bin")
        ma = imap(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
        ma.append("INBOX", None, None, msg.as_bytes(policy=email.policy.SMTP))
        return ma, find(ma, "INBOX", subject)

    def _forward_parts(self, alice, uid):
        r = alice.get(f"/compose?mode=forward&f=INBOX&uid={uid}")
        self.assertEqual(r.status, 200)
        return [p.decode() for p in
                re.findall(rb'name="fwd_part" value="([^"]+)"', r.body)]

    def test_a_file_under_max_upload_is_forwarded_whole(self):
        # its base64 (4/3, and line breaks) is over max_upload: the cap is
        # on the file, not on its encoding (it once went out cut)
        alice = login(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
        subject = f"fwd-big {uuid.uuid4().hex[:8]}"
        data = os.urandom(ENV.max_upload - 64 * 1024)
        ma, uid = self._append_with_file(subject, data)
        parts = self._forward_parts(alice, uid)
        self.assertEqual(len(parts), 1)
        r = send(alice, [("to", "bob@postern.test"),
                         ("subject", "Fwd: " + subject), ("text", "whole"),
                         ("fwd_f", "INBOX"), ("fwd_uid", str(uid)),
                         ("fwd_part", parts[0])])
        self.assertEqual(r.status, 303, r.body[:300])
        mb = imap(ENV.mail["BOB_USER"], ENV.mail["BOB_PASS"])
        flags, msg = fetch(mb, "INBOX", find(mb, "INBOX", "Fwd: " + subject))
        atts = list(msg.iter_attachments())
        self.assertEqual(len(atts), 1)
        self.assertEqual(atts[0].get_content(), data)
        ma.logout()
        mb.logout()

    def test_a_file_over_max_upload_gives_the_form_back(self):
        alice = login(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
        subject = f"fwd-too-big {uuid.uuid4().hex[:8]}"
        ma, uid = self._append_with_file(subject,
                                         os.urandom(ENV.max_upload + 4096))
        parts = self._forward_parts(alice, uid)
        r = send(alice, [("to", "bob@postern.test"),
                         ("subject", "Fwd: " + subject),
                         ("text", "TEXT-KEPT-FWD"),
                         ("fwd_f", "INBOX"), ("fwd_uid", str(uid)),
                         ("fwd_part", parts[0])])
        self.assertEqual(r.status, 413, r.body[:300])
        self.assertIn(b"larger than postern forwards", r.body)
        self.assertIn(b"file.bin", r.body)
        self.assertIn(b'<form method="post"', r.body)
        self.assertIn(b"TEXT-KEPT-FWD", r.body)
        mb = imap(ENV.mail["BOB_USER"], ENV.mail["BOB_PASS"])
        self.assertNotIn("Fwd: " + subject,
                         subjects(mb, "INBOX").values())  # nothing went out
        ma.logout()
        mb.logout()

    def test_an_original_over_max_message_size_gives_the_form_back(self):
        # attached whole or not at all: it once went out cut at the cap
        port = EXTRA_SERVE_PORT + 5
        proc = ENV.spawn_serve("compose-small", port,
                               extra_postern="max_message_size = 64k")
        try:
            subject = f"fwd-orig-big {uuid.uuid4().hex[:8]}"
            ma, uid = self._append_with_file(subject,
                                             os.urandom(100 * 1024))
            alice = Client(port)
            self.assertEqual(alice.login(ENV.mail["ALICE_USER"],
                                         ENV.mail["ALICE_PASS"]).status, 303)
            alice.get("/folders")
            r = send(alice, [("to", "bob@postern.test"),
                             ("subject", "Fwd: " + subject),
                             ("text", "TEXT-KEPT-ORIG"),
                             ("fwd_f", "INBOX"), ("fwd_uid", str(uid)),
                             ("attach_original", "1")])
            self.assertEqual(r.status, 413, r.body[:300])
            self.assertIn(b"larger than postern attaches", r.body)
            self.assertIn(b"TEXT-KEPT-ORIG", r.body)
            mb = imap(ENV.mail["BOB_USER"], ENV.mail["BOB_PASS"])
            self.assertNotIn("Fwd: " + subject,
                             subjects(mb, "INBOX").values())
            ma.logout()
            mb.logout()
        finally:
            proc.stop()

    def test_forward_as_attachment_and_reply_all(self):
        alice = login(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
        subject = f"fwd-attach {uuid.uuid4().hex[:8]}"
        ma, uid = self._original(alice, subject)
        r = alice.get(f"/compose?mode=attach&f=INBOX&uid={uid}")
        self.assertIn(b'name="attach_original" value="1"', r.body)
        r = send(alice, [("to", "bob@postern.test"),
                         ("subject", "Fwd: " + subject), ("text", "attached"),
                         ("fwd_f", "INBOX"), ("fwd_uid", str(uid)),
                         ("attach_original", "1")])
        self.assertEqual(r.status, 303, r.body[:300])
        mb = imap(ENV.mail["BOB_USER"], ENV.mail["BOB_PASS"])
        flags, msg = fetch(mb, "INBOX", find(mb, "INBOX", "Fwd: " + subject))
        inner = [p for p in msg.walk()
                 if p.get_content_type() == "message/rfc822"]
        self.assertEqual(len(inner), 1)
        self.assertIn(subject, str(inner[0].get_content()["Subject"]))
        # reply-all: the sender, and the other recipients without the user
        # (here alice wrote to herself: she appears once, as the sender)
        r = alice.get(f"/compose?mode=all&f=INBOX&uid={uid}")
        to = re.search(rb'id="to" name="to" value="([^"]*)"', r.body).group(1)
        self.assertEqual(to.count(b"alice@postern.test"), 1)
        ma.logout()
        mb.logout()
