#!/usr/bin/env bash
# test_privileges.sh BUILD_DIR: no byte from the network and no script is
# parsed with root's powers (src/scan/privilege.h), and raw packets still
# work afterwards:
#   - strace of a SYN scan of a name: setuid(nobody) comes before the first
#     DNS reply is read, and the last capset (to no capability at all)
#     comes before the scan's results; the scan still finds the open port
#     and no closed one as open (raw send and capture work without root);
#   - a script's top-level code runs as nobody (it reads its own uid), and
#     Lua files in the current directory are never loaded;
#   - --privileged-user root is refused (one line, exit 2);
#   - a failed start (a bad script) truncates no existing output file and
#     writes nothing into a new one;
#   - run as nobody with file capabilities (setcap cap_net_raw,cap_net_admin
#     +eip on a copy of trawl), a SYN scan works: the documented way to run
#     without root.
# Own lab (prefix twprivs<pid>-). Last line "N passed, M failed".
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scan-lib.sh"
scan_init privs "${1:-}"
for t in strace setcap setpriv; do
  command -v "$t" >/dev/null || { nok "$t is not installed (scripts/deps.sh)"; finish; }
done
scan_lab_up
W=$LAB_WEB_IP

# ------------------------------------------------------------------ order
X() { local secs=$1; shift; timeout -k 5 "$secs" ip netns exec "$S" "$@"; }
# LeakSanitizer aborts under ptrace; an ASan build runs this one without it
X 60 env ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -f -qq -o "$TMP/strace.txt" -e trace=setuid,setresuid,capset,recvfrom,recvmsg \
  "$TRAWL" -sS -Pn -p 80,81 win.lab.test -oX "$OUT/names.xml" >"$TMP/tr.out" 2>"$TMP/tr.err"
rc=$?
check "SYN scan of a name under strace: exit 0 (got $rc)" test "$rc" = 0
check "the name resolved and 80 is open (raw send and capture work after the drop)" \
  grep -q "portid=\"80\"><state state=\"open\" reason=\"syn-ack\"" "$OUT/names.xml"
check "81 closed" grep -q "portid=\"81\"><state state=\"closed\" reason=\"reset\"" "$OUT/names.xml"
setuid_at=$(grep -n -m1 -E 'set(res)?uid\((65534|[^0])' "$TMP/strace.txt" | cut -d: -f1)
dns_at=$(grep -n -m1 -E 'recv(from|msg)\(.*htons\(53\)' "$TMP/strace.txt" | cut -d: -f1)
drop_at=$(grep -n -E 'capset\(.*effective=0, permitted=0' "$TMP/strace.txt" | tail -1 | cut -d: -f1)
if [ -n "$setuid_at" ] && [ -n "$dns_at" ] && [ "$setuid_at" -lt "$dns_at" ]; then
  ok "root dropped (strace line $setuid_at) before the first DNS reply is read (line $dns_at)"
else
  nok "setuid at line '${setuid_at:-none}', first DNS reply at line '${dns_at:-none}'"
  show "$TMP/strace.txt" 30
fi
check "every capability dropped (capset to nothing, line ${drop_at:-none}) after the DNS reply" \
  test -n "$drop_at" -a -n "$dns_at" -a "${drop_at:-0}" -gt "${dns_at:-0}"

# ------------------------------------------------------------------ scripts
mkdir -m 755 "$TMP/scripts"
cat >"$TMP/scripts/whoami.lua" <<'LUA'
-- top-level code: runs when the script is loaded
local f = io.open("/proc/self/status")
local uid = f and f:read("a"):match("\nUid:%s*(%d+)") or "?"
if f then f:close() end
description = "uid at load: " .. uid
categories = {"safe"}
hostrule = function() return true end
action = function() return "loaded as uid " .. uid end
LUA
chmod 644 "$TMP/scripts/whoami.lua"
TR 60 -sS -Pn -p 80 --script "$TMP/scripts/whoami.lua" "$W"
check "a script's top-level code runs as nobody (uid 65534)" grep -q "loaded as uid 65534" "$TMP/tr.out"

