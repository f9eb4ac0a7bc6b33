#!/bin/sh
# Add or replace one extra OID with a fixed value, then reload snmpd.
# Usage: snmpd-set-oid OID TYPE VALUE
set -eu

if [ $# -ne 3 ]; then
    echo "usage: snmpd-set-oid OID TYPE VALUE" >&2
    exit 2
fi
oid=$1
type=$2
value=$3
file=/etc/snmp/extra.d/actions.conf

touch "$file"
# One line per OID: drop the old value of this OID before writing the new one.
awk -v oid="$oid" '!($1 == "override" && $3 == oid)' "$file" > "$file.new"
echo "override -rw $oid $type \"$value\"" >> "$file.new"
mv "$file.new" "$file"
echo "set $oid ($type) to \"$value\""
exec /usr/local/bin/snmpd-reload
