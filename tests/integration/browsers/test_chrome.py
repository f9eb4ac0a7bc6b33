"""The chrome service: remote WebDriver clients, the noVNC live view, the open action and heavy tabs."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver import ChromeOptions

from csdp.catalog import check_parameters
from csdp.errors import InvalidInput

pytestmark = pytest.mark.integration

GIB_IN_KIB = 1024 * 1024
# Text Chromium and chromedriver print when a renderer dies.
CRASH_SIGNS = ("tab crashed", "page crash", "Aw, Snap")
# Builds a heavy page in the open tab: many DOM nodes, a large painted canvas
# and a big JavaScript heap, then reports how many nodes it holds.
HEAVY_PAGE_SCRIPT = """
const count = arguments[0];
const root = document.createElement('div');
for (let i = 0; i < count; i++) {
    const cell = document.createElement('div');
    cell.textContent = 'row ' + i + ' ' + 'x'.repeat(40);
    cell.style.background = 'hsl(' + (i % 360) + ', 70%, 80%)';
    root.appendChild(cell);
}
document.body.appendChild(root);
const canvas = document.createElement('canvas');
canvas.width = 4096;
canvas.height = 4096;
document.body.appendChild(canvas);
const context = canvas.getContext('2d');
const image = context.createImageData(4096, 4096);
for (let i = 0; i < image.data.length; i++) {
    image.data[i] = (i * 2654435761) & 255;
}
context.putImageData(image, 0, 0);
window.heavyHeap = Array.from({length: 20}, () => new Float64Array(1 << 18).fill(Math.random()));
window.scrollTo(0, document.body.scrollHeight);
return document.querySelectorAll('div').length;
"""


def http_url(address: str, port: int, path: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}{path}"


def remote_chrome(address: str) -> webdriver.Remote:
    """A stock Selenium client on this host, with default capabilities."""
    return webdriver.Remote(http_url(address, 4444, ""), options=ChromeOptions())


def recorded_requests(run_action, webhook) -> list[dict]:
    result = run_action(webhook, "requests")
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def wait_for_requests(run_action, webhook, paths: set[str], timeout: float = 10.0) -> set[str]:
    """Return the recorded paths once they include all of ``paths``, or those seen after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        seen = {item["path"] for item in recorded_requests(run_action, webhook)}
        if paths <= seen or time.monotonic() > deadline:
            return seen
        time.sleep(0.2)


def container_output(runtime, container_id: str) -> str:
    return "\n".join(line.text for line in runtime.logs(container_id) if hasattr(line, "text"))


def test_webdriver_reads_webhook(runtime, start_service, run_action):
    webhook = start_service("webhook")
    chrome = start_service("chrome")

    driver = remote_chrome(chrome.ip_address)
    try:
        driver.get(http_url(webhook.ip_address, 80, "/browser/page?from=selenium"))
        source = driver.page_source
        user_agent = driver.execute_script("return navigator.userAgent")
        window = driver.get_window_size()
    finally:
        driver.quit()

    assert '"status": "recorded"' in source or '"status":"recorded"' in source
    assert "HeadlessChrome" not in user_agent
    # The window fills the screen; Chromium reported 1919 wide on a 1920 screen here.
    assert 1900 <= window["width"] <= 1920
    assert 1060 <= window["height"] <= 1080
    [record] = [item for item in recorded_requests(run_action, webhook) if item["path"] == "/browser/page"]
    assert record["method"] == "GET"
    assert record["query"] == {"from": ["selenium"]}
    assert "Chrome/" in record["headers"]["User-Agent"]


def test_live_view_served(start_service):
    chrome = start_service("chrome")

    pages = []
    for address in (chrome.ip_address, chrome.ipv6_address):
        with urllib.request.urlopen(http_url(address, 6080, "/vnc.html"), timeout=5) as answer:
            pages.append((answer.status, "noVNC" in answer.read().decode()))
    with socket.create_connection((chrome.ip_address, 6080), timeout=5) as connection:
        connection.sendall(
            b"GET /websockify HTTP/1.1\r\nHost: chrome\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)) + b"\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n"
        )
        handshake = connection.recv(4096).decode("latin-1")
    with socket.create_connection((chrome.ip_address, 5900), timeout=5) as connection:
        greeting = connection.recv(12)

    assert pages == [(200, True), (200, True)]
    assert handshake.startswith("HTTP/1.1 101"), handshake
    assert greeting.startswith(b"RFB 003.")


