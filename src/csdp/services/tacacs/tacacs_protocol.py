"""TACACS+ packets as RFC 8907 defines them: the header, body obfuscation and the bodies a server reads and writes.

Pure functions on bytes, without I/O, so the server module holds only the
session logic. Parsers raise ProtocolError when the field lengths inside a
body do not add up to the body length, which is also what a body
de-obfuscated with the wrong shared secret looks like.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

HEADER = struct.Struct("!BBBBII")
HEADER_LENGTH = HEADER.size
MAJOR_VERSION = 0xC

# Packet types.
AUTHENTICATION = 0x01
AUTHORIZATION = 0x02
ACCOUNTING = 0x03
TYPE_NAMES = {AUTHENTICATION: "authentication", AUTHORIZATION: "authorization", ACCOUNTING: "accounting"}

# Header flags.
FLAG_UNENCRYPTED = 0x01
FLAG_SINGLE_CONNECT = 0x04

# Authentication START actions and types.
ACTION_LOGIN = 0x01
AUTHEN_TYPE_ASCII = 0x01
AUTHEN_TYPE_PAP = 0x02
AUTHEN_TYPE_NAMES = {1: "ascii", 2: "pap", 3: "chap", 5: "mschap", 6: "mschapv2"}

# Authentication REPLY statuses and flags.
AUTHEN_PASS = 0x01
AUTHEN_FAIL = 0x02
AUTHEN_GETUSER = 0x04
AUTHEN_GETPASS = 0x05
AUTHEN_ERROR = 0x07
REPLY_FLAG_NOECHO = 0x01
CONTINUE_FLAG_ABORT = 0x01

# Authorization RESPONSE statuses.
AUTHOR_PASS_ADD = 0x01
AUTHOR_FAIL = 0x10
AUTHOR_ERROR = 0x11

# Accounting REQUEST flags and REPLY statuses.
ACCT_FLAG_START = 0x02
ACCT_FLAG_STOP = 0x04
ACCT_FLAG_WATCHDOG = 0x08
# The flag combinations RFC 8907 allows. WATCHDOG with START is an update.
ACCT_RECORD_TYPES = {
    ACCT_FLAG_START: "start",
    ACCT_FLAG_STOP: "stop",
    ACCT_FLAG_WATCHDOG: "watchdog",
    ACCT_FLAG_WATCHDOG | ACCT_FLAG_START: "update",
}
ACCT_SUCCESS = 0x01
ACCT_ERROR = 0x02


class ProtocolError(Exception):
    """A packet that breaks RFC 8907; the message is safe to log and to send to the client."""


@dataclass(frozen=True)
class Header:
    version: int
    type: int
    seq_no: int
    flags: int
    session_id: int
    length: int

    @classmethod
    def unpack(cls, data: bytes) -> Header:
        return cls(*HEADER.unpack(data))

    def pack(self) -> bytes:
        return HEADER.pack(self.version, self.type, self.seq_no, self.flags, self.session_id, self.length)

    @property
    def major_version(self) -> int:
        return self.version >> 4


def obfuscate(body: bytes, header: Header, secret: bytes) -> bytes:
    """XOR the body with the MD5 pad that RFC 8907 derives from the secret; the same call reverses it."""
    prefix = struct.pack("!I", header.session_id) + secret + bytes([header.version, header.seq_no])
    pad = bytearray()
    previous = b""
    while len(pad) < len(body):
        previous = hashlib.md5(prefix + previous).digest()
        pad += previous
    return bytes(a ^ b for a, b in zip(body, pad))


def _fields(body: bytes, offset: int, lengths: list[int]) -> list[bytes]:
    """Split the variable-length fields that follow the fixed part, checking that they fill the body exactly."""
    if offset + sum(lengths) != len(body):
        raise ProtocolError(
            f"field lengths add up to {offset + sum(lengths)} bytes but the body has {len(body)}; "
            "the client's shared secret differs or the packet is malformed"
        )
    values = []
    for length in lengths:
        values.append(body[offset : offset + length])
        offset += length
    return values


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


@dataclass(frozen=True)
class AuthenStart:
    action: int
    priv_lvl: int
    authen_type: int
    authen_service: int
    user: str
    port: str
    rem_addr: str
    data: bytes


def parse_authen_start(body: bytes) -> AuthenStart:
    if len(body) < 8:
        raise ProtocolError(f"authentication START body of {len(body)} bytes is shorter than its 8-byte fixed part")
    action, priv_lvl, authen_type, service, user_len, port_len, rem_len, data_len = struct.unpack("!8B", body[:8])
    user, port, rem_addr, data = _fields(body, 8, [user_len, port_len, rem_len, data_len])
    return AuthenStart(action, priv_lvl, authen_type, service, _text(user), _text(port), _text(rem_addr), data)


@dataclass(frozen=True)
class AuthenContinue:
    user_msg: bytes
    data: bytes
    flags: int


def parse_authen_continue(body: bytes) -> AuthenContinue:
    if len(body) < 5:
        raise ProtocolError(f"authentication CONTINUE body of {len(body)} bytes is shorter than its 5-byte fixed part")
    user_msg_len, data_len, flags = struct.unpack("!HHB", body[:5])
    user_msg, data = _fields(body, 5, [user_msg_len, data_len])
    return AuthenContinue(user_msg, data, flags)


def authen_reply(status: int, server_msg: str = "", flags: int = 0, data: bytes = b"") -> bytes:
    message = server_msg.encode("utf-8")
    return struct.pack("!BBHH", status, flags, len(message), len(data)) + message + data


@dataclass(frozen=True)
class Request:
    """An authorization or accounting REQUEST; ``flags`` is 0 for authorization."""

    flags: int
    authen_method: int
    priv_lvl: int
    authen_type: int
    authen_service: int
    user: str
    port: str
    rem_addr: str
    arguments: tuple[str, ...]


def parse_author_request(body: bytes) -> Request:
    return _parse_request(body, accounting=False)


def parse_acct_request(body: bytes) -> Request:
    return _parse_request(body, accounting=True)


def _parse_request(body: bytes, *, accounting: bool) -> Request:
    fixed = 9 if accounting else 8
    kind = "accounting" if accounting else "authorization"
    if len(body) < fixed:
        raise ProtocolError(f"{kind} REQUEST body of {len(body)} bytes is shorter than its {fixed}-byte fixed part")
    flags = body[0] if accounting else 0
    method, priv_lvl, authen_type, service, user_len, port_len, rem_len, arg_cnt = struct.unpack(
        "!8B", body[fixed - 8 : fixed]
    )
    if len(body) < fixed + arg_cnt:
        raise ProtocolError(f"{kind} REQUEST announces {arg_cnt} arguments but the body ends before their lengths")
    arg_lengths = list(body[fixed : fixed + arg_cnt])
    values = _fields(body, fixed + arg_cnt, [user_len, port_len, rem_len, *arg_lengths])
    user, port, rem_addr = (_text(value) for value in values[:3])
    arguments = tuple(_text(value) for value in values[3:])
    return Request(flags, method, priv_lvl, authen_type, service, user, port, rem_addr, arguments)


def author_response(status: int, arguments: list[str] = (), server_msg: str = "", data: bytes = b"") -> bytes:
    encoded = [argument.encode("utf-8") for argument in arguments]
    message = server_msg.encode("utf-8")
    fixed = struct.pack("!BBHH", status, len(encoded), len(message), len(data))
    return fixed + bytes(len(argument) for argument in encoded) + message + data + b"".join(encoded)


def acct_reply(status: int, server_msg: str = "", data: bytes = b"") -> bytes:
    message = server_msg.encode("utf-8")
    return struct.pack("!HHB", len(message), len(data), status) + message + data
