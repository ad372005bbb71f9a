#!/bin/bash
# tests/env/nginx.sh — start/stop a private nginx on 127.0.0.1 that hands every request
# under a base path to postern over FastCGI (config, pid, logs, temp dirs under --dir).
set -euo pipefail

PROG=nginx.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/env/lib.sh
. "$HERE/lib.sh"

usage() {
	cat <<EOF
usage: $0 start --port PORT (--fcgi ADDR | --site FILE [--http FILE]) [--dir DIR] [--base-path /PATH]
       $0 stop|status [--dir DIR]

  --port PORT       listen on 127.0.0.1:PORT
  --fcgi ADDR       postern's FastCGI socket: unix:/path/to/socket or 127.0.0.1:PORT
  --base-path PATH  URL prefix handed to postern (default /); anything else is 404
  --site FILE       put FILE (location blocks, e.g. a copy of one of conf/nginx-*.conf
                    with its upstream address changed) in the server block instead
                    of the generated locations; --fcgi and --base-path are then unused
  --http FILE       with --site: put FILE (e.g. a copy of conf/nginx-postern-upstream.conf)
                    in the http block, before the server block
  --dir DIR         state directory (default tests/env/run/nginx)

start writes DIR/nginx.conf and DIR/fastcgi-postern.conf (the FastCGI
parameters; both are meant to be readable and copyable), waits for the port
and writes DIR/env.sh (NGINX_URL, NGINX_PORT, ...).
EOF
}

CMD=${1:-}
[[ $CMD == start || $CMD == stop || $CMD == status ]] || { usage >&2; exit 2; }
shift
DIR= PORT= FCGI= BASE_PATH=/ SITE= HTTP_FILE=
while (($#)); do
	case $1 in
	--dir) DIR=${2:?--dir needs a value}; shift 2 ;;
	--port) PORT=${2:?--port needs a value}; shift 2 ;;
	--fcgi) FCGI=${2:?--fcgi needs a value}; shift 2 ;;
	--base-path) BASE_PATH=${2:?--base-path needs a value}; shift 2 ;;
	--site) SITE=${2:?--site needs a value}; shift 2 ;;
	--http) HTTP_FILE=${2:?--http needs a value}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
((EUID == 0)) || die "must run as root"
DIR=$(realpath -m -- "${DIR:-$HERE/run/nginx}")
PIDFILE=$DIR/nginx.pid

stop_nginx() {
	[[ -d $DIR ]] || return 0
	stop_pidfiles "$DIR" "$PIDFILE"
	sweep "$DIR"
	rm -f "$DIR/env.sh"
}

cmd_status() {
	local pid
	pid=$(pidfile_pid "$PIDFILE")
	if [[ -n $pid ]] && alive "$pid" && is_ours "$DIR" "$pid"; then
		echo "nginx: running, pid $pid ($DIR/nginx.conf)"
		return 0
	fi
	echo "nginx: not running"
	return 3
}

