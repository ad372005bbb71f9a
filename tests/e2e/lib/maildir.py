"""maildir.py - what the mail server holds, read straight from a Maildir++ of
tests/env, for the browser tests to compare with what the browser showed.

usage: maildir.py MAILDIR header NAME VALUE  -> JSON list of matching messages
Each message: folder, subject, from, to, message_id, in_reply_to, text (first
text/plain part) and attachments [{filename, type, size, sha256, base64}]."""

import email
import email.policy
import hashlib
import base64
import json
import os
import sys


def folders(maildir):
    """(name, path) of INBOX and every Maildir++ subfolder (".Name")."""
    yield "INBOX", maildir
    for entry in sorted(os.listdir(maildir)):
        if entry.startswith(".") and entry not in (".", ".."):
            p = os.path.join(maildir, entry)
            if os.path.isdir(os.path.join(p, "cur")):
                yield entry[1:], p


def describe(folder, msg):
    atts = []
    text = None
    for part in msg.walk():
        if part.is_multipart():
            continue
        disp = part.get_content_disposition()
        data = part.get_payload(decode=True) or b""
        if disp == "attachment" or (disp is None and part.get_filename()):
            atts.append({"filename": part.get_filename(),
                         "type": part.get_content_type(),
                         "size": len(data),
                         "sha256": hashlib.sha256(data).hexdigest(),
                         "base64": base64.b64encode(data).decode()})
        elif text is None and part.get_content_type() == "text/plain":
            text = part.get_content()
    return {"folder": folder, "subject": msg.get("Subject", ""),
            "from": msg.get("From", ""), "to": msg.get("To", ""),
            "message_id": msg.get("Message-ID", ""),
            "in_reply_to": msg.get("In-Reply-To", ""),
            "text": text, "attachments": atts}


def main():
    if len(sys.argv) != 5 or sys.argv[2] != "header":
        sys.exit(__doc__)
    maildir, _, name, value = sys.argv[1:]
    found = []
    for folder, path in folders(maildir):
        for sub in ("new", "cur"):
            d = os.path.join(path, sub)
            for f in sorted(os.listdir(d)):
                with open(os.path.join(d, f), "rb") as fh:
                    msg = email.message_from_binary_file(
                        fh, policy=email.policy.default)
                if str(msg.get(name, "")) == value:
                    found.append(describe(folder, msg))
    print(json.dumps(found))


if __name__ == "__main__":
    main()
