#!/bin/bash
# Start the virtual display, the VNC server, noVNC and the program given as
# arguments (NAME COMMAND...), such as a WebDriver server, and keep them as
# children: if one of them exits, stop the others and exit non-zero so the
# container's state shows the failure.
#
# Usage: liveview-entrypoint [NAME COMMAND [ARGUMENT...]]
set -euo pipefail

screen=${SCREEN:-1920x1080x24}
if ! [[ $screen =~ ^[0-9]{3,5}x[0-9]{3,5}x(8|16|24)$ ]]; then
    echo "liveview: SCREEN=$screen is not WIDTHxHEIGHTxDEPTH such as 1920x1080x24" >&2
    exit 2
fi
display_number=${DISPLAY#:}
display_number=${display_number%%.*}

declare -A names=()

launch() {
    local name=$1
    shift
    "$@" &
    names[$!]=$name
    echo "liveview: started $name (pid $!)"
}

stop_all() {
    local pid
    for pid in "${!names[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    wait || true
}

on_term() {
    echo "liveview: stopping"
    stop_all
    exit 0
}
trap on_term TERM INT

launch Xvfb Xvfb "$DISPLAY" -screen 0 "$screen" -nolisten tcp -ac
# x11vnc and browsers fail when they start before the display accepts clients.
for _ in $(seq 100); do
    [ -S "/tmp/.X11-unix/X$display_number" ] && break
    sleep 0.1
done
if ! [ -S "/tmp/.X11-unix/X$display_number" ]; then
    echo "liveview: Xvfb did not open display $DISPLAY within 10 s" >&2
    stop_all
    exit 1
fi

# No password: the container is reachable only on the platform's network.
launch x11vnc x11vnc -display "$DISPLAY" -rfbport 5900 -6 -forever -shared -nopw -quiet
# On [::] websockify serves IPv4 clients too; a container without IPv6 has no such address.
novnc_listen=6080
grep -q . /proc/net/if_inet6 2>/dev/null && novnc_listen=[::]:6080
launch websockify websockify --web /usr/share/novnc "$novnc_listen" localhost:5900
if [ $# -ge 2 ]; then
    launch "$@"
fi

status=0
wait -n || status=$?
for pid in "${!names[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "liveview: ${names[$pid]} exited with status $status; stopping the container" >&2
    fi
done
stop_all
exit $(( status == 0 ? 1 : status ))
