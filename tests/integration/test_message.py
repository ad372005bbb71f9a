"""test_message.py - the message view against the fixtures of tests/fixtures
(see its README.md), appended with imaplib into alice's folder "Fixtures"
together with a generated message carrying a 20 MiB attachment: /message as
HTML and JSON, /body, /part, /source; decoded headers, bodies, charsets and
filenames, the chosen alternative, cid: images, embedded messages, signed and
encrypted parts, the sanitizer and the sandboxed frame, remote content,
broken MIME, \\Seen, and streaming. INBOX is left untouched."""

import base64
import binascii
import contextlib
import datetime
import email
import email.policy
import email.utils
import hashlib
import html.parser
import http.client
import imaplib
import json
import os
import quopri
import random
import re
import ssl
import unittest
import urllib.parse
from email.message import EmailMessage

import harness
from harness import ENV, NGINX_PORT, ROOT, Client

FIXTURE_DIR = os.path.join(ROOT, "tests", "fixtures")
BIG = "big-attachment"
BIG_SIZE = 20 * 1024 * 1024
BIG_SEED = 20260301
MISSING_UID = 999999

# --------------------------------------------------------------------------
# What a user must see, per fixture. "attachments": (section, filename or
# None when the part has none, type) that must be listed; "not_listed":
# sections that are the shown body and must not be listed.

A = "Alice Example", "alice@postern.test"
EXPECT = {
    "alternative": dict(
        subject="Fixture alternative: text and HTML",
        sender=("Carol Alt", "carol@example.org"), type="html",
        shows=["ALTHTMLMARKER"], hides=["ALTTEXTMARKER"]),
    "broken-8bit-header": dict(
        subject=re.compile(r"^Caf(é|\ufffd|\?) cr(è|\ufffd|\?)me: "
                           r"raw 8-bit header$"),
        sender=(re.compile(r"^Ren(é|\ufffd|\?) Dupr(é|\ufffd|\?)$"),
                "rene@example.org"),
        shows=["RAW8BITMARKER the body is plain ASCII"]),
    "broken-base64": dict(
        subject="Fixture broken base64 body",
        sender=("Broken Sender", "broken@example.org"),
        shows=["BADB64MARKER: the first lines decode cleanly"],
        attachments=[("2", "garbage.bin", "application/octet-stream")]),
    "broken-boundary-mismatch": dict(
        subject="Fixture broken boundary: declared one, used another",
        sender=("Broken Sender", "broken@example.org")),
    "broken-no-boundary": dict(
        subject="Fixture broken multipart without boundary",
        sender=("Broken Sender", "broken@example.org")),
    "broken-unknown-charset": dict(
        subject="Fixture unknown charset x-nonsense",
        sender=("Broken Sender", "broken@example.org"), type="text",
        shows=["UNKNOWNCHARSETMARKER bytes follow:", "end.",
               "still here."]),
    "encoded-koi8r": dict(
        subject="Привет, мир: отчёт за март",
        sender=("Иван Петров", "ivan@example.ru"), type="text", to=[A],
        shows=["Здравствуйте! KOI8MARKER Отчёт готов."]),
    "encoded-latin1-q": dict(
        subject="Re: Réunion à Genève: ordre du jour",
        sender=("François Lefèvre", "francois@example.fr"), type="text",
        to=[A], cc=[("Renée", "renee@example.fr")],
        shows=["LATIN1MARKER Bonjour à tous, la réunion a lieu à Genève."]),
    "encoded-sjis": dict(
        subject="会議のお知らせ（第２回）",
        sender=("山田太郎", "yamada@example.jp"), type="text", to=[A],
        shows=["お疲れ様です。SJISMARKER 資料を送ります。"]),
    "encoded-utf8-b": dict(
        subject="Grüße aus Zürich — 世界 ✓",
        sender=("Jürgen Weiß", "juergen@example.de"), type="text",
        to=[A, ("Björn", "bjorn@example.se")],
        cc=[("Zoë Ölund", "zoe@example.org")],
        reply_to=[("Jürgen (Büro)", "buero@example.de")],
        shows=["UTF8BMARKER Ünïcödé body ✓"]),
    "encrypted": dict(
        subject="Fixture PGP/MIME encrypted",
        sender=("Erin Crypto", "erin@example.org"),
        attachments=[("1", None, "application/pgp-encrypted"),
                     ("2", "encrypted.asc", "application/octet-stream")]),
    "flowed": dict(
        subject="Fixture format=flowed with quotes",
        sender=("Frank Flowed", "frank@example.org"), type="text",
        shows=["wrapped by the mail client at the soft line breaks, so a "
               "viewer joins it back into one paragraph. FLOWEDMARKER",
               "also flowed and rejoined by the viewer. QUOTEDMARKER",
               "Deeper quote, level two. DEEPQUOTEMARKER",
               ">Space-stuffed line that is not a quote. STUFFEDMARKER",
               "Frank's signature line"],
        hides=["-- Frank's"]),
    "flowed-delsp": dict(
        subject="Fixture format=flowed DelSp=yes",
        sender=("Frank Flowed", "frank@example.org"), type="text",
        shows=["DelSp test: Donaudampfschifffahrt DELSPMARKER",
               "Next paragraph stays separate."],
        hides=["DELSPMARKER Next", "DELSPMARKERNext"]),
    "forwarded": dict(
        subject="Fwd: Ça marche",
        sender=("Dave Forwarder", "dave@example.org"),
        shows=["OUTERMARKER See the message below."],
        not_listed=["1"]),
    "hostile-html": dict(
        subject='Fixture hostile HTML <script>alert("HOSTILE_SUBJECT")'
                '</script>',
        sender=("Mallory <b>Evil</b>", "mallory@example.org"), type="html",
        shows=["SAFEMARKER stays visible, bold too, and a safe link."]),
    "html-only": dict(
        subject="Fixture HTML only newsletter",
        sender=("Newsletter Team", "news@example.org"), type="html",
        shows=["HTMLONLYMARKER with bold and a link.", "Café crème"],
        hides=["ignored title"]),
    "mixed-attachments": dict(
        subject="Fixture mixed with seven attachments",
        sender=("Grace Files", "grace@example.org"), type="text",
        shows=["MIXEDMARKER Seven attachments follow."],
        attachments=[("2", "report.pdf", "application/pdf"),
                     ("3", "Résumé année 2026.pdf", "application/pdf"),
                     ("4", "Übersicht Q1 €.csv", "text/csv"),
                     ("5", "Καλημέρα από την Αθήνα.txt", "text/plain"),
                     ("6", "page.html", "text/html"),
                     ("7", "drawing.svg", "image/svg+xml"),
                     ("8", "pixel.png", "image/png")],
        not_listed=["1"]),
    "plain-ascii": dict(
        subject="Fixture plain ASCII: quarterly figures",
        sender=("Bob Builder", "bob@postern.test"), type="text", to=[A],
        cc=[("", "carol@example.org")],
        shows=["PLAINMARKER The figures are at https://www.example.org/docs?"
               "a=1&b=2 as promised.",
               "Markup stays text: <b>not bold</b> & "
               "<script>alert(1)</script>"],
        not_listed=["1"]),
    "plain-latin1-qp": dict(
        subject="Fixture quoted-printable Latin-1: Crème brûlée",
        sender=("Chef Cuisine", "chef@example.fr"), type="text",
        shows=["QPMARKER Crème brûlée for the café.",
               "split by a soft line break here and continues on the next "
               "line.", "Equals sign: 1+1=2"]),
    "plain-utf8-8bit": dict(
        subject="Fixture UTF-8 8bit: Grüße aus Köln ✓",
        sender=("Ünal Öztürk", "uenal@example.de"), type="text",
        shows=["UTF8MARKER Grüße aus Köln — 日本語のテキスト ✓",
               "Emoji: 📬 and a euro sign: 12,50 €"]),
    "related-cid": dict(
        subject="Fixture related: HTML with an inline cid: logo",
        sender=("Logo Sender", "logo@example.org"), type="html",
        shows=["RELATEDMARKER logo below:"], not_listed=["1"]),
    "remote-image": dict(
        subject="Fixture remote image and tracking pixel",
        sender=("Tracker Marketing", "marketing@example.org"), type="html",
        shows=["REMOTEMARKER spring offers", "Read more at our site."]),
    "signed": dict(
        subject="Fixture PGP/MIME signed",
        sender=("Erin Crypto", "erin@example.org"), type="text",
        shows=["SIGNEDMARKER This text is signed."],
        attachments=[("2", "signature.asc", "application/pgp-signature")],
        not_listed=["1"]),
    BIG: dict(
        subject="Fixture big attachment: 20 MiB",
        sender=("Big Sender", "big@example.org"), type="text",
        shows=["BIGMARKER"],
        attachments=[("2", "big.bin", "application/octet-stream")],
        not_listed=["1"]),
}

# Must not survive the sanitizer anywhere in body.html or /body.
HOSTILE_MARKERS = [
    "HOSTILE_META", "HOSTILE_BASE", "HOSTILE_LINK", "HOSTILE_EXPRESSION",
    "HOSTILE_SCRIPT", "HOSTILE_BODYONLOAD", "HOSTILE_ONERROR",
    "HOSTILE_JSLINK", "HOSTILE_JSENTITY", "HOSTILE_JSTAB", "HOSTILE_DATA",
    "HOSTILE_IFRAME", "HOSTILE_FORM", "HOSTILE_INPUT", "HOSTILE_FORMACTION",
    "HOSTILE_SVGONLOAD", "HOSTILE_SVGSCRIPT", "HOSTILE_MATH",
    "HOSTILE_OBJECT", "HOSTILE_EMBED", "HOSTILE_INLINEEXPR",
    "HOSTILE_CSSJS", "HOSTILE_ONCLICK"]
