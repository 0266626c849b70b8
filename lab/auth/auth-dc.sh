#!/bin/bash
# auth-dc: logon failures against a real Samba AD DC (realm LAB.TRACEHOUND.TEST), client
# side, one capture per protocol:
#   auth-kerberos.pcap  kinit: wrong password, unknown principal, disabled account, a
#                       password spray over 4 accounts, an account locked out after
#                       repeated wrong passwords, a service ticket for an SPN that does not
#                       exist, a client clock 2 h ahead (faketime: KRB_AP_ERR_SKEW), then a
#                       good logon (PREAUTH_REQUIRED then AS-REP).
#   auth-ldap.pcap      simple binds: wrong password, unknown user, disabled account, a good
#                       bind, SASL NTLM binds (wrong password, then right), a search that hits the size limit, a search under a base that
#                       does not exist.
#   auth-smb.pcap       smbclient (NTLM): wrong password, disabled account, a share that does
#                       not exist, a write to a read-only share (access denied), an anonymous
#                       (null session) pipe open, a good session.
#   auth-http.pcap      curl against a Python server: 200, 403, 404, 500, 502 (Via), 503, 407 and
#                       an NTLM 401 loop.
#   auth-mismatch.pcap  TLS to the plain-HTTP port, HTTP to an SSH banner port, LDAP in clear
#                       to 636.
# Addresses 10.90.1.10 (client) / 10.90.1.20 (DC), namespaces th-h5-<pid>-*. Passwords are
# generated per run and stay in 0600 files (never printed); the wrong ones are fixed junk.
set -eu -o pipefail
AUTH_DIR=$(cd "$(dirname "$0")" && pwd)
LAB_DIR=$(dirname "$AUTH_DIR")
REPO_DIR=$(dirname "$LAB_DIR")
FIXTURES=${FIXTURES:-$REPO_DIR/tests/fixtures/lab}
TH_PREFIX=th-h5-$$
# shellcheck source=../lib/netns.sh
. "$LAB_DIR/lib/netns.sh"
netns_init
mkdir -p "$FIXTURES" "$TH_TMP/out"
CLI=$(ns_create cli)
SRV=$(ns_create dc)
C=10.90.1.10 S=10.90.1.20
REALM=LAB.TRACEHOUND.TEST
ns_link "$CLI" eth0 "$C/24" "$SRV" eth0 "$S/24"

SAMBA_DIR=$TH_TMP/samba
th_on_cleanup "'$LAB_DIR/samba-dc.sh' stop '$SAMBA_DIR' || true"
# two [global] lines through samba-dc.sh's one-line hook (GNU sed expands \n): simple binds
# over plain LDAP allowed (to see AD's bind sub-codes), anonymous (null session) IPC$ refused
SAMBA_LAB_GLOBAL='ldap server require strong auth = no\n\trestrict anonymous = 2' \
    th_run "$LAB_DIR/samba-dc.sh" start "$SRV" "$S" "$SAMBA_DIR" dc >/dev/null
for u in alice bob carol dave erin; do
    th_run "$LAB_DIR/samba-dc.sh" adduser "$SAMBA_DIR" "$u"
done
SAMDB=(-H "$SAMBA_DIR/private/sam.ldb" -s "$SAMBA_DIR/etc/smb.conf")
timeout 60 samba-tool user disable bob "${SAMDB[@]}" >/dev/null
timeout 60 samba-tool domain passwordsettings set --account-lockout-threshold=3 \
    --reset-account-lockout-after=30 --account-lockout-duration=30 "${SAMDB[@]}" >/dev/null

umask 077
WRONG=$TH_TMP/wrong.pw
printf 'Wrong-Passw0rd-1\n' >"$WRONG"
cat >"$TH_TMP/krb5.conf" <<KRB
[libdefaults]
    default_realm = $REALM
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
    # no correction of the client clock from the KDC's answer (the skew step must fail)
    kdc_timesync = 0
[realms]
    $REALM = {
        kdc = $S
    }
