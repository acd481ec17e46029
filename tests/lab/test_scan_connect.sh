#!/usr/bin/env bash
# test_scan_connect.sh BUILD_DIR: trawl's connect scan (-sT) against the
# lab's ground truth and against nmap -sT on the same targets, with Nmap's
# semantics: connection made -> open (syn-ack), refused -> closed
# (conn-refused), timed out -> filtered (no-response), an ICMP error ->
# filtered (nmap says host-unreach on IPv4, admin-prohibited on IPv6 for
# web's rejected port 8081). As root and, as the default scan type, without
# privileges (user nobody); IPv4 and IPv6. Own lab (prefix twconne<pid>-).
# Last line "N passed, M failed"; exit status non-zero on any failure.
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scan-lib.sh"
scan_init connect "${1:-}"
scan_lab_up

PORTS="21 22 53 80 443 2323 8080 8081 8443"
PORTS_C=$(tr ' ' , <<<"$PORTS")
HOSTS4="$LAB_WEB_IP $LAB_DNS_IP $LAB_WIN_IP $LAB_NAT_IP $LAB_LAN1_IP"

# expect HOST PORT -> "STATE REASON" (no TTL: a connect scan sees no packet)
expect() {
  local h=$1 p=$2 open=""
  case $h in
  "$LAB_WEB_IP" | "$LAB_WEB_IP6")
    open=$LAB_WEB_TCP_OPEN
    [ "$p" = 8080 ] && { echo "filtered no-response"; return; }
    [ "$p" = 8081 ] && { echo "filtered ICMP"; return; } ;;
  "$LAB_DNS_IP") open=$LAB_DNS_TCP_OPEN ;;
  "$LAB_WIN_IP") open=$LAB_WIN_TCP_OPEN ;;
  "$LAB_NAT_IP") open=$LAB_NAT_TCP_OPEN ;;
  "$LAB_LAN1_IP") open=$LAB_LAN1_TCP_OPEN ;;
  esac
  if in_list "$p" $open; then echo "open syn-ack"; else echo "closed conn-refused"; fi
}
check_table() { # PORTSFILE LABEL HOST...
  local f=$1 label=$2 h p want got bad; shift 2
  for h in "$@"; do
    bad=""
    for p in $PORTS; do
      want=$(expect "$h" "$p")
      got=$(port_state "$f" "$h" "$p" | cut -d' ' -f1,2)
      if [ "$want" = "filtered ICMP" ]; then
        case $got in "filtered host-unreach" | "filtered admin-prohibited") got=$want ;; esac
      fi
      [ "$got" = "$want" ] || bad+=" $p:[$got]!=[$want]"
    done
    if [ -z "$bad" ]; then ok "$label $h: $(wc -w <<<"$PORTS") ports, state+reason as ground truth"
    else nok "$label $h:$bad"; fi
  done
}
# states only (reasons of ICMP errors may legitimately be spelt differently)
states() { awk '{ print $1, $2, $3, $4 }' "$1"; }

# ------------------------------------------------------------------ root
TR 180 -sT -n --reason -p "$PORTS_C" $HOSTS4 "$LAB_DEAD_IP" -oX "$OUT/ct.xml"
rc=$(cat "$TMP/tr.rc")
if [ "$rc" = 0 ]; then ok "trawl -sT exits 0"; else nok "trawl -sT exits 0 (got $rc): $(head -1 "$TMP/tr.err")"; fi
ports "$OUT/ct.xml" >"$TMP/ct.ports" 2>/dev/null
hosts "$OUT/ct.xml" >"$TMP/ct.hosts" 2>/dev/null
check_table "$TMP/ct.ports" "-sT" $HOSTS4
check "-sT: dead $LAB_DEAD_IP not up" bash -c "! grep -q '^$LAB_DEAD_IP up' '$TMP/ct.hosts'"
check "-sT -oX valid under nmap.dtd, scaninfo type=connect" \
  bash -c "xmllint --noout --dtdvalid $NMAP_DTD '$OUT/ct.xml' && grep -q '<scaninfo type=\"connect\"' '$OUT/ct.xml'"
NM 180 -sT -n --reason -p "$PORTS_C" $HOSTS4 "$LAB_DEAD_IP" -oX "$OUT/nmap-ct.xml"
ports "$OUT/nmap-ct.xml" >"$TMP/nmap-ct.ports" 2>/dev/null
if [ -s "$TMP/nmap-ct.ports" ] && diff <(states "$TMP/nmap-ct.ports") <(states "$TMP/ct.ports") >"$TMP/diff"; then
  ok "-sT port states equal nmap -sT's ($(wc -l <"$TMP/nmap-ct.ports") ports)"
else
  nok "-sT port states equal nmap -sT's (< nmap, > trawl)"; show "$TMP/diff"
fi
check "normal output --reason: '22/tcp open ssh syn-ack'" grep -Eq "^22/tcp +open +[^ ]+ +syn-ack\$" "$TMP/tr.out"
check "normal output --reason: '21/tcp closed ... conn-refused'" grep -Eq "^21/tcp +closed +[^ ]+ +conn-refused\$" "$TMP/tr.out"

# ------------------------------------------------------------------ unprivileged
# No -sT: without privileges it is the default scan type (and discovery
# uses connections to 80 and 443).
UNPRIV=(setpriv --reuid=65534 --regid=65534 --clear-groups)
timeout -k 5 180 ip netns exec "$S" "${UNPRIV[@]}" "$TRAWL" -n --reason -p "$PORTS_C" $HOSTS4 \
  -oX "$OUT/ctu.xml" >"$TMP/ctu.out" 2>"$TMP/ctu.err" </dev/null
rc=$?
if [ "$rc" = 0 ]; then ok "unprivileged trawl (default scan) exits 0"; else nok "unprivileged trawl exits 0 (got $rc): $(head -1 "$TMP/ctu.err")"; fi
check "unprivileged: scaninfo type=connect" grep -q '<scaninfo type="connect"' "$OUT/ctu.xml"
ports "$OUT/ctu.xml" >"$TMP/ctu.ports" 2>/dev/null
check_table "$TMP/ctu.ports" "unprivileged" $HOSTS4

# ------------------------------------------------------------------ IPv6
TR 120 -6 -sT -n --reason -p "$PORTS_C" "$LAB_WEB_IP6" -oX "$OUT/ct6.xml"
ports "$OUT/ct6.xml" >"$TMP/ct6.ports" 2>/dev/null
check_table "$TMP/ct6.ports" "-6 -sT" "$LAB_WEB_IP6"
NM 120 -6 -sT -n --reason -p "$PORTS_C" "$LAB_WEB_IP6" -oX "$OUT/nmap-ct6.xml"
ports "$OUT/nmap-ct6.xml" >"$TMP/nmap-ct6.ports" 2>/dev/null
check "-6 -sT port states equal nmap's" diff <(states "$TMP/nmap-ct6.ports") <(states "$TMP/ct6.ports")

finish