FORBIDDEN_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed",
                  "applet", "form", "input", "button", "select", "textarea",
                  "svg", "math", "meta", "base", "link", "noscript"}
URL_ATTRS = {"href", "src", "action", "formaction", "background", "poster",
             "data", "cite", "longdesc", "xlink:href", "srcset", "lowsrc",
             "dynsrc", "ping"}


# --------------------------------------------------------------------------
# Fixtures, the IMAP side

def folder():
    return ENV.mail.get("IMAP_PREFIX", "") + "Fixtures"


def fixture_names():
    return sorted(f[:-4] for f in os.listdir(FIXTURE_DIR)
                  if f.endswith(".eml"))


def read_fixture(name):
    with open(os.path.join(FIXTURE_DIR, name + ".eml"), "rb") as f:
        return f.read()


def build_big():
    """The 20 MiB message: deterministic bytes, built with the email
    package, CRLF line endings."""
    data = random.Random(BIG_SEED).randbytes(BIG_SIZE)
    msg = EmailMessage()
    msg["From"] = "Big Sender <big@example.org>"
    msg["To"] = "Alice Example <alice@postern.test>"
    msg["Date"] = "Mon, 16 Mar 2026 12:00:00 +0000"
    msg["Subject"] = EXPECT[BIG]["subject"]
    msg["Message-ID"] = f"<{BIG}@fixture.postern.test>"
    msg["X-Postern-Fixture"] = BIG
    msg.set_content("BIGMARKER The attachment is 20 MiB of seeded "
                    "pseudo-random bytes.\n")
    msg.add_attachment(data, maintype="application",
                       subtype="octet-stream", filename="big.bin")
    msg.set_boundary("big-attachment-boundary")
    return msg.as_bytes(policy=email.policy.SMTP), data


def imap_connect():
    host = ENV.mail.get("TLS_HOSTNAME") or "localhost"
    m = imaplib.IMAP4(host, int(ENV.mail["IMAP_PORT"]))
    m.starttls(ssl.create_default_context(cafile=ENV.mail["CA_FILE"]))
    m.login(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
    return m


def imap_check(result, what):
    typ, data = result
    if typ != "OK":
        raise RuntimeError(f"IMAP {what}: {typ} {data!r}")
    return data


@contextlib.contextmanager
def in_inbox(msg):
    """msg (with an X-Postern-Test header) APPENDed to alice's INBOX for
    the block, as its UID; deleted after."""
    tag = msg["X-Postern-Test"]
    m = imap_connect()
    try:
        imap_check(m.append("INBOX", None, None,
                            msg.as_bytes(policy=email.policy.SMTP)), "APPEND")
        imap_check(m.select("INBOX"), "SELECT")
        yield imap_check(m.uid("SEARCH", "HEADER", "X-Postern-Test", tag),
                         "SEARCH")[0].split()[-1].decode()
    finally:
        found = m.uid("SEARCH", "HEADER", "X-Postern-Test", tag)[1][0].split()
        for u in found:
            m.uid("STORE", u, "+FLAGS", "(\\Deleted)")
            m.uid("EXPUNGE", u)
        m.logout()


def imap_literal(data):
    """The first literal of an imaplib FETCH answer."""
    for item in data:
        if isinstance(item, tuple):
            return item[1]
    raise AssertionError(f"no literal in {data!r}")


def imap_fetch(uid, item):
    """One literal item (BODY.PEEK[...]) of one message, from a fresh
    read-only connection."""
    m = imap_connect()
    try:
        imap_check(m.select(folder(), readonly=True), "SELECT")
        return imap_literal(imap_check(m.uid("FETCH", str(uid), f"({item})"),
                                       "FETCH"))
    finally:
        m.logout()


def imap_flags(m, uid):
    data = imap_check(m.uid("FETCH", str(uid), "(FLAGS)"), "FETCH FLAGS")
    line = b" ".join(d if isinstance(d, bytes) else d[0] for d in data
                     if d is not None)
    match = re.search(rb"FLAGS \(([^)]*)\)", line)
    assert match, line
    return set(match.group(1).decode().split())


class State:
    loaded = False
    uid = {}        # fixture name -> UID in Fixtures
    raw = {}        # fixture name -> the bytes appended
    flags = {}      # fixture name -> flags right after APPEND
    order = []      # names in APPEND order
    big_data = b""
    hwm_start = None
    _client = None


def load_fixtures():
    """Once per run: empties (or creates) Fixtures and APPENDs every fixture
    in sorted order, then the big message; maps names to UIDs through the
    X-Postern-Fixture header."""
    if State.loaded:
        return
    names = fixture_names()
    for n in names:
        State.raw[n] = read_fixture(n)
    State.raw[BIG], State.big_data = build_big()
    State.order = names + [BIG]
    m = imap_connect()
    try:
        listed = imap_check(m.list('""', folder()), "LIST")
        if not [x for x in listed if x]:
            imap_check(m.create(folder()), "CREATE")
        imap_check(m.select(folder()), "SELECT")
        old = imap_check(m.uid("SEARCH", "ALL"), "SEARCH")[0].split()
        if old:
            imap_check(m.uid("STORE", b",".join(old).decode(),
                             "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
            imap_check(m.expunge(), "EXPUNGE")
        for n in State.order:
            imap_check(m.append(folder(), None, None, State.raw[n]),
                       f"APPEND {n}")
        imap_check(m.select(folder()), "SELECT")
        data = imap_check(m.uid(
            "FETCH", "1:*",
            "(UID FLAGS BODY.PEEK[HEADER.FIELDS (X-Postern-Fixture)])"),
            "FETCH")
        for item in data:
            if not isinstance(item, tuple):
                continue
            uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
            flags = re.search(rb"FLAGS \(([^)]*)\)", item[0])
            name = email.message_from_bytes(item[1])["X-Postern-Fixture"]
            State.uid[name.strip()] = uid
            State.flags[name.strip()] = set(
                flags.group(1).decode().split()) if flags else None
    finally:
        m.logout()
    State.hwm_start = vm_hwm_kb()
    State.loaded = True


def client():
    """One logged-in session for the whole module (login throttling)."""
    if State._client is None:
        c = Client()
        r = c.login(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
        assert r.status == 303, (r.status, r.body[:300])
        State._client = c
    return State._client


def vm_hwm_kb(pid=None):
    """Peak resident memory of postern serve, in kB."""
    pid = pid or ENV.serve.proc.pid
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


# --------------------------------------------------------------------------
# MIME on our side: IMAP section numbers and decoded bytes

def imap_sections(msg, prefix=""):
    """section -> email.message.Message, numbered as IMAP numbers them."""
    out = {}
    if not msg.is_multipart():
        out[prefix + "1"] = msg
        return out
    for i, sub in enumerate(msg.get_payload(), 1):
        sec = f"{prefix}{i}"
        out[sec] = sub
        if sub.get_content_type() == "message/rfc822":
            inner = sub.get_payload(0)
            if inner.is_multipart():
                out.update(imap_sections(inner, sec + "."))
            else:
                out[sec + ".1"] = inner
        elif sub.is_multipart():
            out.update(imap_sections(sub, sec + "."))
    return out


def part_bytes(name, section):
    """The decoded bytes of one section, by Python's email package."""
    if name == BIG and section == "2":
        return State.big_data
    msg = email.message_from_bytes(State.raw[name])
    return imap_sections(msg)[section].get_payload(decode=True)


def decode_cte(mime_header, body):
    cte = (email.message_from_bytes(mime_header)
           .get("Content-Transfer-Encoding", "7bit").strip().lower())
    if cte == "base64":
        return binascii.a2b_base64(body)
    if cte == "quoted-printable":
        return quopri.decodestring(body)
    return body


# --------------------------------------------------------------------------
# HTTP side helpers

def q(value):
    return urllib.parse.quote(str(value), safe="")


def route(path, name, **opts):
    uid = opts.pop("uid", None) or State.uid[name]
    s = f"/{path}?f={q(folder())}&uid={q(uid)}"
    for k, v in opts.items():
        s += f"&{k}={q(v)}"
    return s


def local(href):
    """A link of postern's pages as a path to request: same origin only."""
    u = urllib.parse.urlsplit(href)
    assert not u.scheme and not u.netloc, f"not a local link: {href!r}"
    path = u.path if u.path.startswith("/") else "/" + u.path
    return path + ("?" + u.query if u.query else "")


def query_of(href):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(href).query))


def check_json_strings(value, where="$"):
    """Every string encodes as UTF-8 (no lone surrogates from \\ud800)."""
    if isinstance(value, str):
        value.encode("utf-8")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_json_strings(v, f"{where}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            check_json_strings(k, where)
            check_json_strings(v, f"{where}.{k}")


def get_json(path):
    r = client().get(path, json=True)
    assert r.status == 200, (path, r.status, r.body[:300])
    ctype = r.header("content-type") or ""
    assert ctype.startswith("application/json"), (path, ctype)
    text = r.body.decode("utf-8")          # strict: never invalid UTF-8
    body = json.loads(text)
    check_json_strings(body)
    return body


def message_json(name, **opts):
    return get_json(route("message", name, **opts))


def stream(c, path, port=None):
    """GET with the session cookie, read in 64 KiB chunks; returns status,
    headers, SHA-256 hex of the body and its length."""
    conn = http.client.HTTPConnection("127.0.0.1", port or c.port,
                                      timeout=120)
    try:
        cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
        conn.request("GET", path, headers={"Cookie": cookie})
        r = conn.getresponse()
        headers = {k.lower(): v for k, v in r.getheaders()}
        h, n = hashlib.sha256(), 0
        while True:
            chunk = r.read(1 << 16)
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
        return r.status, headers, h.hexdigest(), n
    finally:
        conn.close()


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
        "meta", "source", "track", "wbr", "param", "keygen"}
# elements that break the line where they start or end, as a browser shows
BLOCK = {"address", "article", "aside", "blockquote", "br", "dd", "div",
         "dl", "dt", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header",
         "hr", "li", "ol", "p", "pre", "section", "table", "td", "th", "tr",
         "ul"}


class Doc(html.parser.HTMLParser):
    """An HTML document or fragment: its tags with attributes, its text
    (character references decoded, a line break where a block element or
    <br> breaks the line) and, per text chunk, the open elements around
    it."""

    def __init__(self, markup):
        super().__init__(convert_charrefs=True)
        self.tags = []      # (tag, {attr: value})
        self.chunks = []    # (text, ((tag, attrs), ...))
        self.stack = []
        self.feed(markup)
        self.close()
        self.text = "".join(t for t, _ in self.chunks)

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        self.tags.append((tag, a))
        if tag in BLOCK:
            self.chunks.append(("\n", tuple(self.stack)))
        if tag not in VOID:
            self.stack.append((tag, a))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, {k: (v if v is not None else "")
                                for k, v in attrs}))
        if tag in BLOCK:
            self.chunks.append(("\n", tuple(self.stack)))

    def handle_endtag(self, tag):
        if tag in BLOCK:
            self.chunks.append(("\n", tuple(self.stack)))
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        self.chunks.append((data, tuple(self.stack)))

    def all(self, tag):
        return [a for t, a in self.tags if t == tag]

    def links(self):
        return [a["href"] for a in self.all("a") if "href" in a]

    def ancestors_of(self, marker):
        found = [ctx for text, ctx in self.chunks if marker in text]
        assert found, f"{marker!r} not in the text"
        return found[0]


