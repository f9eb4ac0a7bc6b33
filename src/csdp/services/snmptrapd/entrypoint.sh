#!/bin/sh
# Write snmptrapd's configuration from SNMP_COMMUNITY and run it in the foreground.
# Traps with another community are dropped without a log line, because only
# this community has the "log" authorisation.
set -eu

community="${SNMP_COMMUNITY:-public}"
# The platform checks the value against the manifest pattern already; checking
# again here keeps a hand-started container from writing a broken config line.
case "$community" in
    "" | *[!A-Za-z0-9._-]*)
        echo "snmptrapd: invalid SNMP_COMMUNITY '$community': use letters, digits, '.', '_' or '-'" >&2
        exit 2
        ;;
esac

cat > /etc/snmp/snmptrapd.conf <<CONF
authCommunity log $community
# One line per trap: time, sender, version, then the variable bindings.
format1 %.4y-%.2m-%.2l %.2h:%.2j:%.2k %b SNMPv1 community $community enterprise %N generic %w specific %q agent %A: %V; %v\n
format2 %.4y-%.2m-%.2l %.2h:%.2j:%.2k %b SNMPv2c community $community: %V; %v\n
CONF

exec snmptrapd -f -C -c /etc/snmp/snmptrapd.conf -Lo -Lf /var/log/csdp/traps.log \
    -m "" -On udp:162 udp6:162
