#!/usr/bin/env bash
# demo.sh - `make demo`: private Dovecot + Postfix with a demo mailbox, and
# postern serve on http://127.0.0.1:8080 in the foreground. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
dir=$root/tests/env/run/demo
base=${POSTERN_ENV_BASE:-10000}
port=${POSTERN_DEMO_PORT:-8080}

if ! python3 - "$port" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
then
    echo "demo: port $port is in use; stop what holds it or set POSTERN_DEMO_PORT" >&2
    exit 1
fi

stop_servers() {
    trap - INT TERM EXIT
    echo
    echo "demo: stopping the mail servers"
    tests/env/mailenv.sh stop --dir "$dir" || true
}
trap stop_servers INT TERM EXIT

tests/env/mailenv.sh start --dir "$dir" --base "$base"
# shellcheck disable=SC1091
. "$dir/env.sh"

mkdir -p "$root/build/demo"
conf=$root/build/demo/postern.conf
cat >"$conf" <<EOF2
# Written by tests/env/demo.sh for the private demo mail servers.
[postern]
listen = 127.0.0.1:$port
data_dir = $root

[server demo]
protocol = imap
host = localhost
port = $IMAP_PORT
tls = starttls
ca_file = $CA_FILE
smtp_host = localhost
smtp_port = $SUBMISSION_PORT
smtp_tls = starttls
address_domain = postern.test

EOF2

cat <<MSG

  postern demo: http://127.0.0.1:$port/
  user: $ALICE_USER    password: $ALICE_PASS
  (also $BOB_USER / $BOB_PASS; IMAP on $IMAP_PORT)

  Ctrl-C stops postern and the mail servers.

MSG
./postern serve -c "$conf" || true