def is_quote(ancestors):
    return any(t == "blockquote" or "quot" in a.get("class", "").lower()
               for t, a in ancestors)


DATA_IMAGE = re.compile(r"data:image/(png|gif|jpeg|webp);base64,"
                        r"[A-Za-z0-9+/]+={0,2}")


def url_ok(value):
    """Only http(s), mailto or postern-relative URLs may remain, and raster
    images as base64 data: URIs (small cid: images in the frame)."""
    if DATA_IMAGE.fullmatch(value):
        return True
    v = "".join(ch for ch in value if ord(ch) > 0x20).lower()
    for candidate in v.split(","):            # srcset lists
        scheme = urllib.parse.urlsplit(candidate).scheme
        if scheme not in ("", "http", "https", "mailto"):
            return False
        if scheme == "" and ":" in candidate.split("/")[0].split("?")[0]:
            return False                      # "javascript&colon;" leftovers
    return True


def csp_directives(value):
    d = {}
    for part in (value or "").split(";"):
        toks = part.split()
        if toks:
            d.setdefault(toks[0].lower(), [t.lower() for t in toks[1:]])
    return d


def sec_of(attachment):
    return str(attachment["part"])


def content_disposition_filename(value):
    """The RFC 6266 filename* (UTF-8'') of a Content-Disposition value,
    else its plain filename."""
    m = re.search(r"filename\*\s*=\s*(?i:utf-8)'[^']*'([^;\s]+)", value)
    if m:
        return urllib.parse.unquote(m.group(1), encoding="utf-8",
                                    errors="strict")
    m = re.search(r'filename\s*=\s*"((?:[^"\\]|\\.)*)"', value)
    return m.group(1) if m else None


class MessageCase(unittest.TestCase):
    """Base of every class here: fixtures loaded once, one session."""

    maxDiff = 2000

    @classmethod
    def setUpClass(cls):
        load_fixtures()

    def uid(self, name):
        return State.uid[name]

    def text_of(self, body):
        return Doc(body["html"]).text

    def assertAddress(self, got, expect, what):
        name, addr = expect
        self.assertIsInstance(got, dict, what)
        self.assertEqual(got.get("email"), addr, what)
        if isinstance(name, re.Pattern):
            self.assertRegex(got.get("name") or "", name, what)
        else:
            self.assertEqual(got.get("name") or "", name, what)

    def assertAddresses(self, got, expect, what):
        self.assertIsInstance(got, list, what)
        self.assertEqual(len(got), len(expect), (what, got))
        for g, e in zip(got, expect):
            self.assertAddress(g, e, what)

    def assertSubject(self, got, expect):
        if isinstance(expect, re.Pattern):
            self.assertRegex(got, expect)
        else:
            self.assertEqual(got, expect)

    def assertSafeHtml(self, markup, what, document=False):
        """Structural safety of sanitized HTML; document=True for the /body
        document, which may carry postern's own meta charset/viewport and
        a same-origin stylesheet."""
        doc = Doc(markup)
        for tag, attrs in doc.tags:
            if document and tag == "meta":
                self.assertNotIn(attrs.get("http-equiv", "").lower(),
                                 ("refresh", "set-cookie"), (what, attrs))
                self.assertNotIn("url", attrs.get("content", "").lower(),
                                 (what, attrs))
                continue
            if document and tag == "link":
                href = attrs.get("href", "")
                self.assertFalse(urllib.parse.urlsplit(href).netloc,
                                 (what, attrs))
                self.assertTrue(url_ok(href), (what, attrs))
                continue
            self.assertNotIn(tag, FORBIDDEN_TAGS, (what, tag, attrs))
            for k, v in attrs.items():
                self.assertFalse(k.startswith("on"), (what, tag, k, v))
                if k in URL_ATTRS:
                    self.assertTrue(url_ok(v), (what, tag, k, v))
                    if tag == "img" and k == "src":
                        self.assertFalse(v.strip().lower().startswith("cid:"),
                                         (what, v))
        low = re.sub(r"[\s\x00-\x20]+", "", markup.lower())
        for bad in ("javascript:", "vbscript:", "expression(",
                    "-moz-binding", "behavior:"):
            self.assertNotIn(bad, low, what)

    def assertBodyCsp(self, r, what):
        csp = r.header("content-security-policy")
        self.assertTrue(csp, f"{what}: no Content-Security-Policy")
        d = csp_directives(csp)
        if "script-src" in d:
            self.assertEqual(d["script-src"], ["'none'"], (what, csp))
        else:
            self.assertEqual(d.get("default-src"), ["'none'"], (what, csp))
        for k in ("script-src-elem", "script-src-attr"):
            if k in d:
                self.assertEqual(d[k], ["'none'"], (what, csp))
        for k, v in d.items():
            if k in ("default-src", "script-src", "script-src-elem",
                     "script-src-attr"):
                self.assertNotIn("'unsafe-inline'", v, (what, csp))
                self.assertNotIn("'unsafe-eval'", v, (what, csp))
        # the message page frames /body: it must let itself be framed there
        if "frame-ancestors" in d:
            self.assertIn("'self'", d["frame-ancestors"], (what, csp))
        xfo = (r.header("x-frame-options") or "").lower()
        self.assertNotEqual(xfo, "deny", what)

    def get_body(self, name, **opts):
        path = route("body", name, **opts)
        r = client().get(path)
        self.assertEqual(r.status, 200, (path, r.body[:300]))
        self.assertTrue((r.header("content-type") or "").startswith(
            "text/html"), r.header("content-type"))
        self.assertBodyCsp(r, path)
        self.assertEqual(r.header("x-content-type-options"), "nosniff")
        return r, r.body.decode("utf-8")

    def get_page(self, name, **opts):
        path = route("message", name, **opts)
        r = client().get(path)
        self.assertEqual(r.status, 200, (path, r.body[:300]))
        self.assertTrue((r.header("content-type") or "").startswith(
            "text/html"), r.header("content-type"))
        return Doc(r.body.decode("utf-8")), r

    def body_frame(self, doc):
        """The frame of the message's own body (an embedded message may
        have a frame of its own, with a part= in its URL); every frame on
        the page is sandboxed without scripts."""
        for frame in doc.all("iframe"):
            self.assertIn("sandbox", frame, frame)
            self.assertNotIn("allow-scripts",
                             frame["sandbox"].lower().split(), frame)
        frames = [a for a in doc.all("iframe")
                  if urllib.parse.urlsplit(a.get("src", "")).path
                  .rstrip("/").endswith("body")
                  and "part" not in query_of(a["src"])]
        self.assertEqual(len(frames), 1, doc.all("iframe"))
        return frames[0]

    def download(self, name, att):
        """GETs an attachment through its href; checks it is the part it
        says and returns the response."""
        href = att.get("href")
        self.assertTrue(href, att)
        qs = query_of(href)
        self.assertEqual(qs.get("part"), sec_of(att), href)
        self.assertEqual(qs.get("uid"), str(self.uid(name)), href)
        self.assertEqual(qs.get("f"), folder(), href)
        self.assertTrue(urllib.parse.urlsplit(href).path.endswith("part"),
                        href)
        r = client().get(local(href))
        self.assertEqual(r.status, 200, (href, r.body[:200]))
        self.assertEqual(r.header("x-content-type-options"), "nosniff", href)
        return r


