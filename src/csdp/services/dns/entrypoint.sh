#!/bin/bash
# Write the configuration of an authoritative-only named for $ZONE, render the
# zone from the owner's inventory, and run named in the foreground.
set -euo pipefail

state=/var/lib/csdp/dns
zone=${ZONE:-csdp.test.}
if ! [[ $zone =~ ^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+$ ]]; then
    echo "dns-entrypoint: ZONE=$zone is not a domain name ending in a dot, such as csdp.test." >&2
    exit 2
fi

# rndc lets the reload command reload the zone; the key never leaves the container.
rndc-confgen -a -A hmac-sha256 -c "$state/rndc.key" >/dev/null

cat >"$state/named.conf" <<CONF
include "$state/rndc.key";

controls {
    inet 127.0.0.1 port 953 allow { 127.0.0.1; } keys { "rndc-key"; };
};

options {
    directory "$state";
    pid-file "$state/named.pid";
    session-keyfile "$state/session.key";
    listen-on port 53 { any; };
    listen-on-v6 port 53 { any; };
    // Authoritative only: a name outside the zone gets REFUSED and named
    // never sends a query of its own to another server.
    recursion no;
    allow-recursion { none; };
    allow-query-cache { none; };
    allow-query { any; };
    // A full listing of the zone is for the records action inside the container only.
    allow-transfer { 127.0.0.1; ::1; };
    notify no;
    dnssec-validation no;
    version none;
};

zone "$zone" {
    type primary;
    file "$state/zone.db";
};
CONF

/usr/local/bin/reload-zone --no-reload >/dev/null
named-checkconf "$state/named.conf"

echo "dns-entrypoint: serving zone $zone"
exec named -g -c "$state/named.conf"