KRB
export KRB5_CONFIG=$TH_TMP/krb5.conf KRB5CCNAME=FILE:$TH_TMP/ccache
pw() { printf '%s\n' "$SAMBA_DIR/users/$1.pw"; }
in_cli() { th_run timeout -k 3 20 ip netns exec "$CLI" "$@"; }
# kinit reads the password from its stdin; redirect inside the namespace command (a
# background job's own stdin is /dev/null)
kin() { in_cli sh -c 'exec kinit "$0" <"$1" >/dev/null 2>&1' "$1@$REALM" "$2" || true; }
wait_connect "$CLI" "$S" 88 30 || th_die "KDC not reachable"
kin alice "$(pw alice)" # warm-up (ARP, KDC caches)
kdestroy 2>/dev/null || true

# ---- Kerberos
capture_start "$CLI" eth0 "$TH_TMP/out/auth-kerberos.pcap" port 88
kin alice "$WRONG"
kin nosuchuser "$WRONG"
kin bob "$(pw bob)"
for u in dave erin alice; do kin "$u" "$WRONG"; done
for _ in 1 2 3 4; do kin carol "$WRONG"; done
kin carol "$(pw carol)"
# a client clock two hours ahead (libfaketime): KRB_AP_ERR_SKEW with both clocks
in_cli sh -c 'exec faketime -f "+2h" kinit "$0" <"$1" >/dev/null 2>&1' "erin@$REALM" "$(pw erin)" || true
kin alice "$(pw alice)"
in_cli kvno "HTTP/nosuch.lab.tracehound.test@$REALM" >/dev/null 2>&1 || true
sleep 0.5
capture_stop || th_die "capture problem"

# ---- LDAP
cat >"$TH_TMP/alice.ldap.pw" <"$(pw alice)"
truncate -s -1 "$TH_TMP/alice.ldap.pw"
printf 'Wrong-Passw0rd-1' >"$TH_TMP/wrong.ldap.pw"
cp "$(pw bob)" "$TH_TMP/bob.ldap.pw" && truncate -s -1 "$TH_TMP/bob.ldap.pw"
L=(-x -H "ldap://$S")
BASE=DC=lab,DC=tracehound,DC=test
wait_connect "$CLI" "$S" 389 30 || th_die "LDAP not reachable"
capture_start "$CLI" eth0 "$TH_TMP/out/auth-ldap.pcap" port 389
in_cli ldapwhoami "${L[@]}" -D "alice@lab.tracehound.test" -y "$TH_TMP/wrong.ldap.pw" >/dev/null 2>&1 || true
in_cli ldapwhoami "${L[@]}" -D "nosuchuser@lab.tracehound.test" -y "$TH_TMP/wrong.ldap.pw" >/dev/null 2>&1 || true
in_cli ldapwhoami "${L[@]}" -D "bob@lab.tracehound.test" -y "$TH_TMP/bob.ldap.pw" >/dev/null 2>&1 || true
in_cli ldapwhoami "${L[@]}" -D "alice@lab.tracehound.test" -y "$TH_TMP/alice.ldap.pw" >/dev/null 2>&1 || true
# SASL NTLM binds (Cyrus SASL's NTLM mechanism): a wrong password, then the right one
in_cli ldapwhoami -H "ldap://$S" -Y NTLM -U alice -y "$TH_TMP/wrong.ldap.pw" >/dev/null 2>&1 || true
in_cli ldapwhoami -H "ldap://$S" -Y NTLM -U alice -y "$TH_TMP/alice.ldap.pw" >/dev/null 2>&1 || true
in_cli ldapsearch "${L[@]}" -D "alice@lab.tracehound.test" -y "$TH_TMP/alice.ldap.pw" \
    -b "$BASE" -z 2 '(objectClass=*)' dn >/dev/null 2>&1 || true
in_cli ldapsearch "${L[@]}" -D "alice@lab.tracehound.test" -y "$TH_TMP/alice.ldap.pw" \
    -b "OU=Nowhere,$BASE" '(objectClass=*)' dn >/dev/null 2>&1 || true