# --------------------------------------------------------------------------
# The fixtures themselves and what the IMAP server holds (need no postern)

class FixtureFiles(unittest.TestCase):
    def test_every_fixture_is_crlf_named_and_expected(self):
        names = fixture_names()
        self.assertGreaterEqual(len(names), 23)
        self.assertEqual(set(names) | {BIG}, set(EXPECT))
        for n in names:
            raw = read_fixture(n)
            self.assertNotIn(b"\n", raw.replace(b"\r\n", b""), n)
            self.assertTrue(raw.endswith(b"\r\n"), n)
            self.assertIn(f"\r\nX-Postern-Fixture: {n}\r\n".encode(), raw, n)
            try:   # raw UTF-8 in headers (plain-utf8-8bit)
                msg = email.message_from_string(raw.decode("utf-8"),
                                                policy=email.policy.default)
            except UnicodeDecodeError:
                msg = email.message_from_bytes(raw,
                                               policy=email.policy.default)
            self.assertEqual(msg["X-Postern-Fixture"], n)
            if n != "broken-8bit-header":
                self.assertEqual(str(msg["Subject"]), EXPECT[n]["subject"],
                                 n)
                name, addr = EXPECT[n]["sender"]
                self.assertEqual(msg["From"].addresses[0].display_name, name)
                self.assertEqual(msg["From"].addresses[0].addr_spec, addr)
            self.assertIsNotNone(email.utils.parsedate_to_datetime(
                msg["Date"]), n)

    def test_expected_sections_hold_the_expected_parts(self):
        for n, exp in EXPECT.items():
            if n == BIG:
                continue
            msg = email.message_from_bytes(read_fixture(n),
                                           policy=email.policy.default)
            secs = imap_sections(msg)
            for sec, filename, ctype in exp.get("attachments", []):
                self.assertIn(sec, secs, n)
                self.assertEqual(secs[sec].get_content_type(), ctype, n)
                self.assertEqual(secs[sec].get_filename(), filename, n)

    def test_the_big_message_is_deterministic_and_20_mib(self):
        raw1, data1 = build_big()
        raw2, _ = build_big()
        self.assertEqual(raw1, raw2)
        self.assertEqual(len(data1), BIG_SIZE)
        msg = email.message_from_bytes(raw1)
        att = imap_sections(msg)["2"]
        self.assertEqual(att.get_filename(), "big.bin")
        self.assertEqual(att["Content-Transfer-Encoding"], "base64")
        self.assertEqual(att.get_payload(decode=True), data1)


class ImapSide(MessageCase):
    def test_fixtures_folder_holds_each_fixture_once_in_sorted_order(self):
        self.assertEqual(sorted(State.uid), sorted(State.order))
        uids = [State.uid[n] for n in State.order]
        self.assertEqual(uids, sorted(uids))
        self.assertEqual(len(set(uids)), len(uids))

    def test_fixtures_are_appended_unseen(self):
        for n in State.order:
            self.assertIsNotNone(State.flags[n], n)
            self.assertNotIn(r"\Seen", State.flags[n], n)

    def test_imap_holds_each_fixture_byte_for_byte(self):
        for n in fixture_names():
            self.assertEqual(imap_fetch(State.uid[n], "BODY.PEEK[]"),
                             State.raw[n], n)

    def test_imap_sections_match_ours(self):
        for n in fixture_names():
            wanted = [s for s, _, _ in EXPECT[n].get("attachments", [])]
            if n == "forwarded":
                wanted += ["1", "2.1.1", "2.1.2", "2.2"]
            if n in ("related-cid", "alternative"):
                wanted += ["1", "2"]
            for sec in wanted:
                mime = imap_fetch(State.uid[n], f"BODY.PEEK[{sec}.MIME]")
                body = imap_fetch(State.uid[n], f"BODY.PEEK[{sec}]")
                ours = imap_sections(email.message_from_bytes(State.raw[n]))
                self.assertEqual(email.message_from_bytes(mime)
                                 .get_content_type(),
                                 ours[sec].get_content_type(), (n, sec))
                if n != "broken-base64":
                    self.assertEqual(decode_cte(mime, body),
                                     part_bytes(n, sec), (n, sec))

    def test_imap_holds_the_big_message(self):
        raw = imap_fetch(State.uid[BIG], "BODY.PEEK[]")
        self.assertEqual(hashlib.sha256(raw).digest(),
                         hashlib.sha256(State.raw[BIG]).digest())

    def test_inbox_is_not_touched(self):
        m = imap_connect()
        try:
            imap_check(m.select("INBOX", readonly=True), "SELECT")
            data = imap_check(m.uid("SEARCH", "HEADER", "X-Postern-Fixture",
                                    '""'), "SEARCH")
            self.assertEqual(data[0].split(), [])
        finally:
            m.logout()


# --------------------------------------------------------------------------
# Every fixture: the same checks (generated below, one TAP line each)

