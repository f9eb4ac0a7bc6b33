"""The syslog service: per-replica addresses, both message formats on UDP and TCP, the downloadable file."""

from __future__ import annotations

import io
import socket
import tarfile
import uuid
from datetime import datetime, timezone

import pytest

from service_testing import output_of, wait_for_output

pytestmark = pytest.mark.integration

MESSAGES_FILE = "/var/log/csdp/messages.log"


def rfc3164(text: str) -> bytes:
    stamp = datetime.now().strftime("%b %d %H:%M:%S").replace(" 0", "  ", 1)
    return f"<13>{stamp} qa-host qa-app[42]: {text}".encode()


def rfc5424(text: str) -> bytes:
    stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    return f'<165>1 {stamp} qa-host qa-app 42 ID47 [origin@32473 test="1"] {text}'.encode()


def send_udp(address: str, payload: bytes, port: int = 514) -> None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.sendto(payload, (address, port))


def send_tcp(address: str, payload: bytes, port: int = 514) -> None:
    with socket.create_connection((address, port), timeout=5) as sock:
        sock.sendall(payload)


def token(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}"


def test_syslog_replicas_isolated(runtime, start_service):
    first, second = start_service("syslog", replicas=2)
    assert first.ip_address and second.ip_address
    assert first.ip_address != second.ip_address
    assert first.ipv6_address and second.ipv6_address
    assert first.ipv6_address != second.ipv6_address

    sent = {}
    for info in (first, second):
        for address in (info.ip_address, info.ipv6_address):
            text = token(f"to-{address.replace(':', '_')}")
            send_udp(address, rfc3164(text))
            sent[text] = info.id

    for text, receiver in sent.items():
        assert text in wait_for_output(runtime, receiver, text), f"{text} did not reach {receiver[:12]}"
    for text, receiver in sent.items():
        other = second.id if receiver == first.id else first.id
        assert text not in output_of(runtime, other), f"{text} reached the other replica {other[:12]}"


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("format_name", ["rfc3164", "rfc5424"])
def test_syslog_formats(runtime, start_service, transport, format_name):
    [info] = start_service("syslog")
    text = token(f"{format_name}-{transport}")
    payload = rfc3164(text) if format_name == "rfc3164" else rfc5424(text)

    if transport == "udp":
        send_udp(info.ip_address, payload)
    else:
        send_tcp(info.ip_address, payload + b"\n")

    output = wait_for_output(runtime, info.id, text)
    [line] = [line for line in output.splitlines() if text in line]
    assert " qa-host " in line
    assert "qa-app[42]: " in line
    if format_name == "rfc5424":
        # facility 20 (local4), severity 5 (notice) from <165>, and the structured data kept.
        assert " local4.notice " in line
        assert '[origin@32473 test="1"]' in line
    else:
        assert " user.notice " in line


def test_syslog_octet_counted_tcp(runtime, start_service):
    [info] = start_service("syslog")
    text = token("octet")
    message = rfc5424(text)

    send_tcp(info.ipv6_address, f"{len(message)} ".encode() + message, port=601)

    assert text in wait_for_output(runtime, info.id, text)


def test_syslog_file_download(runtime, start_service):
    [info] = start_service("syslog")
    texts = [token("file-3164"), token("file-5424")]
    send_udp(info.ip_address, rfc3164(texts[0]))
    send_tcp(info.ipv6_address, rfc5424(texts[1]) + b"\n")
    wait_for_output(runtime, info.id, texts[1])
    wait_for_output(runtime, info.id, texts[0])

    stream, stat = runtime.get_files(info.id, MESSAGES_FILE)
    archive = tarfile.open(fileobj=io.BytesIO(b"".join(stream)))
    content = archive.extractfile("messages.log").read().decode()

    assert stat["name"] == "messages.log"
    for text in texts:
        assert text in content
