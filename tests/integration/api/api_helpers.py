"""Helpers of the API integration tests: waiting for jobs, reading ndjson and tar responses."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time

import httpx

JOB_TIMEOUT = 90


def wait_job(client: httpx.Client, accepted: httpx.Response, timeout: float = JOB_TIMEOUT) -> dict:
    """Follow the job's event stream until it ends and return the last record."""
    assert accepted.status_code == 202, accepted.text
    record = None
    with client.stream("GET", accepted.json()["events_url"], timeout=timeout) as events:
        assert events.status_code == 200
        for line in events.iter_lines():
            if line.startswith("data: "):
                record = json.loads(line[len("data: "):])
    assert record is not None, "the event stream sent no record"
    return record


def succeeded(client: httpx.Client, accepted: httpx.Response) -> dict:
    record = wait_job(client, accepted)
    assert record["state"] == "succeeded", record
    return record


def start(client: httpx.Client, service: str, num: int = 1, **body) -> list[dict]:
    record = succeeded(client, client.post(f"/services/{service}/start", json={"num": num, **body}))
    return record["result"]["containers"]


def ndjson(response: httpx.Response) -> list[dict]:
    return [json.loads(line) for line in response.text.splitlines() if line]


def tar_members(data: bytes) -> dict[str, bytes | str]:
    """Return each member's content, or for a link its target, by name."""
    members = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar:
            if member.isfile():
                members[member.name] = tar.extractfile(member).read()
            else:
                members[member.name] = f"{'link' if member.issym() or member.islnk() else 'dir'}:{member.linkname}"
    return members


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started