class EachFixture(MessageCase):
    def check_json(self, name):
        exp = EXPECT[name]
        body = message_json(name)
        self.assertEqual(body["folder"], folder())
        self.assertEqual(int(body["uid"]), self.uid(name))
        self.assertSubject(body["subject"], exp["subject"])
        self.assertAddress(body["from"], exp["sender"], "from")
        for key in ("to", "cc", "reply_to"):
            self.assertIsInstance(body[key], list, key)
            if key in exp:
                self.assertAddresses(body[key], exp[key], key)
        # RFC 3339, the same instant as the Date header
        raw_date = email.message_from_bytes(State.raw[name])["Date"]
        self.assertRegex(body["date"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"
                                       r"(\.\d+)?(Z|[+-]\d\d:\d\d)$")
        self.assertEqual(datetime.datetime.fromisoformat(body["date"]),
                         email.utils.parsedate_to_datetime(raw_date))
        # for people: the day not padded (no figure space before "4 Dec")
        self.assertRegex(body["date_display"],
                         r"^[A-Z][a-z]{2} [1-9]\d? [A-Z][a-z]{2} \d{4} "
                         r"\d\d:\d\d$")
        self.assertIsInstance(body["seen"], bool)
        self.assertIsInstance(body["flagged"], bool)
        self.assertIn(body["body"]["type"], ("html", "text"))
        if "type" in exp:
            self.assertEqual(body["body"]["type"], exp["type"])
        self.assertIsInstance(body["body"]["html"], str)
        self.assertIsInstance(body["remote_content_blocked"], bool)
        self.assertEqual(query_of(body["source_href"]).get("uid"),
                         str(self.uid(name)))
        self.assertTrue(urllib.parse.urlsplit(body["source_href"]).path
                        .endswith("source"), body["source_href"])
        text = self.text_of(body["body"])
        for marker in exp.get("shows", []):
            self.assertIn(marker, text, name)
        for marker in exp.get("hides", []):
            self.assertNotIn(marker, text, name)
        self.assertSafeHtml(body["body"]["html"], f"{name} body.html")
        listed = {sec_of(a): a for a in body["attachments"]}
        for a in body["attachments"]:
            for key in ("part", "filename", "type", "size", "href"):
                self.assertIn(key, a, a)
            self.assertIsInstance(a["size"], int, a)
            self.assertGreater(a["size"], 0, a)
        for sec, filename, ctype in exp.get("attachments", []):
            self.assertIn(sec, listed, (name, list(listed)))
            if filename is not None:
                self.assertEqual(listed[sec]["filename"], filename)
            self.assertEqual(listed[sec]["type"].split(";")[0].strip()
                             .lower(), ctype)
        for sec in exp.get("not_listed", []):
            self.assertNotIn(sec, listed, name)

    def check_page(self, name):
        exp = EXPECT[name]
        doc, r = self.get_page(name)
        j = message_json(name)
        # the decoded headers, as text (so escaped in the markup)
        self.assertIn(j["subject"], doc.text)
        self.assertSubject(j["subject"], exp["subject"])
        sender_name, sender_addr = exp["sender"]
        self.assertIn(sender_addr, doc.text)
        if isinstance(sender_name, str) and sender_name:
            self.assertIn(sender_name, doc.text)
        for key in ("to", "cc"):
            for who, addr in exp.get(key, []):
                self.assertIn(addr, doc.text, key)
                if who:
                    self.assertIn(who, doc.text, key)
        # the body in a sandboxed frame without scripts
        frame = self.body_frame(doc)
        qs = query_of(frame["src"])
        self.assertEqual(qs.get("f"), folder())
        self.assertEqual(qs.get("uid"), str(self.uid(name)))
        # links: source, all headers, each attachment
        links = doc.links()
        self.assertTrue(any(urllib.parse.urlsplit(h).path.endswith("source")
                            and query_of(h).get("uid") == str(self.uid(name))
                            for h in links), links)
        self.assertTrue(any(query_of(h).get("headers") == "all"
                            for h in links), links)
        parts = {query_of(h).get("part") for h in links
                 if urllib.parse.urlsplit(h).path.endswith("part")}
        for a in j["attachments"]:
            self.assertIn(sec_of(a), parts, a)
            if a.get("filename"):
                self.assertIn(a["filename"], doc.text)
        # nothing of a hostile subject or name became markup
        for script in doc.all("script"):
            self.assertNotIn("HOSTILE", json.dumps(script))
        for text, ctx in doc.chunks:
            if any(t == "script" for t, _ in ctx):
                self.assertNotIn("HOSTILE", text)
        for marker in HOSTILE_MARKERS:
            self.assertNotIn(marker, doc.text + json.dumps(doc.tags))

    def check_body(self, name):
        exp = EXPECT[name]
        r, text = self.get_body(name)
        self.assertSafeHtml(text, f"{name} /body", document=True)
        doc = Doc(text)
        for marker in exp.get("shows", []):
            self.assertIn(marker, doc.text, name)
        for marker in exp.get("hides", []):
            self.assertNotIn(marker, doc.text, name)

    def check_source(self, name):
        path = route("source", name)
        r = client().get(path)
        self.assertEqual(r.status, 200, (path, r.body[:200]))
        self.assertTrue((r.header("content-type") or "").startswith(
            "text/plain"), r.header("content-type"))
        self.assertEqual(r.header("x-content-type-options"), "nosniff")
        self.assertEqual(r.body, imap_fetch(self.uid(name), "BODY.PEEK[]"))
        self.assertEqual(r.body, State.raw[name])


def _make(kind, name):
    def test(self):
        getattr(self, "check_" + kind)(name)
    test.__doc__ = f"{kind} of {name}"
    return test


for _name in list(EXPECT):
    for _kind in ("json", "page", "body", "source"):
        if _kind == "source" and _name == BIG:
            continue   # streamed in BigAttachment
        setattr(EachFixture,
                f"test_{_kind}_{_name.replace('-', '_')}",
                _make(_kind, _name))


# --------------------------------------------------------------------------
# What a user must see, fixture by fixture

class PlainText(MessageCase):
    def test_plain_ascii_escapes_markup_and_links_the_url(self):
        body = message_json("plain-ascii")["body"]
        self.assertEqual(body["type"], "text")
        doc = Doc(body["html"])
        self.assertIn("https://www.example.org/docs?a=1&b=2", doc.links())
        self.assertEqual(doc.all("b"), [])
        self.assertEqual(doc.all("script"), [])
        self.assertIn("<b>not bold</b> & <script>alert(1)</script>",
                      doc.text)

    def test_latin1_quoted_printable_is_decoded_and_joined(self):
        text = self.text_of(message_json("plain-latin1-qp")["body"])
        self.assertIn("QPMARKER Crème brûlée for the café.", text)
        self.assertIn("and continues on the next line.", text)
        self.assertNotIn("=E8", text)
        self.assertNotIn("contin=", text)

    def test_utf8_8bit_body_and_raw_utf8_headers(self):
        j = message_json("plain-utf8-8bit")
        self.assertEqual(j["subject"], "Fixture UTF-8 8bit: Grüße aus Köln ✓")
        self.assertEqual(j["from"]["name"], "Ünal Öztürk")
        text = self.text_of(j["body"])
        self.assertIn("日本語のテキスト ✓", text)
        self.assertIn("📬", text)

    def test_flowed_paragraphs_are_joined_and_quotes_marked(self):
        doc = Doc(message_json("flowed")["body"]["html"])
        self.assertIn("wrapped by the mail client at the soft line breaks, "
                      "so a viewer joins it back into one paragraph.",
                      doc.text)
        self.assertIn("also flowed and rejoined by the viewer.", doc.text)
        self.assertTrue(is_quote(doc.ancestors_of("QUOTEDMARKER")))
        self.assertTrue(is_quote(doc.ancestors_of("DEEPQUOTEMARKER")))
        self.assertFalse(is_quote(doc.ancestors_of("STUFFEDMARKER")))
        self.assertFalse(is_quote(doc.ancestors_of("FLOWEDMARKER")))
        self.assertNotIn("-- Frank's", doc.text)  # "-- " is not flowed

    def test_flowed_delsp_joins_without_the_space(self):
        text = self.text_of(message_json("flowed-delsp")["body"])
        self.assertIn("Donaudampfschifffahrt DELSPMARKER", text)
        self.assertNotIn("Donau dampf", text)
        self.assertNotIn("DELSPMARKER Next", text)


class FrameHeight(MessageCase):
    """The page's frame is as tall as a short plain-text body needs (its
    rows at a phone's 37 columns), the default 70vh for HTML or more than
    14 rows; the frame scrolls if the guess is short."""

    def frame_classes(self, name, **opts):
        doc, _ = self.get_page(name, **opts)
        return self.body_frame(doc)["class"].split()

    def test_two_lines_get_a_short_frame(self):
        self.assertEqual(self.frame_classes("plain-utf8-8bit"),
                         ["body", "short"])

    def test_nine_rows_get_a_medium_frame(self):
        # two lines wrap (80 and 62 characters): 1+1+3+2+1+1 rows
        self.assertEqual(self.frame_classes("plain-ascii"), ["body", "medium"])

    def test_html_and_longer_text_keep_the_default(self):
        self.assertEqual(self.frame_classes("html-only"), ["body"])
        self.assertEqual(self.frame_classes("flowed"), ["body"])
        self.assertEqual(self.frame_classes("forwarded"), ["body"])
        self.assertEqual(self.frame_classes("alternative"), ["body"])
        self.assertIn("short", self.frame_classes("alternative", plain=1))

    def test_the_json_has_no_frame_height(self):
        self.assertNotIn("frame_fit", message_json("plain-ascii"))


class Charsets(MessageCase):
    def test_utf8_b_words_subject_names_and_reply_to(self):
        j = message_json("encoded-utf8-b")
        self.assertEqual(j["subject"], "Grüße aus Zürich — 世界 ✓")
        self.assertAddress(j["from"], ("Jürgen Weiß", "juergen@example.de"),
                           "from")
        self.assertAddresses(j["to"], [A, ("Björn", "bjorn@example.se")],
                             "to")
        self.assertAddresses(j["cc"], [("Zoë Ölund", "zoe@example.org")],
                             "cc")
        self.assertAddresses(j["reply_to"],
                             [("Jürgen (Büro)", "buero@example.de")],
                             "reply_to")
        self.assertIn("UTF8BMARKER Ünïcödé body ✓", self.text_of(j["body"]))

    def test_latin1_q_words_between_plain_words(self):
        j = message_json("encoded-latin1-q")
        self.assertEqual(j["subject"], "Re: Réunion à Genève: ordre du jour")
        self.assertEqual(j["from"]["name"], "François Lefèvre")
        self.assertEqual(j["cc"][0]["name"], "Renée")
        self.assertIn("la réunion a lieu à Genève.", self.text_of(j["body"]))

    def test_koi8r(self):
        j = message_json("encoded-koi8r")
        self.assertEqual(j["subject"], "Привет, мир: отчёт за март")
        self.assertEqual(j["from"]["name"], "Иван Петров")
        self.assertIn("Здравствуйте! KOI8MARKER Отчёт готов.",
                      self.text_of(j["body"]))

    def test_shift_jis(self):
        j = message_json("encoded-sjis")
        self.assertEqual(j["subject"], "会議のお知らせ（第２回）")
        self.assertEqual(j["from"]["name"], "山田太郎")
        self.assertIn("お疲れ様です。SJISMARKER 資料を送ります。",
                      self.text_of(j["body"]))

    def test_no_raw_encoded_words_on_the_page(self):
        for n in ("encoded-utf8-b", "encoded-latin1-q", "encoded-koi8r",
                  "encoded-sjis", "forwarded", "mixed-attachments"):
            doc, r = self.get_page(n)
            self.assertNotIn("=?", doc.text, n)

    def test_all_headers_are_listed_decoded(self):
        j = message_json("encoded-utf8-b", headers="all")
        headers = j["headers"]
        self.assertIsInstance(headers, list)
        byname = {}
        for h in headers:
            byname.setdefault(h["name"].lower(), []).append(h["value"])
        self.assertEqual(byname["x-postern-fixture"], ["encoded-utf8-b"])
        self.assertEqual(byname["subject"], ["Grüße aus Zürich — 世界 ✓"])
        self.assertIn("Jürgen Weiß", byname["from"][0])
        self.assertIn("juergen@example.de", byname["from"][0])
        self.assertIn("message-id", byname)
        raw_names = {line.split(b":", 1)[0].decode().lower()
                     for line in State.raw["encoded-utf8-b"]
                     .split(b"\r\n\r\n", 1)[0].split(b"\r\n")
                     if line and not line[:1].isspace()}
        self.assertEqual(set(byname), raw_names)
        self.assertNotIn("headers", message_json("encoded-utf8-b"))

    def test_all_headers_page(self):
        doc, r = self.get_page("encoded-utf8-b", headers="all")
        self.assertIn("X-Postern-Fixture", doc.text)
        self.assertIn("encoded-utf8-b", doc.text)


class Alternatives(MessageCase):
    def test_html_alternative_by_default(self):
        body = message_json("alternative")["body"]
        self.assertEqual(body["type"], "html")
        text = self.text_of(body)
        self.assertIn("ALTHTMLMARKER", text)
        self.assertNotIn("ALTTEXTMARKER", text)
        self.assertEqual(len(Doc(body["html"]).all("b")), 1)

    def test_plain_1_switches_to_the_text_alternative(self):
        body = message_json("alternative", plain=1)["body"]
        self.assertEqual(body["type"], "text")
        text = self.text_of(body)
        self.assertIn("ALTTEXTMARKER", text)
        self.assertNotIn("ALTHTMLMARKER", text)

    def test_body_document_follows_plain_1(self):
        r, text = self.get_body("alternative")
        self.assertIn("ALTHTMLMARKER", text)
        self.assertNotIn("ALTTEXTMARKER", text)
        r, text = self.get_body("alternative", plain=1)
        self.assertIn("ALTTEXTMARKER", text)
        self.assertNotIn("ALTHTMLMARKER", text)

    def test_page_with_plain_1_frames_the_text_body(self):
        doc, r = self.get_page("alternative", plain=1)
        self.assertEqual(query_of(self.body_frame(doc)["src"]).get("plain"),
                         "1")

    def test_html_only_keeps_formatting_and_drops_the_head(self):
        body = message_json("html-only")["body"]
        doc = Doc(body["html"])
        self.assertEqual(body["type"], "html")
        self.assertIn("https://www.example.org/html-only", doc.links())
        self.assertTrue(doc.all("b") or doc.all("strong"))
        self.assertNotIn("ignored title", doc.text)
        self.assertIn("Café crème", doc.text)


class InlineImages(MessageCase):
    def test_cid_image_points_to_part_and_answers_the_png(self):
        j = message_json("related-cid")
        self.assertNotIn("cid:", j["body"]["html"].lower())
        self.assertFalse(j["remote_content_blocked"])
        imgs = Doc(j["body"]["html"]).all("img")
        self.assertEqual(len(imgs), 1, imgs)
        src = imgs[0]["src"]
        qs = query_of(src)
        self.assertTrue(urllib.parse.urlsplit(src).path.endswith("part"),
                        src)
        self.assertEqual(qs.get("part"), "2")
        self.assertEqual(qs.get("uid"), str(self.uid("related-cid")))
        self.assertEqual(qs.get("f"), folder())
        r = client().get(local(src))
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-type").split(";")[0], "image/png")
        self.assertEqual(r.header("x-content-type-options"), "nosniff")
        self.assertEqual(r.body, part_bytes("related-cid", "2"))
        self.assertTrue(r.body.startswith(b"\x89PNG\r\n\x1a\n"))

    def test_cid_image_comes_inside_the_body_frame(self):
        # the frame is what a browser loads: a small image comes in the
        # same response, byte for byte, instead of a /part request
        r, text = self.get_body("related-cid")
        imgs = Doc(text).all("img")
        self.assertEqual(len(imgs), 1, imgs)
        src = imgs[0]["src"]
        self.assertTrue(src.startswith("data:image/png;base64,"), src[:80])
        self.assertEqual(base64.b64decode(src.split(",", 1)[1]),
                         part_bytes("related-cid", "2"))
        self.assertNotIn("cid:", text.lower())
        self.assertNotIn("part?", text)
        d = csp_directives(r.header("content-security-policy"))
        self.assertIn("data:", d.get("img-src", []))

    def test_large_and_many_cid_images_stay_links(self):
        # one image over the inline limit, and more small ones than the
        # frame's budget: those are /part links, and every one answers
        small = [random.Random(i).randbytes(40 * 1024) for i in range(6)]
        big = random.Random(99).randbytes(100 * 1024)
        html = "".join(f'<img src="cid:s{i}@x">' for i in range(6))
        html += '<img src="cid:big@x">'
        msg = EmailMessage()
        msg["From"] = "x@example.org"
        msg["Subject"] = "inline image budget"
        msg["X-Postern-Test"] = "inline-budget"
        msg.set_content("text")
        msg.add_alternative(f"<p>{html}</p>", subtype="html")
        rel = msg.get_payload()[1]
        for i, data in enumerate(small):
            rel.add_related(data, maintype="image", subtype="png",
                            cid=f"<s{i}@x>")
        rel.add_related(big, maintype="image", subtype="png", cid="<big@x>")
        with in_inbox(msg) as uid:
            r = client().get(f"/body?f=INBOX&uid={uid}")
            self.assertEqual(r.status, 200)
            srcs = [i["src"] for i in Doc(r.body.decode()).all("img")]
            self.assertEqual(len(srcs), 7, srcs)
            want = small + [big]
            # 40 KiB is 55 KiB as data:, and four of those fill 256 KiB
            for i, src in enumerate(srcs):
                if i < 4:
                    self.assertTrue(src.startswith("data:image/png;base64,"),
                                    (i, src[:80]))
                    got = base64.b64decode(src.split(",", 1)[1])
                else:
                    self.assertTrue(local(src).startswith("/part?"),
                                    (i, src[:80]))
                    got = client().get(local(src)).body
                self.assertEqual(got, want[i], i)


class Attachments(MessageCase):
    def test_attachments_are_listed_with_decoded_names(self):
        j = message_json("mixed-attachments")
        got = {sec_of(a): a["filename"] for a in j["attachments"]}
        for sec, filename, _ in EXPECT["mixed-attachments"]["attachments"]:
            self.assertEqual(got.get(sec), filename, sec)

    def test_every_attachment_downloads_its_exact_bytes(self):
        j = message_json("mixed-attachments")
        for a in j["attachments"]:
            r = self.download("mixed-attachments", a)
            self.assertEqual(r.body, part_bytes("mixed-attachments",
                                                sec_of(a)), a["filename"])

    def test_downloads_are_attachments_with_rfc6266_names(self):
        j = message_json("mixed-attachments")
        types = {s: t for s, _, t in EXPECT["mixed-attachments"]
                 ["attachments"]}
        for a in j["attachments"]:
            r = self.download("mixed-attachments", a)
            cd = r.header("content-disposition") or ""
            ctype = (r.header("content-type") or "").split(";")[0].lower()
            self.assertEqual(ctype, types[sec_of(a)], a)
            kind = cd.split(";")[0].strip().lower()
            if ctype in ("image/png", "image/gif", "image/jpeg",
                         "image/webp"):
                self.assertIn(kind, ("attachment", "inline"), cd)
            else:
                self.assertEqual(kind, "attachment", (a["filename"], cd))
            if kind == "attachment":
                self.assertEqual(content_disposition_filename(cd),
                                 a["filename"], cd)
                self.assertRegex(cd, r"filename\*\s*=\s*(?i:utf-8)''")
                plain = re.search(r'filename\s*=\s*"([^"]*)"', cd)
                self.assertTrue(plain, cd)
                self.assertTrue(plain.group(1).isascii(), cd)
            self.assertNotIn("\r", cd)
            self.assertNotIn("\n", cd)

    def test_html_and_svg_attachments_are_never_inline(self):
        j = message_json("mixed-attachments")
        for a in j["attachments"]:
            if a["filename"] in ("page.html", "drawing.svg"):
                r = self.download("mixed-attachments", a)
                self.assertTrue((r.header("content-disposition") or "")
                                .lower().startswith("attachment"), a)

    def test_attachment_through_nginx_and_fastcgi(self):
        c = Client(NGINX_PORT)
        r = c.login(ENV.mail["ALICE_USER"], ENV.mail["ALICE_PASS"])
        self.assertEqual(r.status, 303)
        path = route("part", "mixed-attachments", part="3")
        r = c.get(path)
        self.assertEqual(r.status, 200, r.body[:200])
        self.assertEqual(r.body, part_bytes("mixed-attachments", "3"))
        # the size Dovecot announced reaches the browser through FastCGI
        self.assertEqual(r.header("content-length"), str(len(r.body)))
        self.assertEqual(content_disposition_filename(
            r.header("content-disposition") or ""), "Résumé année 2026.pdf")
        self.assertEqual(r.header("x-content-type-options"), "nosniff")

    def test_text_part_keeps_its_content_type(self):
        r = client().get(route("part", "mixed-attachments", part="1"))
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-type").split(";")[0].lower(),
                         "text/plain")
        self.assertEqual(r.header("x-content-type-options"), "nosniff")
        self.assertEqual(r.body, part_bytes("mixed-attachments", "1"))

    def test_part_errors(self):
        c = client()
        self.assertEqual(c.get(route("part", "mixed-attachments",
                                     part="9")).status, 404)
        self.assertEqual(c.get(route("part", "mixed-attachments",
                                     part="2.5")).status, 404)
        self.assertEqual(c.get(route("part", "plain-ascii",
                                     part="2")).status, 404)
        self.assertEqual(c.get(route("part", "mixed-attachments", part="2",
                                     uid=MISSING_UID)).status, 404)
        for bad in ("1..2", "abc", "1.", ".1", "-1", "1 2", "1;2"):
            r = c.get(route("part", "mixed-attachments", part=bad))
            self.assertEqual(r.status, 400, bad)
        r = c.get(route("part", "mixed-attachments", part="2", uid="abc"))
        self.assertEqual(r.status, 400)

    def test_signed_message_lists_its_signature(self):
        j = message_json("signed")
        sig = [a for a in j["attachments"] if sec_of(a) == "2"]
        self.assertEqual(len(sig), 1, j["attachments"])
        self.assertEqual(sig[0]["type"].split(";")[0],
                         "application/pgp-signature")
        r = self.download("signed", sig[0])
        self.assertEqual(r.body, part_bytes("signed", "2"))
        self.assertIn("SIGNEDMARKER", self.text_of(j["body"]))

    def test_encrypted_message_lists_both_parts(self):
        j = message_json("encrypted")
        got = {sec_of(a): a for a in j["attachments"]}
        self.assertEqual(got["1"]["type"].split(";")[0],
                         "application/pgp-encrypted")
        self.assertEqual(got["2"]["type"].split(";")[0],
                         "application/octet-stream")
        self.assertEqual(got["2"]["filename"], "encrypted.asc")
        for sec in ("1", "2"):
            r = self.download("encrypted", got[sec])
            self.assertEqual(r.body, part_bytes("encrypted", sec))
            self.assertTrue((r.header("content-disposition") or "")
                            .lower().startswith("attachment"))