write_conf() {
	local loc up=
	mkdir -p "$DIR/logs" "$DIR/tmp"
	cat >"$DIR/fastcgi-postern.conf" <<'EOF'
# FastCGI parameters for postern (included by nginx.conf, one copy per location).
# postern is mounted at the root of its own URL space: SCRIPT_NAME is empty and
# PATH_INFO is the whole decoded path; postern strips its configured base_path.
fastcgi_param  GATEWAY_INTERFACE  CGI/1.1;
fastcgi_param  SERVER_SOFTWARE    nginx;
fastcgi_param  SCRIPT_NAME        "";
fastcgi_param  PATH_INFO          $uri;
fastcgi_param  REQUEST_URI        $request_uri;
fastcgi_param  DOCUMENT_URI       $document_uri;
fastcgi_param  QUERY_STRING       $query_string;
fastcgi_param  REQUEST_METHOD     $request_method;
fastcgi_param  CONTENT_TYPE       $content_type;
fastcgi_param  CONTENT_LENGTH     $content_length;
fastcgi_param  SERVER_PROTOCOL    $server_protocol;
fastcgi_param  REQUEST_SCHEME     $scheme;
fastcgi_param  HTTPS              $https if_not_empty;
fastcgi_param  REMOTE_ADDR        $remote_addr;
fastcgi_param  REMOTE_PORT        $remote_port;
fastcgi_param  SERVER_ADDR        $server_addr;
fastcgi_param  SERVER_PORT        $server_port;
fastcgi_param  SERVER_NAME        $server_name;
# Every request header also arrives as HTTP_* (fastcgi_pass_request_headers is
# on by default), except Proxy: never let a client set HTTP_PROXY (httpoxy).
fastcgi_param  HTTP_PROXY         "";

# Keep the connection to postern open for the next request (with keepalive in
# the upstream block): no TCP connect, accept and close per request. postern
# serves kept connections from its pool of threads as requests arrive; an idle
# one holds none of them.
fastcgi_keep_conn on;

# Read the whole request body (attachments, forms) before calling postern, so
# it always gets a CONTENT_LENGTH and a complete body.
fastcgi_request_buffering on;
# Responses: postern sends records of up to 64 KiB, and streams attachments
# and sources of any size. nginx's default of 8 buffers of one page (4 KiB)
# reads them 4 KiB at a time and spools to the temp file after 32 KiB;
# 16 of 64 KiB (taken only as a response needs them) hold 1 MiB in memory
# first. Bigger responses still spool, so a slow client never holds one of
# postern's workers.
fastcgi_buffers 16 64k;
fastcgi_read_timeout 300s;
fastcgi_send_timeout 300s;
fastcgi_intercept_errors off;
EOF
	if [[ -n $SITE ]]; then
		loc="    # the site's own locations, as given to nginx.sh --site
    include $DIR/site.conf;"
		cp -- "$SITE" "$DIR/site.conf"
		if [[ -n $HTTP_FILE ]]; then
			up="  # as given to nginx.sh --http
  include $DIR/http.conf;
"
			cp -- "$HTTP_FILE" "$DIR/http.conf"
		fi
	elif [[ $BASE_PATH == / ]]; then
		loc="    location / {
      fastcgi_pass postern_fcgi;
      include $DIR/fastcgi-postern.conf;
    }"
	else
		loc="    # postern lives under $BASE_PATH; both $BASE_PATH and $BASE_PATH/... go to it.
    location = $BASE_PATH {
      fastcgi_pass postern_fcgi;
      include $DIR/fastcgi-postern.conf;
    }
    location ^~ $BASE_PATH/ {
      fastcgi_pass postern_fcgi;
      include $DIR/fastcgi-postern.conf;
    }
    location / {
      return 404;
    }"
	fi
	if [[ -z $SITE ]]; then
		up="  # postern's FastCGI socket. keepalive: idle connections each nginx worker
  # keeps open to it (fastcgi_keep_conn in fastcgi-postern.conf).
  upstream postern_fcgi {
    server $FCGI;
    keepalive 8;
  }

"
	fi
	cat >"$DIR/nginx.conf" <<EOF
# nginx in front of postern (FastCGI), as started by tests/env/nginx.sh.
# To use it elsewhere: keep the http/server blocks, change listen (and add TLS),
# server_name, the upstream's server and the paths; run workers as www-data and give
# postern's socket to that group.
worker_processes 1;
pid $PIDFILE;
error_log $DIR/logs/error.log warn;
# Test only: root workers can reach a FastCGI socket whatever its owner.
user root root;

events {
  worker_connections 512;
}

