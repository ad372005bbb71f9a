"""test_write.py - what a user changes, checked by reading the server's
state back over IMAP: flags, move, copy, delete (to Trash, then for good
after a confirmation), folder create/rename/delete/subscribe, empty
Trash; CSRF on every POST. Works in its own folders, never INBOX."""

import html.parser
import imaplib
import re
import socket
import ssl
import time
import unittest
import urllib.parse

from harness import ENV, FLAVOR, Client

PREFIX = ""
SEP = "/"


def setUpModule():
    global PREFIX, SEP
    PREFIX = ENV.mail.get("IMAP_PREFIX", "")
    SEP = ENV.mail.get("IMAP_SEPARATOR") or "/"


def name(leaf):
    return PREFIX + leaf


def imap():
    m = imaplib.IMAP4(ENV.mail.get("TLS_HOSTNAME") or "localhost",
                      int(ENV.mail["IMAP_PORT"]))
    m.starttls(ssl.create_default_context(cafile=ENV.mail["CA_FILE"]))
    m.login(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
    return m


def mutf7(s):
    """Modified UTF-7 (RFC 3501 §5.1.3) for the IMAP side of the test."""
    out, buf = [], []

    def flush():
        if buf:
            b = "".join(buf).encode("utf-16-be")
            import base64
            out.append("&" + base64.b64encode(b).decode().rstrip("=")
                       .replace("/", ",") + "-")
            buf.clear()
    for ch in s:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)


def q(box):
    return '"' + mutf7(box).replace("\\", "\\\\").replace('"', '\\"') + '"'


def reset_folder(m, box, count):
    """The folder box exists, holds exactly count fresh messages; returns
    their Message-IDs by UID."""
    m.create(q(box))
    m.select(q(box))
    m.uid("STORE", "1:*", "+FLAGS.SILENT", r"(\Deleted)")
    m.expunge()
    for i in range(count):
        msg = (f"From: Tester <tester@example.org>\r\n"
               f"To: alice@postern.test\r\n"
               f"Subject: write test {box} {i}\r\n"
               f"Message-ID: <w{i}.{abs(hash(box))}@test>\r\n"
               f"\r\nbody {i}\r\n").encode()
        m.append(q(box), None, None, msg)
    m.select(q(box))
    typ, data = m.uid("SEARCH", None, "ALL")
    return [int(x) for x in data[0].split()]


def flags_of(m, box, uid):
    m.select(q(box))
    typ, data = m.uid("FETCH", str(uid), "(FLAGS)")
    return data[0].decode() if data and data[0] else ""