class Embedded(MessageCase):
    def embedded(self, **opts):
        j = message_json("forwarded", **opts)
        self.assertEqual(len(j["embedded"]), 1, j["embedded"])
        return j, j["embedded"][0]

    def test_forwarded_message_headers(self):
        j, e = self.embedded()
        self.assertEqual(e["subject"], "Ça marche")
        self.assertAddress(e["from"], ("Zoë Ölund", "zoe@example.org"),
                           "embedded from")
        self.assertEqual(datetime.datetime.fromisoformat(e["date"]),
                         datetime.datetime(2026, 2, 2, 9, 30,
                                           tzinfo=datetime.timezone.utc))

    def test_forwarded_message_body_prefers_html_and_follows_plain(self):
        j, e = self.embedded()
        self.assertEqual(e["body"]["type"], "html")
        text = Doc(e["body"]["html"]).text
        self.assertIn("FWDHTMLMARKER", text)
        self.assertNotIn("FWDTEXTMARKER", text)
        self.assertIn("OUTERMARKER", self.text_of(j["body"]))
        self.assertSafeHtml(e["body"]["html"], "embedded body")
        j, e = self.embedded(plain=1)
        text = Doc(e["body"]["html"]).text
        self.assertIn("FWDTEXTMARKER", text)
        self.assertNotIn("FWDHTMLMARKER", text)

    def test_forwarded_message_attachment(self):
        j, e = self.embedded()
        att = [a for a in e["attachments"] if a["filename"] == "notes.txt"]
        self.assertEqual(len(att), 1, e["attachments"])
        self.assertEqual(sec_of(att[0]), "2.2")
        r = self.download("forwarded", att[0])
        self.assertEqual(r.body, part_bytes("forwarded", "2.2"))

    def test_forwarded_message_on_the_page_and_in_a_frame(self):
        doc, r = self.get_page("forwarded")
        self.assertIn("Ça marche", doc.text)
        self.assertIn("Zoë Ölund", doc.text)
        self.assertIn("notes.txt", doc.text)
        # the inner body is shown in the message's frame, a frame of its
        # own or the page; every frame is a sandboxed /body document
        shown = doc.text
        for frame in doc.all("iframe"):
            self.assertNotIn("allow-scripts",
                             frame.get("sandbox", "allow-scripts").split())
            r = client().get(local(frame["src"]))
            self.assertEqual(r.status, 200, frame)
            self.assertBodyCsp(r, frame["src"])
            shown += Doc(r.body.decode("utf-8")).text
        self.assertIn("OUTERMARKER", shown)
        self.assertIn("FWDHTMLMARKER", shown)