http {
  access_log $DIR/logs/access.log;
  client_body_temp_path $DIR/tmp/body;
  fastcgi_temp_path $DIR/tmp/fastcgi;
  proxy_temp_path $DIR/tmp/proxy;
  uwsgi_temp_path $DIR/tmp/uwsgi;
  scgi_temp_path $DIR/tmp/scgi;
  server_tokens off;
  default_type application/octet-stream;

$up  server {
    listen 127.0.0.1:$PORT;
    server_name localhost;

    # Uploads: attachments up to 50 MB, kept in memory up to 1 MB.
    client_max_body_size 64m;
    client_body_buffer_size 1m;

$loc
  }
}
EOF
}

cmd_start() {
	local t0 out
	t0=$(now_ms)
	[[ $PORT =~ ^[0-9]+$ ]] && ((PORT > 0 && PORT < 65536)) || die "--port PORT is required (1-65535)"
	if [[ -n $SITE ]]; then
		[[ -r $SITE ]] || die "--site $SITE: cannot read it"
		SITE=$(realpath -- "$SITE")
		if [[ -n $HTTP_FILE ]]; then
			[[ -r $HTTP_FILE ]] || die "--http $HTTP_FILE: cannot read it"
			HTTP_FILE=$(realpath -- "$HTTP_FILE")
		fi
	elif [[ -n $HTTP_FILE ]]; then
		die "--http goes with --site"
	else
		[[ $FCGI == unix:/* || $FCGI =~ ^[0-9A-Za-z.:-]+:[0-9]+$ ]] ||
			die "--fcgi must be unix:/absolute/path or HOST:PORT, not '$FCGI'"
	fi
	[[ $BASE_PATH == /* && $BASE_PATH != *[[:space:]\;\{\}\'\"]* ]] || die "--base-path must start with / (no spaces, quotes, braces)"
	[[ $BASE_PATH == / ]] || BASE_PATH=${BASE_PATH%/}
	command -v nginx >/dev/null || die "nginx is not installed"
	if [[ -e $DIR && ! -e $DIR/.postern-nginx ]] && [[ -n $(ls -A "$DIR") ]]; then
		die "$DIR is not empty and was not made by $PROG: refusing to use it"
	fi
	mkdir -p "$DIR"
	touch "$DIR/.postern-nginx"
	stop_nginx
	check_ports_free HTTP="$PORT"
	write_conf
	# cwd = DIR: that is how stop and a later start recognise our processes.
	if ! (cd "$DIR" && exec nginx -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/logs/error.log" \
		</dev/null >"$DIR/logs/startup.log" 2>&1); then
		out=$(cat "$DIR/logs/startup.log"; tail -n 15 "$DIR/logs/error.log" 2>/dev/null)
		stop_nginx
		die "nginx did not start: $out"
	fi
	if ! wait_port "$PORT" 10000; then
		out=$(tail -n 15 "$DIR/logs/error.log" 2>/dev/null)
		stop_nginx
		die "nginx on 127.0.0.1:$PORT did not answer within 10 s: $out"
	fi
	{
		echo "# nginx in front of postern; written by tests/env/nginx.sh start."
		env_line NGINX_DIR "$DIR"
		env_line NGINX_PORT "$PORT"
		env_line NGINX_URL "http://127.0.0.1:$PORT$([[ $BASE_PATH == / ]] || echo "$BASE_PATH")/"
		env_line NGINX_BASE_PATH "$BASE_PATH"
		env_line NGINX_FCGI "$FCGI"
		env_line NGINX_CONF "$DIR/nginx.conf"
		env_line NGINX_ERROR_LOG "$DIR/logs/error.log"
		env_line NGINX_ACCESS_LOG "$DIR/logs/access.log"
		env_line NGINX_PID "$(pidfile_pid "$PIDFILE")"
	} >"$DIR/env.sh.tmp"
	mv -f "$DIR/env.sh.tmp" "$DIR/env.sh"
	echo "nginx.sh: http://127.0.0.1:$PORT$BASE_PATH -> ${SITE:-fastcgi $FCGI} in $(($(now_ms) - t0)) ms; . $DIR/env.sh"
}

case $CMD in
start) cmd_start ;;
stop) stop_nginx ;;
status) cmd_status ;;
esac