sleep 0.5
capture_stop || th_die "capture problem"

# ---- SMB (NTLM: --use-kerberos=off)
authfile() { # USER PWFILE -> smbclient authentication file (0600)
    printf 'username = %s\npassword = %s\ndomain = LAB\n' "$1" "$(cat "$2")" >"$TH_TMP/$1.auth"
    printf '%s\n' "$TH_TMP/$1.auth"
}
A_ALICE=$(authfile alice "$(pw alice)")
A_BOB=$(authfile bob "$(pw bob)")
cp "$A_ALICE" "$TH_TMP/bad.auth"
printf 'username = alice\npassword = Wrong-Passw0rd-1\ndomain = LAB\n' >"$TH_TMP/bad.auth"
SMB=(--use-kerberos=off -m SMB3)
wait_connect "$CLI" "$S" 445 30 || th_die "SMB not reachable"
capture_start "$CLI" eth0 "$TH_TMP/out/auth-smb.pcap" port 445
in_cli smbclient "${SMB[@]}" -A "$TH_TMP/bad.auth" "//$S/netlogon" -c 'ls' >/dev/null 2>&1 || true
in_cli smbclient "${SMB[@]}" -A "$A_BOB" "//$S/netlogon" -c 'ls' >/dev/null 2>&1 || true
in_cli smbclient "${SMB[@]}" -A "$A_ALICE" "//$S/nosuchshare" -c 'ls' >/dev/null 2>&1 || true
in_cli smbclient "${SMB[@]}" -A "$A_ALICE" "//$S/sysvol" -c 'mkdir th-denied' >/dev/null 2>&1 || true
in_cli rpcclient -U% -N "$S" -c 'netshareenumall' >/dev/null 2>&1 || true
in_cli rpcclient -U% -N "$S" -c 'enumdomusers' >/dev/null 2>&1 || true
in_cli smbclient "${SMB[@]}" -N "//$S/IPC\$" -c 'ls' >/dev/null 2>&1 || true
in_cli smbclient "${SMB[@]}" -A "$A_ALICE" "//$S/netlogon" -c 'ls' >/dev/null 2>&1 || true
sleep 0.5
capture_stop || th_die "capture problem"

# ---- HTTP
th_bg "$SRV" /usr/bin/python3 "$AUTH_DIR/httpd.py" "$S" 8080
th_bg "$SRV" /usr/bin/python3 "$AUTH_DIR/banner.py" "$S" 2222
wait_port "$SRV" "$S" 8080 10 || th_die "httpd did not start"
wait_port "$SRV" "$S" 2222 10 || th_die "banner server did not start"
capture_start "$CLI" eth0 "$TH_TMP/out/auth-http.pcap" port 8080
for p in ok forbidden missing missing boom gateway busy proxy ok; do
    in_cli curl -s -o /dev/null "http://$S:8080/$p" || true
done
in_cli curl -s -o /dev/null --ntlm -u 'alice:Wrong-Passw0rd-1' "http://$S:8080/ntlm" || true
sleep 0.5
capture_stop || th_die "capture problem"

# ---- wrong protocol on a port
capture_start "$CLI" eth0 "$TH_TMP/out/auth-mismatch.pcap" port 8080 or port 2222 or port 636
in_cli openssl s_client -connect "$S:8080" -servername www.lab.tracehound.test </dev/null >/dev/null 2>&1 || true
in_cli curl -s -m 5 -o /dev/null "http://$S:2222/" || true
in_cli ldapsearch -x -H "ldap://$S:636" -b "" -s base >/dev/null 2>&1 || true
sleep 0.5
capture_stop || th_die "capture problem"

for f in "$TH_TMP"/out/*.pcap; do
    chmod 0644 "$f"
    mv -f "$f" "$FIXTURES/"
    th_log "wrote $FIXTURES/$(basename "$f") ($(stat -c %s "$FIXTURES/$(basename "$f")") bytes)"
done