class RemoteContent(MessageCase):
    def test_remote_images_are_blocked_by_default(self):
        j = message_json("remote-image")
        self.assertTrue(j["remote_content_blocked"])
        self.assertNotIn("tracker.invalid", j["body"]["html"])
        doc = Doc(j["body"]["html"])
        self.assertIn("https://www.example.org/article", doc.links())
        self.assertIn("REMOTEMARKER", doc.text)
        r, text = self.get_body("remote-image")
        self.assertNotIn("tracker.invalid", text)

    def test_remote_1_shows_them(self):
        j = message_json("remote-image", remote=1)
        self.assertFalse(j["remote_content_blocked"])
        srcs = [i.get("src") for i in Doc(j["body"]["html"]).all("img")]
        self.assertIn("http://tracker.invalid/p.gif", srcs)
        r, text = self.get_body("remote-image", remote=1)
        self.assertIn("http://tracker.invalid/p.gif",
                      [i.get("src") for i in Doc(text).all("img")])

    def test_page_offers_show_remote_content_only_when_blocked(self):
        doc, r = self.get_page("remote-image")
        offers = [h for h in doc.links() if query_of(h).get("remote") == "1"
                  and urllib.parse.urlsplit(h).path.endswith("message")]
        self.assertEqual(len(offers), 1, doc.links())
        self.assertEqual(query_of(offers[0]).get("uid"),
                         str(self.uid("remote-image")))
        doc, r = self.get_page("remote-image", remote=1)
        self.assertEqual(query_of(self.body_frame(doc)["src"])
                         .get("remote"), "1")
        doc, r = self.get_page("plain-ascii")
        self.assertFalse([h for h in doc.links()
                          if query_of(h).get("remote") == "1"])

    def test_plain_text_is_never_blocked(self):
        self.assertFalse(message_json("plain-ascii")
                         ["remote_content_blocked"])


class FrameInPage(MessageCase):
    def frame_policy(self, inner, what):
        metas = [a for t, a in Doc(inner).tags if t == "meta" and
                 a.get("http-equiv", "").lower() == "content-security-policy"]
        self.assertEqual(len(metas), 1, what)
        return csp_directives(metas[0]["content"])

    def test_the_page_carries_the_frame_with_its_own_policy(self):
        # a browser shows a message from one request: the frame's document
        # is inside the page (srcdoc), the same as /body's, and keeps its
        # own no-script policy; the page's policy, which binds the frame
        # too, allows its styles and no more script or images than any page
        for name in ("related-cid", "hostile-html", "remote-image",
                     "plain-ascii"):
            doc, r = self.get_page(name)
            frame = self.body_frame(doc)
            self.assertIn("srcdoc", frame, name)
            inner = frame["srcdoc"]
            _, body = self.get_body(name)
            self.assertEqual(inner, body, name)
            self.assertSafeHtml(inner, f"{name} srcdoc", document=True)
            for marker in HOSTILE_MARKERS:
                self.assertNotIn(marker, inner, name)
            own = self.frame_policy(inner, name)
            self.assertEqual(own.get("script-src"), ["'none'"], name)
            self.assertEqual(own.get("default-src"), ["'none'"], name)
            self.assertEqual(own.get("form-action"), ["'none'"], name)
            self.assertNotIn("http:", own.get("img-src", []), name)
            page = csp_directives(r.header("content-security-policy"))
            self.assertEqual(page.get("script-src"), ["'self'"], name)
            self.assertEqual(page.get("default-src"), ["'none'"], name)
            self.assertEqual(page.get("frame-ancestors"), ["'none'"], name)
            self.assertEqual(page.get("img-src"), ["'self'", "data:"], name)
        # JSON clients get the body by itself, no frame
        j = message_json("related-cid")
        self.assertNotIn("frame_doc", j)
        self.assertIn("<img", j["body"]["html"])

    def test_remote_content_keeps_its_frame_out_of_the_page(self):
        # remote images beside the page's inline styles would let a slip
        # in the page's escaping carry its CSRF token out: with remote
        # content shown the frame is /body's, and the page's policy is the
        # app's
        doc, r = self.get_page("remote-image", remote=1)
        frame = self.body_frame(doc)
        self.assertNotIn("srcdoc", frame)
        page = csp_directives(r.header("content-security-policy"))
        self.assertEqual(page.get("style-src"), ["'self'"])
        self.assertNotIn("http:", page.get("img-src", []))
        rb = client().get(local(frame["src"]))
        self.assertEqual(rb.status, 200)
        self.assertBodyCsp(rb, frame["src"])
        own = self.frame_policy(rb.body.decode(), "remote /body")
        self.assertIn("http:", own.get("img-src", []))
        self.assertIn("http://tracker.invalid/p.gif",
                      [i.get("src") for i in Doc(rb.body.decode()).all("img")])

    def test_a_frame_past_the_cap_is_linked_not_carried(self):
        # past 1 MiB the page links to the frame (the page would hold it
        # twice over, escaped); /body then answers it whole
        html = "".join(f"<p>line {i} of a long report</p>" for i in range(40000))
        msg = EmailMessage()
        msg["From"] = "x@example.org"
        msg["Subject"] = "long html"
        msg["X-Postern-Test"] = "srcdoc-cap"
        msg.set_content("text")
        msg.add_alternative(f"<html><body>{html}<p>ENDMARK</p></body></html>",
                            subtype="html")
        self.assertGreater(len(html), 1024 * 1024)
        with in_inbox(msg) as uid:
            c = client()
            r = c.get(f"/message?f=INBOX&uid={uid}")
            self.assertEqual(r.status, 200)
            self.assertLess(len(r.body), 64 * 1024)
            frame = self.body_frame(Doc(r.body.decode()))
            self.assertNotIn("srcdoc", frame)
            self.assertEqual(csp_directives(r.header(
                "content-security-policy")).get("style-src"), ["'self'"])
            rb = c.get(local(frame["src"]))
            self.assertEqual(rb.status, 200)
            self.assertIn(b"ENDMARK", rb.body)


