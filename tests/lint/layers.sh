#!/usr/bin/env bash
# layers.sh - checks the dependency rule of STYLE.md §3.2: a file under src/
# includes only headers of its own layer or of the layers below it.
set -uo pipefail
cd "$(dirname "$0")/../.."

# layer -> the layers it may include (besides itself)
declare -A allowed=(
    [core]=""
    [net]="core"
    [imap]="net core"
    [pop3]="net core"
    [smtp]="net core"
    [mime]="core"
    [store]="imap pop3 mime net core"
    [session]="store imap pop3 net core"
    [view]="store mime core"
    [web]="session view smtp mime store imap pop3 net core"
    [http]="web session view smtp mime store imap pop3 net core"
)

tap=0
[ "${1:-}" = "--tap" ] && tap=1
n=0
bad=0
for f in src/*/*.[ch]; do
    layer=$(basename "$(dirname "$f")")
    n=$((n + 1))
    ok=1
    if [ -z "${allowed[$layer]+x}" ]; then
        echo "# $f: folder $layer is not a layer of DESIGN §1"
        ok=0
    else
        while IFS= read -r inc; do
            dep=${inc%%/*}
            case " $layer ${allowed[$layer]} " in
            *" $dep "*) ;;
            *)
                echo "# $f includes $inc: layer $layer may not include $dep"
                ok=0
                ;;
            esac
        done < <(sed -n 's/^#include "\([a-z0-9_]*\/[^"]*\)".*/\1/p' "$f")
    fi
    [ $ok -eq 1 ] || bad=$((bad + 1))
done
if [ $tap -eq 1 ]; then
    echo "1..1"
    if [ $bad -eq 0 ]; then
        echo "ok 1 - the include rule holds in all $n files under src/"
    else
        echo "not ok 1 - $bad of $n files under src/ break the include rule"
    fi
fi
[ $bad -eq 0 ]