# a module in the current directory is never loaded (package.path has no ./?.lua)
cat >"$TMP/scripts/needmod.lua" <<'LUA'
local ok = pcall(require, "cwdmodule")
description = "requires a module that only the current directory has"
categories = {"safe"}
hostrule = function() return true end
action = function() return ok and "cwd module LOADED" or "cwd module not found" end
LUA
echo 'return {}' >"$TMP/scripts/cwdmodule.lua"
chmod 644 "$TMP/scripts/"*.lua
(cd "$TMP/scripts" && TR 60 -sS -Pn -p 80 --script "$TMP/scripts/needmod.lua" "$W")
check "a module in the current directory is not loaded" grep -q "cwd module not found" "$TMP/tr.out"

# ------------------------------------------------------------------ bad user
TR 30 -sS -Pn -p 80 --privileged-user root "$W"
rc=$(cat "$TMP/tr.rc")
if [ "$rc" = 2 ] && [ "$(wc -l <"$TMP/tr.err")" -eq 1 ] && grep -q "root" "$TMP/tr.err"; then
  ok "--privileged-user root refused: $(cat "$TMP/tr.err")"
else
  nok "--privileged-user root: want exit 2 and one line; got exit $rc"; show "$TMP/tr.err"
fi

# ------------------------------------------------------------------ nothing lost
echo "an earlier scan's results" >"$OUT/keep.nmap"
chmod 644 "$OUT/keep.nmap"
TR 30 -sS -Pn -p 80 --script nosuchscript "$W" -oN "$OUT/keep.nmap" -oX "$OUT/new.xml"
rc=$(cat "$TMP/tr.rc")
check "a bad script: exit 2 (got $rc)" test "$rc" = 2
check "a bad script: the existing -oN file is untouched" grep -qx "an earlier scan's results" "$OUT/keep.nmap"
# A file created as root in a sticky directory cannot be removed by
# nobody; what must hold is that nothing was written into it.
check "a bad script: no new -oX file left, or an empty one" test ! -s "$OUT/new.xml"

# ------------------------------------------------------------------ setcap
CAPDIR=$TMP/cap
mkdir -m 755 "$CAPDIR"
cp "$TRAWL" "$CAPDIR/trawl"
chmod 755 "$CAPDIR/trawl"
if setcap cap_net_raw,cap_net_admin+eip "$CAPDIR/trawl" 2>"$TMP/setcap.err"; then
  X 60 setpriv --reuid=nobody --regid=nogroup --clear-groups "$CAPDIR/trawl" -sS -n -Pn -p 80,81 \
    "$W" -oX "$OUT/cap.xml" >"$TMP/cap.out" 2>"$TMP/cap.err"
  rc=$?
  check "as nobody with file capabilities: exit 0 (got $rc)" test "$rc" = 0
  check "as nobody with file capabilities: a SYN scan, not a connect scan" \
    grep -q '<scaninfo type="syn"' "$OUT/cap.xml"
  check "as nobody with file capabilities: 80 open (syn-ack), 81 closed (reset)" \
    bash -c "grep -q 'portid=\"80\"><state state=\"open\" reason=\"syn-ack\"' '$OUT/cap.xml' &&
             grep -q 'portid=\"81\"><state state=\"closed\" reason=\"reset\"' '$OUT/cap.xml'"
  check "as nobody without capabilities: connect scan, said once" \
    bash -c "X() { timeout -k 5 60 ip netns exec '$S' \"\$@\"; }; X setpriv --reuid=nobody --regid=nogroup --clear-groups '$TRAWL' -n -Pn -p 80 '$W' 2>&1 | grep -q 'connect scan'"
else
  nok "setcap failed: $(cat "$TMP/setcap.err")"
fi
finish
