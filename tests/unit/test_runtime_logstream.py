"""The log follower's exit watcher, against a fake engine and a local socket pair."""

from __future__ import annotations

import socket
import threading
import time

from csdp.runtime import logstream


class FakeApi:
    """Reports the container as stopped and hands out one end of a socket pair as the stream."""

    def __init__(self, stream_socket: socket.socket) -> None:
        self.stream_socket = stream_socket

    def inspect_container(self, container_id: str) -> dict:
        return {"State": {"Running": False, "Status": "exited", "ExitCode": 0}}

    def _get_raw_response_socket(self, response) -> socket.socket:
        return self.stream_socket


def test_watcher_wakes_blocked_reader():
    reader_end, engine_end = socket.socketpair()
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(reader_end.recv(10)), daemon=True)
    reader.start()
    started = time.monotonic()

    watcher = logstream._ExitWatcher(FakeApi(reader_end), "0123456789abcdef", response=None)
    reader.join(timeout=5)
    watcher.stop()
    reader_end.close()
    engine_end.close()

    assert not reader.is_alive()
    assert received == [b""]
    assert time.monotonic() - started < 5
    assert not watcher._thread.is_alive()


def test_watcher_stop_before_exit():
    reader_end, engine_end = socket.socketpair()

    class RunningApi(FakeApi):
        def inspect_container(self, container_id: str) -> dict:
            return {"State": {"Running": True}}

    watcher = logstream._ExitWatcher(RunningApi(reader_end), "0123456789abcdef", response=None)
    watcher.stop()
    engine_end.sendall(b"still open")

    assert not watcher._thread.is_alive()
    assert reader_end.recv(10) == b"still open"
    reader_end.close()
    engine_end.close()
