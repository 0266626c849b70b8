#!/bin/sh
# Test PKI for `tracehound check` (crates/probe/tests/check_ns.rs): a root CA, an
# intermediate, and leaves signed by the intermediate (EC P-256, fast to make):
#   good.pem      good.lab, *.good.lab, other.lab, IP 10.92.0.0-ish (valid 1 year)
#   expired.pem   good.lab, valid 2020-01-01 .. 2021-01-01
#   wrongname.pem wrong.example only
#   self.pem      self-signed good.lab
#   rsa1024.pem   good.lab with an RSA 1024-bit key (weak key)
# plus chain files (leaf + intermediate): good-chain.pem, expired-chain.pem, ...
# and root.pem (for --ca). Usage: certs.sh DIR
set -eu
d=$1
mkdir -p "$d"
cd "$d"
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
cat > ca.cnf <<'CNF'
[ca]
default_ca = ica
[ica]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
[v3_ca]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = CA:false
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
: > index.txt
echo 1000 > serial
ec root.key
openssl req -x509 -new -key root.key -subj "/CN=TH Test Root" -days 3650 \
  -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out root.pem 2>/dev/null
ec int.key
openssl req -new -key int.key -subj "/CN=TH Test Intermediate" -out int.csr 2>/dev/null
openssl ca -batch -config ca.cnf -cert root.pem -keyfile root.key -extensions v3_ca -days 3000 \
  -in int.csr -out int.pem 2>/dev/null
leaf() { # name key-file SAN [startdate enddate]
  openssl req -new -key "$2" -subj "/CN=$1" -addext "subjectAltName=$3" -out "$1.csr" 2>/dev/null
  if [ $# -ge 5 ]; then dates="-startdate $4 -enddate $5"; else dates="-days 365"; fi
  # shellcheck disable=SC2086
  openssl ca -batch -config ca.cnf -cert int.pem -keyfile int.key -extensions leaf $dates \
    -in "$1.csr" -out "$1.tmp" 2>/dev/null
  openssl x509 -in "$1.tmp" -out "$1.crt"
}
ec leaf.key
leaf good.lab leaf.key "DNS:good.lab,DNS:*.good.lab,DNS:other.lab" && mv good.lab.crt good.pem
leaf expired.lab leaf.key "DNS:good.lab" 20200101000000Z 20210101000000Z && mv expired.lab.crt expired.pem
leaf wrong.example leaf.key "DNS:wrong.example" && mv wrong.example.crt wrongname.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024.key 2>/dev/null
leaf weak.lab rsa1024.key "DNS:good.lab" && mv weak.lab.crt rsa1024.pem
openssl req -x509 -new -key leaf.key -subj "/CN=good.lab" -days 365 \
  -addext "subjectAltName=DNS:good.lab" -out self.pem 2>/dev/null
for c in good expired wrongname rsa1024; do cat "$c.pem" int.pem > "$c-chain.pem"; done
rm -f ./*.csr ./*.tmp ./*.old ./*.attr ./[0-9A-F][0-9A-F][0-9A-F][0-9A-F].pem
