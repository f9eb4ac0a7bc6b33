"""Reading the engine's multiplexed stdout/stderr streams (logs and exec without a TTY).

Each frame is an 8-byte header (stream type, three zero bytes, big-endian
payload size) followed by the payload.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import Any, Callable, Iterator, Literal

HEADER_SIZE = 8
STREAMS: dict[int, Literal["stdout", "stderr"]] = {1: "stdout", 2: "stderr"}


def iter_frames(read: Callable[[int], bytes]) -> Iterator[tuple[Literal["stdout", "stderr"], bytes]]:
    """Yield ``(stream, payload)`` pairs until ``read`` reports the end with ``b""``."""
    while True:
        header = _read_exactly(read, HEADER_SIZE)
        if len(header) < HEADER_SIZE:
            return
        kind, size = header[0], struct.unpack(">I", header[4:])[0]
        payload = _read_exactly(read, size)
        if kind in STREAMS and payload:
            yield STREAMS[kind], payload
        if len(payload) < size:
            return


def _read_exactly(read: Callable[[int], bytes], size: int) -> bytes:
    parts = []
    missing = size
    while missing > 0:
        chunk = read(missing)
        if not chunk:
            break
        parts.append(chunk)
        missing -= len(chunk)
    return b"".join(parts)


class DeadlineSocket:
    """A hijacked engine connection read with an overall deadline.

    ``read`` raises TimeoutError once ``deadline`` (a ``time.monotonic`` value) passes.
    """

    def __init__(self, sock: Any, deadline: float) -> None:
        # The SDK returns a SocketIO wrapper for UNIX sockets; recv needs the socket itself.
        self._sock: socket.socket = getattr(sock, "_sock", sock)
        self._wrapper = sock
        self._deadline = deadline

    def read(self, size: int) -> bytes:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("deadline passed")
        self._sock.settimeout(remaining)
        return self._sock.recv(min(size, 65536))

    def close(self) -> None:
        """Shut the connection down so that the engine stops sending, then release it."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        for closable in (self._wrapper, self._sock):
            try:
                closable.close()
            except OSError:
                pass
