#!/bin/bash
# tests/env/mailenv.sh — start/stop/status of a private Dovecot + Postfix on 127.0.0.1
# for postern's integration tests; all state under --dir. See tests/env/README.md.
set -euo pipefail

PROG=mailenv
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/env/lib.sh
. "$HERE/lib.sh"

MAIL_USER=postern-mail   # owns every mailbox; created if missing
DOMAIN=postern.test
PYTHON=/usr/bin/python3  # Debian's, standard library only
declare -A PASS=([alice]=alice-pass-1 [bob]=bob-pass-2 [sink]=sink-pass-3)
declare -A FLAVOR_BASE=([default]=10000 [minimal]=11000 [prefix]=12000)

usage() {
	cat <<EOF
usage: $0 start|stop|status [--dir DIR] [--base PORT] [--flavor default|minimal|prefix] [--messages N]
       [--big-attachment BYTES]

  start    stop whatever ran from DIR, re-seed the mailboxes, start Dovecot and
           Postfix, wait for every port, write DIR/env.sh
  stop     stop both servers (by their pid files, then any leftover of DIR)
  status   say what runs; exit 0 when both run, 3 when none, 1 otherwise

  --dir DIR       state directory (default tests/env/run/<flavor>)
  --base PORT     port base (default \$POSTERN_ENV_BASE, else 10000 for default,
                  11000 for minimal, 12000 for prefix): IMAP BASE+143, IMAPS
                  BASE+993, POP3 BASE+110, POP3S BASE+995, SMTP BASE+25,
                  submission BASE+587
  --flavor F      default: Dovecot's own capabilities, SPECIAL-USE folders, "/"
                  minimal: imap_capability = IMAP4rev1, no special-use flags
                  prefix:  namespace prefix "INBOX." with separator "."
  --messages N    messages in alice's INBOX (default 200)
  --big-attachment BYTES
                  one of them (UID N-43, seed id bench-big-attachment) carries
                  an attachment of BYTES bytes (benchmarks; default none)
EOF
}

# ---------------------------------------------------------------- arguments
CMD=${1:-}
[[ $CMD == start || $CMD == stop || $CMD == status ]] || { usage >&2; exit 2; }
shift
DIR= BASE= FLAVOR=default MESSAGES=200 BIG_ATTACHMENT=0
while (($#)); do
	case $1 in
	--dir) DIR=${2:?--dir needs a value}; shift 2 ;;
	--base) BASE=${2:?--base needs a value}; shift 2 ;;
	--flavor) FLAVOR=${2:?--flavor needs a value}; shift 2 ;;
	--messages) MESSAGES=${2:?--messages needs a value}; shift 2 ;;
	--big-attachment) BIG_ATTACHMENT=${2:?--big-attachment needs a value}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[[ -n ${FLAVOR_BASE[$FLAVOR]:-} ]] || die "unknown flavor '$FLAVOR' (default, minimal or prefix)"
BASE=${BASE:-${POSTERN_ENV_BASE:-${FLAVOR_BASE[$FLAVOR]}}}
[[ $BASE =~ ^[0-9]+$ ]] && ((BASE >= 1024 && BASE + 995 <= 65535)) ||
	die "--base must be a number from 1024 to 64540, not '$BASE'"
[[ $MESSAGES =~ ^[0-9]+$ ]] || die "--messages must be a number"
[[ $BIG_ATTACHMENT =~ ^[0-9]+$ ]] || die "--big-attachment must be a number of bytes"
DIR=$(canon "${DIR:-$HERE/run/$FLAVOR}")
((EUID == 0)) || die "must run as root (private servers still start as root and drop privileges)"

IMAP_PORT=$((BASE + 143)) IMAPS_PORT=$((BASE + 993))
POP3_PORT=$((BASE + 110)) POP3S_PORT=$((BASE + 995))
SMTP_PORT=$((BASE + 25)) SUBMISSION_PORT=$((BASE + 587))

# Paths. REAL is DIR with symlinks resolved: processes report their cwd there.
set_paths() {
	REAL=$(realpath -m -- "$DIR")
	DV=$REAL/dovecot PF=$REAL/postfix TLS=$REAL/tls MAILROOT=$REAL/mail
	DOVECOT_CONF=$DV/dovecot.conf
	DOVECOT_PIDFILE=$DV/run/master.pid
	# Postfix wants only root-owned files in its config directory: keep the
	# queue and data directories beside it, not inside.
	PFC=$PF/conf
	POSTFIX_PIDFILE=$PF/queue/pid/master.pid
}
set_paths