def test_screen_parameter_ipv6(start_service):
    chrome = start_service("chrome", {"screen": "1280x720x24"})

    driver = remote_chrome(chrome.ipv6_address)
    try:
        screen = driver.execute_script("return [screen.width, screen.height, screen.colorDepth]")
    finally:
        driver.quit()

    assert screen == [1280, 720, 24]


def test_driver_exit_stops_container(runtime, start_service):
    chrome = start_service("chrome")

    runtime.exec(chrome.id, ["sh", "-c", "kill $(grep -l chromedriver /proc/[0-9]*/comm | cut -d/ -f3)"], timeout=10)

    deadline = time.monotonic() + 5
    while runtime.info(chrome.id).status == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    info = runtime.info(chrome.id)
    assert info.status == "exited"
    assert info.exit_code not in (None, 0)
    assert "chromedriver exited" in container_output(runtime, chrome.id)


def test_open_action_live_view(runtime, start_service, run_action):
    webhook = start_service("webhook")
    chrome = start_service("chrome")
    targets = [http_url(webhook.ip_address, 80, path) for path in ("/opened/first", "/opened/second")]

    # The second call hands its URL to the browser the first one started.
    results = [run_action(chrome, "open", {"url": target}) for target in targets]

    assert [result.exit_code for result in results] == [0, 0], [result.stderr for result in results]
    outputs = [json.loads(result.stdout) for result in results]
    assert [output["url"] for output in outputs] == targets
    live_view = f"http://{chrome.ip_address}:6080/vnc.html?autoconnect=1&resize=scale"
    assert [output["live_view"] for output in outputs] == [live_view, live_view]
    with urllib.request.urlopen(live_view, timeout=5) as answer:
        assert answer.status == 200
        assert "noVNC" in answer.read().decode()
    assert {"/opened/first", "/opened/second"} <= wait_for_requests(run_action, webhook, {"/opened/first", "/opened/second"})


def test_open_action_rejects_flag(catalog):
    action = catalog.get("chrome").manifest.action("open")

    # A value that Chromium would read as a command-line switch never reaches the container.
    with pytest.raises(InvalidInput, match="parameter 'url' is .* which does not match the pattern"):
        check_parameters(action.parameters, {"url": "--renderer-cmd-prefix=/bin/sh"})


def open_heavy_tabs(address: str) -> tuple[list[int], list[int]]:
    """Build a heavy page in each of five new tabs, then ask every tab again; return both node counts.

    A renderer that dies makes WebDriver raise "tab crashed", which fails the test.
    """
    driver = remote_chrome(address)
    try:
        built = []
        for _ in range(5):
            driver.switch_to.new_window("tab")
            built.append(driver.execute_script(HEAVY_PAGE_SCRIPT, 20000))
            driver.get_screenshot_as_png()
        alive = []
        for handle in driver.window_handles[1:]:
            driver.switch_to.window(handle)
            alive.append(driver.execute_script("return document.querySelectorAll('div').length"))
    finally:
        driver.quit()
    return built, alive


def shm_kib_of(runtime, container_id: str) -> int:
    result = runtime.exec(container_id, ["df", "-Pk", "/dev/shm"], timeout=10)
    return int(result.stdout.decode().splitlines()[1].split()[1])


def chromium_command_lines(runtime, container_id: str) -> str:
    result = runtime.exec(container_id, ["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"], timeout=10)
    return result.stdout.decode()


def test_heavy_tabs_no_crash(runtime, start_service):
    chrome = start_service("chrome")

    built, alive = open_heavy_tabs(chrome.ip_address)

    assert shm_kib_of(runtime, chrome.id) >= GIB_IN_KIB
    assert built == [20001] * 5
    assert alive == [20001] * 5
    output = container_output(runtime, chrome.id)
    assert not [sign for sign in CRASH_SIGNS if sign in output]


def test_heavy_tabs_small_shm(runtime, start_service):
    # Docker's default /dev/shm of 64 MiB, as on an engine that ignores the manifest's size.
    chrome = start_service("chrome", shm_size=None)

    driver = remote_chrome(chrome.ip_address)
    try:
        driver.get("about:blank")
        command_lines = chromium_command_lines(runtime, chrome.id)
    finally:
        driver.quit()
    built, alive = open_heavy_tabs(chrome.ip_address)

    assert shm_kib_of(runtime, chrome.id) < GIB_IN_KIB
    assert "--disable-dev-shm-usage" in command_lines
    assert built == [20001] * 5
    assert alive == [20001] * 5
    output = container_output(runtime, chrome.id)
    assert not [sign for sign in CRASH_SIGNS if sign in output]
