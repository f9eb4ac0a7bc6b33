# Flags for every Chromium in this container, sourced by the wrapper that
# replaces /usr/lib/chromium/chromium. Flags a WebDriver client passes come
# after these, so a client may override the window size.

# The sandbox needs user namespaces, which Docker's default seccomp profile blocks.
browser_flags="--no-sandbox --disable-gpu --no-first-run --no-default-browser-check --password-store=basic"

# Chromium keeps renderer memory in /dev/shm, and Docker's default of 64 MiB
# makes heavy tabs crash. Below 1 GiB, --disable-dev-shm-usage moves that memory
# to files under /tmp.
shm_kib=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $2 }')
if [ "${shm_kib:-0}" -lt 1048576 ]; then
    browser_flags="$browser_flags --disable-dev-shm-usage"
fi

# Without a window manager, --start-maximized does nothing: size the window to the screen.
screen=${SCREEN:-1920x1080x24}
screen_width=${screen%%x*}
screen_rest=${screen#*x}
screen_height=${screen_rest%%x*}
browser_flags="$browser_flags --window-position=0,0 --window-size=$screen_width,$screen_height"