def message_ids(m, box):
    m.select(q(box))
    typ, data = m.uid("SEARCH", None, "NOT DELETED")
    uids = data[0].split()
    out = set()
    for u in uids:
        typ, d = m.uid("FETCH", u, "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        out.add(d[0][1].decode().strip())
    return out


def folders(m):
    typ, data = m.list('""', '"*"')
    names = []
    for line in data:
        mm = re.match(rb'\(.*?\) (?:"[^"]*"|NIL) (.*)$', line)
        n = mm.group(1).decode()
        names.append(n.strip('"'))
    return names


class Forms(html.parser.HTMLParser):
    """The forms of a page as a browser sees them: per form its action,
    hidden fields, buttons (id, name, value) and selects with options."""

    def __init__(self, markup):
        super().__init__(convert_charrefs=True)
        self.forms, self._select = [], None
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action"), "hidden": [],
                               "buttons": [], "selects": {}})
        elif not self.forms:
            return
        elif tag == "input" and a.get("type") == "hidden":
            self.forms[-1]["hidden"].append((a["name"], a.get("value", "")))
        elif tag == "button":
            self.forms[-1]["buttons"].append(a)
        elif tag == "select":
            self._select = self.forms[-1]["selects"].setdefault(a["name"], [])
        elif tag == "option" and self._select is not None:
            self._select.append(a.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None

    def with_button(self, button_id):
        for f in self.forms:
            for b in f["buttons"]:
                if b.get("id") == button_id:
                    return f, b
        raise AssertionError(f"no button #{button_id} on the page")


class WriteCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Client()
        r = cls.c.login(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
        assert r.status == 303, r.status
        assert cls.c.get("/folders").status == 200  # the session token

    def act(self, box, op, uids, **extra):
        fields = [("f", box), ("op", op), ("csrf", self.c.csrf)]
        fields += [("uid", str(u)) for u in uids]
        fields += list(extra.items())
        return self.c.request(
            "POST", "/action",
            {"Content-Type": "application/x-www-form-urlencoded"},
            urllib.parse.urlencode(fields).encode())

    def folder_op(self, op, f, **extra):
        return self.c.post("/folder", dict(op=op, f=f, **extra))


class Flags(WriteCase):
    def test_read_unread_flag_unflag_on_several_messages(self):
        m = imap()
        box = name("WFlags")
        uids = reset_folder(m, box, 3)
        r = self.act(box, "read", uids[:2])
        self.assertEqual(r.status, 303)
        self.assertIn("mailbox?f=", r.header("location"))
        self.assertIn(r"\Seen", flags_of(m, box, uids[0]))
        self.assertIn(r"\Seen", flags_of(m, box, uids[1]))
        self.assertNotIn(r"\Seen", flags_of(m, box, uids[2]))
        self.act(box, "unread", uids[:1])
        self.assertNotIn(r"\Seen", flags_of(m, box, uids[0]))
        self.act(box, "flag", uids)
        for u in uids:
            self.assertIn(r"\Flagged", flags_of(m, box, u))
        self.act(box, "unflag", uids[1:])
        self.assertIn(r"\Flagged", flags_of(m, box, uids[0]))
        self.assertNotIn(r"\Flagged", flags_of(m, box, uids[2]))
        # and the list shows it at once (the cache follows our changes)
        status, body = self.c.json("/mailbox?f=" + urllib.parse.quote(box))
        by_uid = {x["uid"]: x for x in body["messages"]}
        self.assertTrue(by_uid[uids[0]]["flagged"])
        self.assertFalse(by_uid[uids[0]]["seen"])
        self.assertTrue(by_uid[uids[1]]["seen"])
        m.logout()

    def test_json_action_answers_ok(self):
        m = imap()
        box = name("WJson")
        uids = reset_folder(m, box, 1)
        r = self.c.request(
            "POST", "/action",
            {"Content-Type": "application/x-www-form-urlencoded",
             "Accept": "application/json", "X-CSRF-Token": self.c.csrf},
            urllib.parse.urlencode([("f", box), ("op", "flag"),
                                    ("uid", str(uids[0]))]).encode())
        self.assertEqual(r.status, 200, r.body)
        self.assertIn(b'"ok":true', r.body)
        self.assertIn(r"\Flagged", flags_of(m, box, uids[0]))
        m.logout()

    def test_without_csrf_nothing_changes(self):
        m = imap()
        box = name("WCsrf")
        uids = reset_folder(m, box, 1)
        r = self.c.post("/action", {"f": box, "op": "flag",
                                    "uid": str(uids[0])}, csrf=False)
        self.assertEqual(r.status, 403)
        self.assertNotIn(r"\Flagged", flags_of(m, box, uids[0]))
        r = self.c.post("/folder", {"op": "create", "f": name("Nope")},
                        csrf=False)
        self.assertEqual(r.status, 403)
        self.assertNotIn(name("Nope"), folders(m))
        m.logout()

    def test_bad_input_is_400(self):
        r = self.act(name("WFlags"), "frobnicate", [1])
        self.assertEqual(r.status, 400)
        r = self.act(name("WFlags"), "read", ["abc"])
        self.assertEqual(r.status, 400)
        r = self.act(name("WFlags"), "move", [1])  # no target
        self.assertEqual(r.status, 400)


class MoveCopyDelete(WriteCase):
    def test_move_and_copy_land_in_the_target(self):
        m = imap()
        src, dst = name("WSrc"), name("WDst")
        uids = reset_folder(m, src, 4)
        reset_folder(m, dst, 0)
        ids = message_ids(m, src)
        # a message the user marked \Deleted elsewhere must survive a move
        m.select(q(src))
        m.uid("STORE", str(uids[3]), "+FLAGS.SILENT", r"(\Deleted)")
        r = self.act(src, "move", uids[:2], to=dst)
        self.assertEqual(r.status, 303)
        moved = message_ids(m, dst)
        self.assertEqual(len(moved), 2)
        self.assertTrue(moved <= ids)
        m.select(q(src))
        typ, data = m.uid("SEARCH", None, "ALL")
        left = [int(x) for x in data[0].split()]
        self.assertIn(uids[3], left)  # not expunged along
        if FLAVOR != "minimal":       # without UIDPLUS: marked, not gone
            self.assertNotIn(uids[0], left)
        r = self.act(src, "copy", [uids[2]], to=dst)
        self.assertEqual(r.status, 303)
        self.assertEqual(len(message_ids(m, dst)), 3)
        self.assertIn(uids[2], [int(x) for x in
                                m.uid("SEARCH", None, "ALL")[1][0].split()])
        r = self.act(src, "move", [uids[2]], to=name("NoSuchFolder"))
        self.assertEqual(r.status, 404)
        m.logout()

    def test_delete_goes_to_trash_then_for_good_after_confirmation(self):
        m = imap()
        box = name("WDel")
        trash = ENV.mail.get("SEED_FOLDER_TRASH", name("Trash"))
        uids = reset_folder(m, box, 2)
        mid = sorted(message_ids(m, box))[0]
        before = message_ids(m, trash)
        r = self.act(box, "delete", uids[:1])
        self.assertEqual(r.status, 303)
        after = message_ids(m, trash)
        self.assertEqual(len(after - before), 1)
        # in Trash: a confirmation first, nothing deleted yet
        m.select(q(trash))
        typ, data = m.uid("SEARCH", None, "HEADER", "Message-ID",
                          mid.split(":", 1)[1].strip())
        tuid = int(data[0].split()[-1])
        r = self.act(trash, "delete", [tuid])
        self.assertEqual(r.status, 200)
        self.assertIn(b"for good", r.body)
        self.assertIn(b'name="confirm" value="1"', r.body)
        self.assertEqual(message_ids(m, trash), after)
        r = self.act(trash, "delete", [tuid], confirm="1")
        self.assertEqual(r.status, 303)
        self.assertEqual(len(after - message_ids(m, trash)), 1)
        m.logout()


class MessagePageTools(WriteCase):
    """Flag, Mark unread and Move to… on the message page, used the way a
    browser submits them: the page's own hidden fields plus the button."""

    def page(self, box, uid):
        r = self.c.get(f"/message?f={urllib.parse.quote(box)}&uid={uid}")
        self.assertEqual(r.status, 200, r.body[:300])
        return Forms(r.body.decode())

    def click(self, forms, button_id, **chosen):
        form, button = forms.with_button(button_id)
        fields = form["hidden"] + [(button["name"], button["value"])]
        fields += list(chosen.items())
        self.assertEqual(form["action"], "/action")
        return self.c.request(
            "POST", form["action"],
            {"Content-Type": "application/x-www-form-urlencoded"},
            urllib.parse.urlencode(fields).encode())

    def test_flag_and_unflag_come_back_to_the_message(self):
        m = imap()
        box = name("WPageFlag")
        uids = reset_folder(m, box, 2)
        forms = self.page(box, uids[0])
        self.assertEqual(forms.with_button("flag")[1]["value"], "flag")
        r = self.click(forms, "flag")
        self.assertEqual(r.status, 303)
        loc = r.header("location")
        self.assertIn("/message?f=", loc)
        self.assertIn(f"uid={uids[0]}", loc)
        self.assertIn(r"\Flagged", flags_of(m, box, uids[0]))
        self.assertNotIn(r"\Flagged", flags_of(m, box, uids[1]))
        forms = self.page(box, uids[0])  # where the redirect leads
        self.assertEqual(forms.with_button("flag")[1]["value"], "unflag")
        self.assertEqual(self.click(forms, "flag").status, 303)
        self.assertNotIn(r"\Flagged", flags_of(m, box, uids[0]))
        m.logout()

    def test_mark_unread_leaves_for_the_folder(self):
        m = imap()
        box = name("WPageUnread")
        uids = reset_folder(m, box, 1)
        forms = self.page(box, uids[0])
        self.assertIn(r"\Seen", flags_of(m, box, uids[0]))  # opened: read
        r = self.click(forms, "unread")
        self.assertEqual(r.status, 303)
        self.assertIn("/mailbox?f=", r.header("location"))
        self.assertNotIn(r"\Seen", flags_of(m, box, uids[0]))
        m.logout()

    def test_move_to_lists_the_other_folders_and_moves(self):
        m = imap()
        src, dst = name("WPageSrc"), name("WPageDst")
        uids = reset_folder(m, src, 2)
        reset_folder(m, dst, 0)
        # made behind postern's back: the connection's folder names are
        # learnt again on the folder list, as a user would open it
        self.assertEqual(self.c.get("/folders").status, 200)
        mid = sorted(message_ids(m, src))[0]
        m.select(q(src))
        uid = int(m.uid("SEARCH", None, "HEADER", "Message-ID",
                        mid.split(":", 1)[1].strip())[1][0].split()[-1])
        forms = self.page(src, uid)
        form, _ = forms.with_button("move")
        targets = form["selects"]["to"]
        self.assertEqual(targets[0], "")        # "Move to…" first
        self.assertIn(dst, targets)
        self.assertIn("INBOX", targets)
        self.assertNotIn(src, targets)          # not where it already is
        r = self.click(forms, "move")           # nothing chosen
        self.assertEqual(r.status, 400)
        self.assertIn(b"choose the folder to move the message to", r.body)
        self.assertIn(mid, message_ids(m, src))
        r = self.click(forms, "move", to=dst)
        self.assertEqual(r.status, 303)
        self.assertIn("/mailbox?f=", r.header("location"))
        self.assertEqual(message_ids(m, dst), {mid})
        self.assertNotIn(mid, message_ids(m, src))
        self.assertEqual(len(message_ids(m, src)), len(uids) - 1)
        m.logout()

    def neighbours(self, box, uid, extra=""):
        status, body = self.c.json(
            f"/message?f={urllib.parse.quote(box)}&uid={uid}{extra}")
        self.assertEqual(status, 200, body)
        return body.get("prev_uid"), body.get("next_uid")

    @staticmethod
    def neighbours_in(order, uid):
        i = order.index(uid)
        return (order[i - 1] if i > 0 else None,
                order[i + 1] if i + 1 < len(order) else None)

    def test_previous_next_hold_on_the_sessions_other_connection(self):
        m = imap()
        box, big_box = name("WPageTwo"), name("WPageBig")
        reset_folder(m, box, 3)
        reset_folder(m, big_box, 0)
        # a message big enough that a download of it, never read, keeps
        # the connection that serves it busy
        m.append(q(big_box), None, None,
                 b"From: a@example.org\r\nSubject: big\r\n\r\n" +
                 (b"x" * 998 + b"\r\n") * 24000)
        m.select(q(big_box))
        big_uid = int(m.uid("SEARCH", None, "ALL")[1][0].split()[-1])
        m.logout()
        status, page = self.c.json(f"/mailbox?f={urllib.parse.quote(box)}")
        order = [x["uid"] for x in page["messages"]]
        held = socket.create_connection(("127.0.0.1", self.c.port),
                                        timeout=10)
        try:
            path = (self.c.base.rstrip("/") +
                    f"/source?f={urllib.parse.quote(big_box)}&uid={big_uid}")
            cookie = self.c._headers()["Cookie"]
            held.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n"
                         f"Cookie: {cookie}\r\n\r\n".encode())
            self.assertIn(b" 200 ", held.recv(64))  # begun, then not read
            # the message page comes over the session's other connection,
            # which has listed nothing: the list is the session's
            self.assertEqual(self.neighbours(box, order[1]),
                             (order[0], order[2]))
        finally:
            held.close()

    def test_move_to_offers_a_folder_made_over_the_other_connection(self):
        # The pool hands out the connection released last. P lists the
        # names (the message page); while a download holds P, a folder is
        # made over a second connection Q; P, free again, serves the next
        # page, and its names must not be the ones from before.
        m = imap()
        box, big_box = name("WPageTargets"), name("WPageTargetsBig")
        made = name("WMadeElsewhere")
        uids = reset_folder(m, box, 1)
        reset_folder(m, big_box, 0)
        m.append(q(big_box), None, None,
                 b"From: a@example.org\r\nSubject: big\r\n\r\n" +
                 (b"x" * 998 + b"\r\n") * 24000)
        m.select(q(big_box))
        big_uid = int(m.uid("SEARCH", None, "ALL")[1][0].split()[-1])
        m.delete(q(made))
        c = Client()
        self.assertEqual(c.login(ENV.mail["ALICE_USER"],
                                 ENV.mail["ALICE_PASS"]).status, 303)

        def targets():
            r = c.get(f"/message?f={urllib.parse.quote(box)}&uid={uids[0]}")
            self.assertEqual(r.status, 200, r.body[:300])
            return Forms(r.body.decode()).forms[-1]["selects"]["to"]

        self.assertNotIn(made, targets())
        held = socket.create_connection(("127.0.0.1", c.port), timeout=10)
        try:
            path = (c.base.rstrip("/") +
                    f"/source?f={urllib.parse.quote(big_box)}&uid={big_uid}")
            held.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n"
                         f"Cookie: {c._headers()['Cookie']}\r\n"
                         f"Connection: close\r\n\r\n".encode())
            head = held.recv(64)
            self.assertIn(b" 200 ", head)  # begun, then not read
            r = c.post("/folder", {"op": "create", "f": made})
            self.assertEqual(r.status, 303, r.body[:300])
            while held.recv(1 << 20):  # the download ends: P is free
                pass
        finally:
            held.close()
        time.sleep(0.3)  # P back in the pool after its last byte
        self.assertIn(made, targets())
        m.delete(q(made))
        m.delete(q(big_box))
        m.logout()

    def test_previous_next_follow_the_list_and_delete_goes_on(self):
        m = imap()
        box = name("WPageNext")
        uids = reset_folder(m, box, 4)
        qbox = urllib.parse.quote(box)
        # nothing listed in this session yet: no neighbours to offer
        fresh = Client()
        fresh.login(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
        status, body = fresh.json(f"/message?f={qbox}&uid={uids[1]}")
        self.assertEqual(status, 200, body)
        self.assertNotIn("next_uid", body)
        self.assertNotIn("prev_uid", body)
        # the order the list shows, whichever it is
        status, page = self.c.json(f"/mailbox?f={qbox}")
        order = [x["uid"] for x in page["messages"]]
        self.assertEqual(len(order), 4)
        self.assertEqual(self.neighbours(box, order[0]), (None, order[1]))
        self.assertEqual(self.neighbours(box, order[1]), (order[0], order[2]))
        self.assertEqual(self.neighbours(box, order[3]), (order[2], None))
        # another sort: the neighbours of the list now shown. Subjects
        # "... 0" to "... 3" went in in UID order; of the two subject
        # sorts, the one that differs from the list above
        sort, want = "subject-desc", sorted(order, reverse=True)
        if want == order:
            sort, want = "subject-asc", sorted(order)
        status, page = self.c.json(f"/mailbox?f={qbox}&sort={sort}")
        self.assertEqual([x["uid"] for x in page["messages"]], want)
        self.assertEqual(self.neighbours(box, want[1]), (want[0], want[2]))
        self.assertNotEqual(self.neighbours(box, want[1]),
                            self.neighbours_in(order, want[1]))
        self.c.json(f"/mailbox?f={qbox}")  # back to newest first
        # the page links them, plain text kept, remote content not
        r = self.c.get(f"/message?f={qbox}&uid={order[1]}&plain=1&remote=1")
        self.assertIn(f'id="next-msg" rel="next" href="/message?f={qbox}'
                      f'&amp;uid={order[2]}&amp;plain=1"'.encode(), r.body)
        self.assertIn(f'id="prev-msg" rel="prev" href="/message?f={qbox}'
                      f'&amp;uid={order[0]}&amp;plain=1"'.encode(), r.body)
        # Delete goes on to the next message, which then skips the gone one
        forms = self.page(box, order[1])
        r = self.click(forms, "delete")
        self.assertEqual(r.status, 303)
        self.assertTrue(r.header("location").endswith(
            f"/message?f={qbox}&uid={order[2]}"), r.header("location"))
        self.assertEqual(self.neighbours(box, order[2]), (order[0], order[3]))
        # the last one has no next: Delete goes on to the previous
        forms = self.page(box, order[3])
        r = self.click(forms, "delete")
        self.assertEqual(r.status, 303)
        self.assertTrue(r.header("location").endswith(
            f"/message?f={qbox}&uid={order[2]}"), r.header("location"))
        self.assertEqual(len(message_ids(m, box)), 2)
        m.logout()


class Folders(WriteCase):
    def test_create_rename_subscribe_delete_with_non_ascii_names(self):
        m = imap()
        a, b = name("Projekte Ü"), name("Archiv Ä 2026")
        for n in (a, b):
            m.delete(q(n))
        r = self.folder_op("create", a)
        self.assertEqual(r.status, 303)
        self.assertIn(mutf7(a), folders(m))
        typ, data = m.lsub('""', q(a))
        self.assertTrue(data and data[0], "created folder is subscribed")
        r = self.folder_op("unsubscribe", a)
        typ, data = m.lsub('""', q(a))
        self.assertFalse(data and data[0])
        self.folder_op("subscribe", a)
        r = self.folder_op("rename", a, to=b)
        self.assertEqual(r.status, 303)
        names = folders(m)
        self.assertIn(mutf7(b), names)
        self.assertNotIn(mutf7(a), names)
        # the folder list page shows the new name
        status, body = self.c.json("/folders")
        self.assertIn(b, [f["path"] for f in body["folders"]])
        r = self.folder_op("delete", b)
        self.assertEqual(r.status, 200)  # asks first
        self.assertIn(mutf7(b), folders(m))
        r = self.folder_op("delete", b, confirm="1")
        self.assertEqual(r.status, 303)
        self.assertNotIn(mutf7(b), folders(m))
        self.folder_op("create", name("WTwice"))
        r = self.folder_op("create", name("WTwice"))  # exists already
        self.assertEqual(r.status, 400)
        self.assertIn(b"not valid", r.body)
        m.logout()

    def test_inbox_cannot_be_renamed_or_deleted(self):
        self.assertEqual(self.folder_op("rename", "INBOX", to="X").status,
                         400)
        self.assertEqual(self.folder_op("delete", "INBOX",
                                        confirm="1").status, 400)

    def test_empty_trash(self):
        m = imap()
        trash = ENV.mail.get("SEED_FOLDER_TRASH", name("Trash"))
        m.select(q(trash))
        m.append(q(trash), None, None, b"Subject: junk\r\n\r\nx\r\n")
        r = self.folder_op("empty", trash)
        self.assertEqual(r.status, 200)  # asks first
        self.assertGreater(len(message_ids(m, trash)), 0)
        r = self.folder_op("empty", trash, confirm="1")
        self.assertEqual(r.status, 303)
        self.assertEqual(message_ids(m, trash), set())
        m.logout()