# ---------------------------------------------------------------- stop/status
stop_all() {
	[[ -d $REAL ]] || return 0
	stop_pidfiles "$REAL" "$DOVECOT_PIDFILE" "$POSTFIX_PIDFILE"
	sweep "$REAL"
	rm -f "$REAL/env.sh"
}

running_pid() { # PIDFILE -> pid if that master runs and is ours
	local pid
	pid=$(pidfile_pid "$1")
	[[ -n $pid ]] && ((pid > 1)) && alive "$pid" && is_ours "$REAL" "$pid" && echo "$pid"
	return 0
}

cmd_status() {
	local d p up=0
	d=$(running_pid "$DOVECOT_PIDFILE") p=$(running_pid "$POSTFIX_PIDFILE")
	if [[ -n $d ]]; then echo "dovecot: running, pid $d ($DOVECOT_CONF)"; up=$((up + 1)); else echo "dovecot: not running"; fi
	if [[ -n $p ]]; then echo "postfix: running, pid $p ($PFC)"; up=$((up + 1)); else echo "postfix: not running"; fi
	[[ -f $REAL/env.sh ]] && echo "env: $REAL/env.sh"
	case $up in 2) return 0 ;; 0) return 3 ;; *) return 1 ;; esac
}

# ---------------------------------------------------------------- preparation
ensure_accounts() {
	local u
	for u in dovecot dovenull postfix; do
		id -u "$u" >/dev/null 2>&1 || die "system user '$u' is missing: is the $( [[ $u == postfix ]] && echo postfix || echo dovecot-core) package installed?"
	done
	getent group postdrop >/dev/null || die "group 'postdrop' is missing: is postfix installed?"
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		id -u "$MAIL_USER" >/dev/null 2>&1 && break
		# Two flavors starting at once may race here; useradd then fails on its lock.
		useradd --system --user-group --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin --comment "postern test mail store" "$MAIL_USER" 2>/dev/null || sleep 0.2
	done
	MAIL_UID=$(id -u "$MAIL_USER") || die "could not create user $MAIL_USER"
	MAIL_GID=$(id -g "$MAIL_USER")
}

# reachable DIR: can the unprivileged users the servers run as enter DIR?
reachable() {
	local u
	for u in "$MAIL_USER" dovecot postfix; do
		setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups test -x "$1" 2>/dev/null || return 1
	done
}

# prepare_dir: make DIR ours. DIR must be empty, absent, or carry our marker.
# If unprivileged users cannot reach DIR's parent (a checkout under /root, say),
# DIR becomes a symlink to a directory under /tmp that they can reach.
prepare_dir() {
	local parent alt
	if [[ -e $DIR && ! -L $DIR ]]; then
		[[ -d $DIR ]] || die "$DIR exists and is not a directory"
		if [[ ! -e $DIR/.postern-mailenv ]] && [[ -n $(ls -A "$DIR") ]]; then
			die "$DIR is not empty and was not made by $PROG: refusing to use it"
		fi
	fi
	parent=$(dirname "$DIR")
	mkdir -p "$parent"
	if [[ ! -L $DIR ]] && ! reachable "$parent"; then
		alt=/tmp/postern-mailenv-$(printf '%s' "$DIR" | sha1sum | cut -c1-12)
		log "$parent is not reachable by $MAIL_USER/dovecot/postfix; keeping state in $alt"
		[[ -d $DIR ]] && rm -rf -- "$DIR"
		mkdir -p "$alt"
		ln -sfn "$alt" "$DIR"
	fi
	mkdir -p "$DIR"
	chmod 755 "$DIR"
	touch "$DIR/.postern-mailenv"
	set_paths
	reachable "$REAL" || die "$REAL is not reachable by $MAIL_USER, dovecot and postfix (check the permissions of its parents)"
}

# lock_dir: one start/stop at a time per DIR (fd 9, closed in the daemons).
lock_dir() {
	exec 9>"$REAL/.lock"
	flock -w 60 9 || die "another $PROG start/stop holds $REAL/.lock"
}