class Hostile(MessageCase):
    def test_no_marker_survives_in_body_html(self):
        j = message_json("hostile-html")
        h = j["body"]["html"]
        for marker in HOSTILE_MARKERS:
            self.assertNotIn(marker, h)
        self.assertSafeHtml(h, "hostile body.html")
        doc = Doc(h)
        self.assertIn("https://www.example.org/safe-link", doc.links())
        self.assertIn("SAFEMARKER", doc.text)

    def test_no_marker_survives_in_the_body_document(self):
        r, text = self.get_body("hostile-html")
        for marker in HOSTILE_MARKERS:
            self.assertNotIn(marker, text)
        self.assertSafeHtml(text, "hostile /body", document=True)
        self.assertIn("SAFEMARKER", Doc(text).text)

    def test_remote_1_does_not_unlock_anything_dangerous(self):
        j = message_json("hostile-html", remote=1)
        for marker in HOSTILE_MARKERS:
            self.assertNotIn(marker, j["body"]["html"])
        self.assertSafeHtml(j["body"]["html"], "hostile remote=1")
        r, text = self.get_body("hostile-html", remote=1)
        for marker in HOSTILE_MARKERS:
            self.assertNotIn(marker, text)

    def test_subject_and_name_are_text_on_the_page(self):
        doc, r = self.get_page("hostile-html")
        self.assertIn('<script>alert("HOSTILE_SUBJECT")</script>', doc.text)
        self.assertIn("Mallory <b>Evil</b>", doc.text)
        self.assertNotIn(b'<script>alert("HOSTILE_SUBJECT")', r.body)
        self.assertNotIn(b"<b>Evil</b>", r.body)


class Broken(MessageCase):
    def test_each_broken_message_is_a_page_with_headers_and_source(self):
        for n in ("broken-8bit-header", "broken-base64",
                  "broken-boundary-mismatch", "broken-no-boundary",
                  "broken-unknown-charset"):
            j = message_json(n)
            self.assertSubject(j["subject"], EXPECT[n]["subject"])
            doc, r = self.get_page(n)
            self.assertIn(j["subject"], doc.text)
            self.assertTrue(any(urllib.parse.urlsplit(h).path
                                .endswith("source") for h in doc.links()))
            r = client().get(route("body", n))
            self.assertEqual(r.status, 200, n)
            r.body.decode("utf-8")

    def test_unknown_charset_bytes_are_replaced(self):
        text = self.text_of(message_json("broken-unknown-charset")["body"])
        self.assertIn("UNKNOWNCHARSETMARKER bytes follow:", text)
        self.assertIn("still here.", text)
        for ch in text:
            self.assertFalse(0xD800 <= ord(ch) <= 0xDFFF)

    def test_raw_8bit_header_is_valid_utf8(self):
        j = message_json("broken-8bit-header")
        self.assertSubject(j["subject"],
                           EXPECT["broken-8bit-header"]["subject"])
        self.assertEqual(j["from"]["email"], "rene@example.org")

    def test_bad_base64_attachment_answers(self):
        j = message_json("broken-base64")
        att = [a for a in j["attachments"] if a["filename"] == "garbage.bin"]
        self.assertEqual(len(att), 1, j["attachments"])
        self.download("broken-base64", att[0])

    def test_sources_of_broken_messages_are_exact(self):
        for n in ("broken-8bit-header", "broken-unknown-charset",
                  "broken-base64"):
            r = client().get(route("source", n))
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, State.raw[n], n)


class SeenAndFlags(MessageCase):
    NAME = "plain-latin1-qp"

    def test_viewing_sets_seen(self):
        uid = self.uid(self.NAME)
        m = imap_connect()
        try:
            imap_check(m.select(folder()), "SELECT")
            imap_check(m.uid("STORE", str(uid), "-FLAGS.SILENT",
                             r"(\Seen)"), "STORE")
            self.assertNotIn(r"\Seen", imap_flags(m, uid))
            r = client().get(route("message", self.NAME))
            self.assertEqual(r.status, 200)
            imap_check(m.noop(), "NOOP")
            self.assertIn(r"\Seen", imap_flags(m, uid))
        finally:
            m.logout()
        self.assertTrue(message_json(self.NAME)["seen"])

    def test_flagged_follows_the_server(self):
        uid = self.uid(self.NAME)
        m = imap_connect()
        try:
            imap_check(m.select(folder()), "SELECT")
            imap_check(m.uid("STORE", str(uid), "+FLAGS.SILENT",
                             r"(\Flagged)"), "STORE")
            self.assertTrue(message_json(self.NAME)["flagged"])
            imap_check(m.uid("STORE", str(uid), "-FLAGS.SILENT",
                             r"(\Flagged)"), "STORE")
            self.assertFalse(message_json(self.NAME)["flagged"])
        finally:
            m.logout()


class Errors(MessageCase):
    def test_missing_and_malformed_uids(self):
        c = client()
        for path in ("message", "body", "source"):
            self.assertEqual(c.get(route(path, "plain-ascii",
                                         uid=MISSING_UID)).status, 404, path)
            self.assertEqual(c.get(route(path, "plain-ascii",
                                         uid="abc")).status, 400, path)
        r = c.get(route("message", "plain-ascii", uid=MISSING_UID))
        self.assertTrue(r.body)   # never a blank page
        status = c.get("/message?f=NoSuchFolder&uid=1").status
        self.assertEqual(status, 404)

    def test_no_session_gets_nothing(self):
        stranger = Client()
        for path in ("message", "body", "source"):
            r = stranger.get(route(path, "plain-ascii"))
            self.assertIn(r.status, (303, 401), path)
            self.assertNotIn(b"PLAINMARKER", r.body)
        r = stranger.get(route("part", "mixed-attachments", part="2"))
        self.assertIn(r.status, (303, 401))
        self.assertNotIn(b"%PDF", r.body)
        r = stranger.get(route("message", "plain-ascii"), json=True)
        self.assertEqual(r.status, 401)


class BigAttachment(MessageCase):
    def test_listed_with_its_size(self):
        j = message_json(BIG)
        att = [a for a in j["attachments"] if sec_of(a) == "2"]
        self.assertEqual(len(att), 1, j["attachments"])
        self.assertEqual(att[0]["filename"], "big.bin")
        encoded = len(State.raw[BIG])
        self.assertGreaterEqual(att[0]["size"], BIG_SIZE * 0.99)
        self.assertLessEqual(att[0]["size"], encoded)

    def test_download_and_source_stream_with_bounded_memory(self):
        j = message_json(BIG)
        att = [a for a in j["attachments"] if sec_of(a) == "2"][0]
        status, headers, digest, n = stream(client(), local(att["href"]))
        self.assertEqual(status, 200)
        self.assertEqual(n, BIG_SIZE)
        self.assertEqual(digest, hashlib.sha256(State.big_data).hexdigest())
        # Dovecot decoded it (BINARY) and said how big it is: a browser
        # shows the download's progress
        self.assertEqual(headers.get("content-length"), str(BIG_SIZE))
        self.assertTrue(headers.get("content-disposition", "").lower()
                        .startswith("attachment"), headers)
        self.assertEqual(content_disposition_filename(
            headers["content-disposition"]), "big.bin")
        self.assertEqual(headers.get("x-content-type-options"), "nosniff")
        status, headers, digest, n = stream(client(),
                                            local(j["source_href"]))
        self.assertEqual(status, 200)
        self.assertTrue(headers.get("content-type", "")
                        .startswith("text/plain"))
        self.assertEqual(n, len(State.raw[BIG]))
        self.assertEqual(digest, hashlib.sha256(State.raw[BIG]).hexdigest())
        self.assertEqual(headers.get("content-length"),
                         str(len(State.raw[BIG])))
        # streamed, not buffered: the 27 MiB literal never sat in memory
        # (ASan keeps freed buffers in quarantine and pads every block:
        # about 17 MiB there against 6 here, still short of the literal)
        grown_kb = vm_hwm_kb() - State.hwm_start
        self.assertLess(grown_kb, (24 if harness.SANITIZED else 16) * 1024,
                        f"postern's peak RSS grew by {grown_kb} kB")

    def test_a_download_given_up_midway_leaves_postern_serving(self):
        # the browser goes away in the middle of the literal: the stream is
        # closed mid-response (this used to abort the whole process), the
        # connection is retired, and the next download is whole
        j = message_json(BIG)
        att = [a for a in j["attachments"] if sec_of(a) == "2"][0]
        c = client()
        for _ in range(2):
            conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=60)
            cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
            conn.request("GET", local(att["href"]), headers={"Cookie": cookie})
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            self.assertEqual(len(r.read(300 * 1024)), 300 * 1024)
            conn.sock.close()
            conn.close()
        status, _, digest, n = stream(c, local(att["href"]))
        self.assertEqual((status, n), (200, BIG_SIZE))
        self.assertEqual(digest, hashlib.sha256(State.big_data).hexdigest())
        self.assertIsNone(ENV.serve.proc.poll(), "postern serve has exited")

    def test_page_and_body_do_not_load_the_attachment(self):
        doc, r = self.get_page(BIG)
        self.assertLess(len(r.body), 1 << 20)
        r, text = self.get_body(BIG)
        self.assertIn("BIGMARKER", text)
        self.assertLess(len(text), 1 << 20)
