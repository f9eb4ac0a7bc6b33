#!/bin/sh
# chromedriver starts /usr/lib/chromium/chromium directly, bypassing the flags
# of Debian's /usr/bin/chromium launcher, so this wrapper takes that path and
# adds the container's flags to every start, whatever a client asks for.
. /usr/local/lib/csdp/chromium-flags.sh
# The flags are separate words on purpose.
# shellcheck disable=SC2086
exec /usr/lib/chromium/chromium.real $browser_flags "$@"
