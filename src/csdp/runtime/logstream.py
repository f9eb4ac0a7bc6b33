"""Container output: reading, following until the container exits, and clearing.

Clearing cannot delete the engine's log file, so the engine time of the clear
is stored in a small file inside the container and applied as ``since``.
"""

from __future__ import annotations

import io
import logging
import socket
import tarfile
import threading
from datetime import datetime, timezone
from typing import Any, Iterator

import docker
import docker.errors
import urllib3.exceptions

from csdp.errors import NotFound
from csdp.runtime.base import LogEnd, LogLine
from csdp.runtime.engine_errors import engine_errors
from csdp.runtime.frames import iter_frames
from csdp.runtime.labels import parse_engine_time
from csdp.runtime.names import short_id

log = logging.getLogger(__name__)

CLEAR_MARK_DIR = ".csdp"
CLEAR_MARK_PATH = "/.csdp/logs-cleared"
# How often a follower checks whether the container still runs, in seconds.
FOLLOW_POLL_SECONDS = 0.5
# Time the engine gets to end the stream by itself after the container stopped, in seconds.
FOLLOW_GRACE_SECONDS = 1.0


def clear_logs(api: docker.APIClient, container_id: str) -> datetime:
    """Store the engine's current time as the clear mark of the container and return it."""
    with engine_errors("log clear", container=container_id):
        now = api.info()["SystemTime"]
        api.put_archive(container_id, "/", _mark_archive(now.encode("ascii")))
    log.info("cleared logs of container %s at %s", short_id(container_id), now)
    return parse_engine_time(now)


def cleared_at(api: docker.APIClient, container_id: str) -> datetime | None:
    """Return the time of the last clear, or None if the logs were never cleared."""
    try:
        with engine_errors("log read", container=container_id, path=CLEAR_MARK_PATH):
            stream, _ = api.get_archive(container_id, CLEAR_MARK_PATH)
            data = b"".join(stream)
    except NotFound as exc:
        if "path" not in exc.details:
            raise
        return None
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.extractfile(tar.next())
        text = member.read().decode("ascii") if member else ""
    return parse_engine_time(text) if text else None


def read_logs(
    api: docker.APIClient,
    container_id: str,
    *,
    since: datetime | None,
    until: datetime | None,
    follow: bool,
    tail: int | None,
) -> LogStream:
    """Open a log read after ``since`` and the last clear; with ``follow``, it ends with LogEnd at exit.

    The engine request is made here, so a missing container raises NotFound
    before the first line is read.
    """
    mark = cleared_at(api, container_id)
    if mark is not None and (since is None or _utc(since) < mark):
        since = mark
    params = _params(since, until, follow, tail)

    with engine_errors("log read", container=container_id):
        response = api._get(api._url("/containers/{0}/logs", container_id), params=params, stream=True)
        api._raise_for_status(response)
    return LogStream(api, container_id, response, mark=mark, follow=follow)


class LogStream:
    """Iterator over one log read whose ``close()`` may be called from any thread.

    A reader blocked on a quiet, running container is woken by shutting the
    socket down, so a client that leaves never keeps a thread waiting.
    """

    def __init__(self, api: docker.APIClient, container_id: str, response: Any, *, mark: datetime | None, follow: bool) -> None:
        self._api = api
        self._response = response
        self._closed = threading.Event()
        self._lines = self._iterate(container_id, mark, follow)

    def __iter__(self) -> LogStream:
        return self

    def __next__(self) -> LogLine | LogEnd:
        return next(self._lines)

    def close(self) -> None:
        self._closed.set()
        _shutdown(self._api, self._response)
        try:
            self._lines.close()
        except ValueError:
            # Another thread is inside next(); the shut-down socket ends it there.
            pass

    def _iterate(self, container_id: str, mark: datetime | None, follow: bool) -> Iterator[LogLine | LogEnd]:
        watcher = _ExitWatcher(self._api, container_id, self._response) if follow else None
        try:
            for stream, data in iter_frames(_reader(self._response)):
                line = _parse_line(stream, data)
                if mark is None or line.timestamp > mark:
                    yield line
        finally:
            if watcher is not None:
                watcher.stop()
            self._response.close()

        if follow and not self._closed.is_set():
            yield _log_end(self._api, container_id)


def _params(since: datetime | None, until: datetime | None, follow: bool, tail: int | None) -> dict[str, Any]:
    params: dict[str, Any] = {"stdout": 1, "stderr": 1, "timestamps": 1, "follow": int(follow)}
    params["tail"] = str(tail) if tail is not None and tail >= 0 else "all"
    if since is not None:
        params["since"] = _engine_timestamp(since)
    if until is not None:
        params["until"] = _engine_timestamp(until)
    return params


def _engine_timestamp(value: datetime) -> str:
    """Format a time as the engine's ``seconds.nanoseconds`` form, keeping microseconds."""
    stamp = _utc(value)
    seconds = int(stamp.timestamp())
    return f"{seconds}.{stamp.microsecond * 1000:09d}"


def _reader(response: Any):
    def read(size: int) -> bytes:
        try:
            return response.raw.read(size)
        except (OSError, ValueError, AttributeError, urllib3.exceptions.HTTPError):
            # The watcher shut the connection down: treat it as the end of the stream.
            return b""

    return read


def _parse_line(stream: str, data: bytes) -> LogLine:
    text = data.decode("utf-8", "replace")
    stamp, _, rest = text.partition(" ")
    try:
        timestamp = parse_engine_time(stamp)
    except ValueError:
        timestamp, rest = datetime.now(timezone.utc), text
    return LogLine(stream, timestamp, rest.rstrip("\n"))


def _log_end(api: docker.APIClient, container_id: str) -> LogEnd:
    with engine_errors("log read", container=container_id):
        state = api.inspect_container(container_id)["State"]
    status = state.get("Status", "unknown")
    return LogEnd(status, state.get("ExitCode") if status in ("exited", "dead") else None)


def _mark_archive(content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        directory = tarfile.TarInfo(CLEAR_MARK_DIR)
        directory.type = tarfile.DIRTYPE
        directory.mode = 0o755
        tar.addfile(directory)
        mark = tarfile.TarInfo(CLEAR_MARK_PATH.lstrip("/"))
        mark.size = len(content)
        mark.mode = 0o644
        tar.addfile(mark, io.BytesIO(content))
    return buffer.getvalue()


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class _ExitWatcher:
    """A thread that ends a followed log stream once the container stopped.

    The engine usually ends the stream itself at exit, but not always. The
    SDK's read has no timeout, so the watcher shuts the socket down to wake the reader.
    """

    def __init__(self, api: docker.APIClient, container_id: str, response: Any) -> None:
        self._api = api
        self._container_id = container_id
        self._response = response
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"csdp-log-follow-{short_id(container_id)}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopped.wait(FOLLOW_POLL_SECONDS):
            try:
                running = self._api.inspect_container(self._container_id)["State"]["Running"]
            except docker.errors.NotFound:
                running = False
            except Exception as exc:  # a transient engine error must not end the follow
                log.info("log follow of container %s: state check failed: %s", short_id(self._container_id), exc)
                continue
            if not running:
                break
        if self._stopped.wait(FOLLOW_GRACE_SECONDS):
            return
        log.info("log follow of container %s: container stopped, closing the stream", short_id(self._container_id))
        _shutdown(self._api, self._response)


def _shutdown(api: docker.APIClient, response: Any) -> None:
    try:
        sock = api._get_raw_response_socket(response)
        getattr(sock, "_sock", sock).shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError, docker.errors.DockerException) as exc:
        log.info("cannot shut down a log stream: %s", exc)