# ---------------------------------------------------------------- TLS
make_certs() {
	mkdir -p "$TLS"
	chmod 755 "$TLS"
	if [[ -s $REAL/ca.pem && -s $TLS/server.key && -s $REAL/untrusted-ca.pem && -s $TLS/untrusted-server.key ]] &&
		openssl verify -CAfile "$REAL/ca.pem" "$TLS/server.pem" >/dev/null 2>&1 &&
		openssl x509 -checkend 86400 -noout -in "$TLS/server.pem" >/dev/null 2>&1 &&
		openssl x509 -checkend 86400 -noout -in "$REAL/ca.pem" >/dev/null 2>&1; then
		return 0 # still good: reuse
	fi
	cat >"$TLS/openssl.cnf" <<'EOF'
# OpenSSL settings for the postern test certificates (made by mailenv.sh).
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
	local cnf=$TLS/openssl.cnf log=$TLS/openssl.log
	: >"$log"
	# ca: NAME SUBJECT -> REAL/NAME.pem, TLS/NAME.key
	ca() {
		openssl req -config "$cnf" -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
			-subj "$2" -extensions ca_ext -keyout "$TLS/$1.key" -out "$REAL/$1.pem" >>"$log" 2>&1
	}
	# leaf: NAME CA -> TLS/NAME.pem, TLS/NAME.key (localhost, 127.0.0.1)
	leaf() {
		openssl req -config "$cnf" -new -newkey rsa:2048 -nodes -subj "/O=postern tests/CN=localhost" \
			-keyout "$TLS/$1.key" -out "$TLS/$1.csr" >>"$log" 2>&1 &&
			openssl x509 -req -in "$TLS/$1.csr" -CA "$REAL/$2.pem" -CAkey "$TLS/$2.key" \
				-set_serial "0x$(openssl rand -hex 8)" -days 825 -sha256 \
				-extfile "$cnf" -extensions server_ext -out "$TLS/$1.pem" >>"$log" 2>&1 &&
			rm -f "$TLS/$1.csr"
	}
	{
		ca ca "/O=postern tests/CN=postern test CA" &&
			leaf server ca &&
			ca untrusted-ca "/O=somebody else/CN=untrusted test CA" &&
			leaf untrusted-server untrusted-ca
	} || { cat "$log" >&2; die "openssl failed making the test certificates"; }
	chmod 600 "$TLS"/*.key
	chmod 644 "$REAL/ca.pem" "$REAL/untrusted-ca.pem" "$TLS"/*.pem
}

# ---------------------------------------------------------------- Dovecot
write_dovecot_conf() {
	local sep=/ prefix= special=yes capability=
	case $FLAVOR in
	minimal) special=no capability="imap_capability = IMAP4rev1" ;;
	prefix) sep=. prefix=INBOX. ;;
	esac
	IMAP_SEPARATOR=$sep IMAP_PREFIX=$prefix IMAP_SPECIAL_USE=$special
	mkdir -p "$DV/run" "$DV/state"
	{
		for u in alice bob sink; do echo "$u:{PLAIN}${PASS[$u]}"; done
	} >"$DV/users"
	chown root:dovecot "$DV/users"
	chmod 640 "$DV/users"

	cat >"$DOVECOT_CONF" <<EOF
# Private Dovecot of the postern test environment, flavor "$FLAVOR".
# Generated by tests/env/mailenv.sh on each start: edit the script, not this file.
protocols = imap pop3 lmtp
listen = 127.0.0.1
base_dir = $DV/run
state_dir = $DV/state
log_path = $DV/dovecot.log
hostname = mail.$DOMAIN
verbose_proctitle = yes

ssl = yes
ssl_cert = <$TLS/server.pem
ssl_key = <$TLS/server.key
ssl_dh = </usr/share/dovecot/dh.pem
ssl_min_protocol = TLSv1.2

# Clear-text logins are allowed on loopback (tests use LOGIN, USER/PASS in clear).
disable_plaintext_auth = no
# APOP needs the clear-text passwords the passwd-file keeps (APOP is POP3-only:
# Postfix is offered PLAIN and LOGIN).
auth_mechanisms = plain login apop
# "alice" and "alice@$DOMAIN" are the same user (LMTP gets the address form).
auth_username_format = %Ln
# No 2 s pause after a wrong password: tests of failed logins stay fast.
auth_failure_delay = 0
# No per-address auth penalty (2, 4, 8, 15 s after failures from one
# address): every test logs in from 127.0.0.1, and one test's wrong password
# would slow every later login of the run. (login_trusted_networks does not
# lift it unless the client forwards its user's address with ID.)
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN $DV/users
}
userdb {
  driver = static
  args = uid=$MAIL_UID gid=$MAIL_GID home=$MAILROOT/%n
}
first_valid_uid = $MAIL_UID
last_valid_uid = $MAIL_UID
mail_location = maildir:~/Maildir
$capability

namespace inbox {
  inbox = yes
  separator = $sep
  prefix = $prefix
EOF
	if [[ $special == yes ]]; then
		local m
		for m in Sent Drafts Trash Archive Junk; do
			printf '  mailbox %s {\n    special_use = \\%s\n  }\n' "$m" "$m" >>"$DOVECOT_CONF"
		done
	fi
	cat >>"$DOVECOT_CONF" <<EOF
}

protocol imap {
  mail_max_userip_connections = 1000
}
protocol pop3 {
  mail_max_userip_connections = 1000
}
protocol lmtp {
  postmaster_address = postmaster@$DOMAIN
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $POP3_PORT
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $POP3S_PORT
    ssl = yes
  }
}
service lmtp {
  unix_listener lmtp {
    user = postfix
    group = postfix
    mode = 0660
  }
}
service auth {
  unix_listener auth-postfix {
    user = postfix
    group = postfix
    mode = 0660
  }
  unix_listener auth-userdb {
    mode = 0600
  }
}
EOF
}

# ---------------------------------------------------------------- Postfix
write_postfix_conf() {
	mkdir -p "$PFC" "$PF/queue" "$PF/data"
	chown postfix:postfix "$PF/data"
	printf '%s\n' "alice@$DOMAIN alice" "bob@$DOMAIN bob" "sink@$DOMAIN sink" >"$PFC/vmailbox"
	printf '%s\n' "postmaster@$DOMAIN sink@$DOMAIN" "abuse@$DOMAIN sink@$DOMAIN" >"$PFC/valias"
	printf '%s\n' "# Mail for any other domain goes to sink's INBOX (envelope only)." \
		"!/@postern\\.test\$/ sink@$DOMAIN" >"$PFC/outside.regexp"

	cat >"$PFC/main.cf" <<EOF
# Private Postfix of the postern test environment (tests/env/mailenv.sh).
# Generated on each start: edit the script, not this file.
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mail.$DOMAIN
mydomain = $DOMAIN
myorigin = \$mydomain
mydestination =
mynetworks = 127.0.0.1/32
relayhost =
biff = no
append_dot_mydomain = no
readme_directory = no
recipient_delimiter = +

# Nothing is delivered locally or to the outside: postern.test goes to Dovecot
# by LMTP, every other domain is rewritten to sink@$DOMAIN.
local_recipient_maps =
local_transport = error:5.1.1 no local delivery in the postern test environment
alias_maps =
alias_database =
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_maps = texthash:$PFC/vmailbox
virtual_alias_maps = texthash:$PFC/valias, regexp:$PFC/outside.regexp
# (the default would turn every domain named in virtual_alias_maps into an
# alias-only domain, postern.test included)
virtual_alias_domains =
virtual_transport = lmtp:unix:$DV/run/lmtp
default_transport = error:5.7.1 no outside delivery in the postern test environment

# Port $SMTP_PORT: mail "from outside", only for $DOMAIN. Port $SUBMISSION_PORT (master.cf):
# SASL through Dovecot, then anything goes.
smtpd_banner = \$myhostname ESMTP postern test environment
smtpd_relay_restrictions = reject_unauth_destination
smtpd_sasl_type = dovecot
smtpd_sasl_path = $DV/run/auth-postfix
smtpd_sasl_auth_enable = no
smtpd_tls_auth_only = no
smtpd_tls_security_level = may
smtpd_tls_cert_file = $TLS/server.pem
smtpd_tls_key_file = $TLS/server.key
smtpd_tls_loglevel = 0
disable_vrfy_command = yes
message_size_limit = 52428800

# Tests hammer the server from one address: no throttling, no error sleeps.
smtpd_peername_lookup = no
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 200
smtpd_client_connection_count_limit = 0
in_flow_delay = 0
delay_warning_time = 0
EOF

	cat >"$PFC/master.cf" <<EOF
# Postfix services of the postern test environment: no chroot anywhere.
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
127.0.0.1:$SUBMISSION_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	# Postfix refuses to read a config file modified this very second (it waits,
	# up to 2 s, for the "editor" to finish): date them back.
	touch -d "@$(($(date +%s) - 60))" "$PFC"/*
}

# ---------------------------------------------------------------- start
log_tails() {
	local f
	for f in "$DV/dovecot.log" "$PF/maillog"; do
		[[ -s $f ]] || continue
		echo "---- last lines of $f" >&2
		tail -n 15 "$f" >&2
	done
}

fail() { # MESSAGE: print it and the logs, stop what we started, exit 1
	trap - ERR
	log "error: $*"
	log_tails
	stop_all 2>/dev/null || true
	exit 1
}

# The daemons start with cwd = DIR, so that every process of ours can be
# recognised later, and with stdio on files: the Dovecot master keeps its
# stderr open for good, which would hang anyone reading our output.
start_dovecot() {
	(cd "$REAL" && exec dovecot -c "$DOVECOT_CONF" </dev/null >"$DV/startup.log" 2>&1 9>&-) ||
		fail "dovecot did not start: $(cat "$DV/startup.log")"
}

start_postfix() {
	(cd "$REAL" && exec postfix -c "$PFC" start </dev/null >"$PF/startup.log" 2>&1 9>&-) ||
		fail "postfix did not start: $(cat "$PF/startup.log")"
}

wait_ready() {
	local spec name port banner
	for spec in "IMAP:$IMAP_PORT:* OK" "POP3:$POP3_PORT:+OK" "SMTP:$SMTP_PORT:220" \
		"submission:$SUBMISSION_PORT:220" "IMAPS:$IMAPS_PORT:" "POP3S:$POP3S_PORT:"; do
		IFS=: read -r name port banner <<<"$spec"
		wait_port "$port" 10000 "$banner" || fail "$name on 127.0.0.1:$port did not answer within 10 s"
	done
}

# check_seed: every seeded message is visible through Dovecot (this also builds
# the indexes, so the first test does not pay for it).
check_seed() {
	local user want got
	for user in alice bob; do
		want=$(awk -F= -v k="$([[ $user == alice ]] && echo SEED_ALICE_TOTAL || echo SEED_BOB_INBOX_COUNT)" \
			'$1 == k { print $2 }' "$REAL/seed.env")
		got=$(doveadm -c "$DOVECOT_CONF" -f flow mailbox status -u "$user" messages mailbox '*' 2>&1 |
			awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^messages=/) { sub(/messages=/, "", $i); s += $i } } END { print s + 0 }') ||
			fail "doveadm mailbox status failed for $user"
		[[ $got == "$want" ]] || fail "Dovecot sees $got messages for $user, the seed wrote $want"
	done
}

write_env() {
	local tmp=$REAL/env.sh.tmp
	{
		echo "# postern test mail environment, flavor $FLAVOR; written by tests/env/mailenv.sh start."
		echo "# KEY=value lines, values quoted for sh when needed (Python: shlex.split)."
		env_line POSTERN_ENV_DIR "$REAL"
		env_line POSTERN_ENV_FLAVOR "$FLAVOR"
		env_line POSTERN_ENV_BASE "$BASE"
		env_line MAIL_HOST 127.0.0.1
		env_line TLS_HOSTNAME localhost
		env_line IMAP_PORT "$IMAP_PORT"
		env_line IMAPS_PORT "$IMAPS_PORT"
		env_line POP3_PORT "$POP3_PORT"
		env_line POP3S_PORT "$POP3S_PORT"
		env_line SUBMISSION_PORT "$SUBMISSION_PORT"
		env_line SMTP_PORT "$SMTP_PORT"
		env_line LMTP_SOCKET "$DV/run/lmtp"
		env_line CA_FILE "$REAL/ca.pem"
		env_line UNTRUSTED_CA_FILE "$REAL/untrusted-ca.pem"
		env_line SERVER_CERT_FILE "$TLS/server.pem"
		env_line SERVER_KEY_FILE "$TLS/server.key"
		env_line UNTRUSTED_CERT_FILE "$TLS/untrusted-server.pem"
		env_line UNTRUSTED_KEY_FILE "$TLS/untrusted-server.key"
		env_line MAIL_DOMAIN "$DOMAIN"
		local u U
		for u in alice bob sink; do
			U=${u^^}
			env_line "${U}_USER" "$u"
			env_line "${U}_PASS" "${PASS[$u]}"
			env_line "${U}_EMAIL" "$u@$DOMAIN"
		done
		env_line IMAP_SEPARATOR "$IMAP_SEPARATOR"
		env_line IMAP_PREFIX "$IMAP_PREFIX"
		env_line IMAP_SPECIAL_USE "$IMAP_SPECIAL_USE"
		env_line DOVECOT_CONF "$DOVECOT_CONF"
		env_line DOVECOT_LOG "$DV/dovecot.log"
		env_line DOVECOT_PID "$(pidfile_pid "$DOVECOT_PIDFILE")"
		env_line POSTFIX_CONFIG_DIR "$PFC"
		env_line POSTFIX_LOG "$PF/maillog"
		env_line POSTFIX_PID "$(pidfile_pid "$POSTFIX_PIDFILE")"
		env_line SEED_MESSAGES "$MESSAGES"
		env_line SEED_BIG_ATTACHMENT "$BIG_ATTACHMENT"
		env_line SEED_MANIFEST "$REAL/seed-manifest.json"
		cat "$REAL/seed.env"
	} >"$tmp"
	mv -f "$tmp" "$REAL/env.sh"
}

cmd_start() {
	local t0 seed_pid
	t0=$(now_ms)
	# Any unexpected failure from here on stops what was started.
	set -E
	trap 'fail "start failed at line $LINENO of $0"' ERR
	for bin in dovecot doveadm postfix openssl "$PYTHON" setpriv flock useradd; do
		command -v "$bin" >/dev/null || die "$bin is not installed"
	done
	ensure_accounts
	prepare_dir
	lock_dir
	trace "prepared $REAL"
	stop_all
	trace "old run stopped"
	check_ports_free IMAP="$IMAP_PORT" IMAPS="$IMAPS_PORT" POP3="$POP3_PORT" \
		POP3S="$POP3S_PORT" SMTP="$SMTP_PORT" submission="$SUBMISSION_PORT"
	make_certs
	trace "certificates ready"

	rm -rf -- "$DV" "$PF" "$MAILROOT" "$REAL/seed.env" "$REAL/seed-manifest.json"
	mkdir -p "$DV" "$PF" "$MAILROOT"
	write_dovecot_conf
	write_postfix_conf
	trace "configs written"

	# Seed while Postfix starts (it does not need the mailboxes).
	"$PYTHON" "$HERE/seed_mail.py" --mail-root "$MAILROOT" --messages "$MESSAGES" \
		--big-attachment "$BIG_ATTACHMENT" --owner "$MAIL_UID:$MAIL_GID" --separator "$IMAP_SEPARATOR" --prefix "$IMAP_PREFIX" \
		--manifest "$REAL/seed-manifest.json" --env "$REAL/seed.env" \
		>"$REAL/seed.log" 2>&1 9>&- &
	seed_pid=$!
	chown "$MAIL_UID:$MAIL_GID" "$MAILROOT"
	chmod 700 "$MAILROOT"
	trace "seed launched"
	start_postfix
	trace "postfix started"
	wait "$seed_pid" || fail "seeding failed: $(tail -n 20 "$REAL/seed.log")"
	trace "seeded"
	start_dovecot
	trace "dovecot started"
	wait_ready
	trace "all ports answer"
	check_seed
	trace "seed checked"
	write_env
	echo "mailenv: $FLAVOR up on 127.0.0.1 (IMAP $IMAP_PORT, IMAPS $IMAPS_PORT, POP3 $POP3_PORT, POP3S $POP3S_PORT, SMTP $SMTP_PORT, submission $SUBMISSION_PORT) in $(( $(now_ms) - t0 )) ms; . $REAL/env.sh"
}

case $CMD in
start) cmd_start ;;
stop) [[ -d $REAL ]] && lock_dir; stop_all ;;
status) cmd_status ;;
esac
