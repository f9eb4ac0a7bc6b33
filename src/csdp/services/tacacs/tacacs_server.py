"""TACACS+ server (RFC 8907) on TCP 49 for tests: password-plus-TOTP logins, fixed authorization, logged accounting.

Authentication supports the LOGIN action with ASCII (the server prompts for
the user name when START has none, then for the password) and PAP (the password
comes in START). The password is the user's password followed by the current
6-digit TOTP code, checked by otp_users.py, which also rejects a reused code.
Authorization replies PASS_ADD with the configured attributes for a known
user and FAIL for an unknown one. Accounting START, STOP, WATCHDOG and update
records are logged and appended as JSON lines to the accounting file.

Only clients inside the allowed networks are served. Bodies are obfuscated
with the shared secret; a packet with the unencrypted flag gets an ERROR
reply unless unencrypted packets are allowed. A connection serves one session
and is closed after it, unless the client sets the single-connect flag in its
first packet. The minor version is echoed but not checked against the
authentication type, because clients differ: tacacs_plus 2.6 keeps minor
version 1 for an ASCII login after a PAP login on the same client object.

Environment: TACACS_SECRET, TACACS_CLIENTS (comma-separated CIDRs; empty
means the container's own networks), TACACS_ALLOW_UNENCRYPTED (true or
false), TACACS_AUTHORIZATION (attributes separated by commas, such as
priv-lvl=15,service=shell), TACACS_ACCOUNTING_FILE, TACACS_PORT, and
OTP_USERS, OTP_ISSUER, OTP_WINDOW (see otp_users.py).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone

import networks
import otp_users
import tacacs_protocol as tac

log = logging.getLogger("tacacs")

# Largest body accepted, in bytes; RFC 8907 allows 2**32 - 1, which no real request needs.
MAX_BODY_LENGTH = 65535
# Seconds a connection may stay silent before it is closed.
IDLE_TIMEOUT_SECONDS = 30
# How many times an ASCII login prompts for the user name before it fails.
MAX_USER_PROMPTS = 3


@dataclass(frozen=True)
class Config:
    secret: bytes
    clients: tuple[networks.Network, ...]
    allow_unencrypted: bool
    authorization: tuple[str, ...]
    accounting_file: str
    port: int


def load_config(environment: dict[str, str]) -> Config:
    """Read the configuration from the environment; raise ValueError naming a bad value and the fix."""
    secret = environment.get("TACACS_SECRET", "")
    if not secret:
        raise ValueError("TACACS_SECRET is empty; set the secret parameter")
    clients = tuple(networks.parse_networks(environment.get("TACACS_CLIENTS", "")) or networks.local_networks())
    if not clients:
        raise ValueError("no client networks: set the clients parameter or attach the container to a network")
    authorization = tuple(filter(None, (part.strip() for part in environment.get("TACACS_AUTHORIZATION", "").split(","))))
    for attribute in authorization:
        if "=" not in attribute and "*" not in attribute or len(attribute.encode("utf-8")) > 255:
            raise ValueError(
                f"authorization attribute {attribute!r} is invalid: write name=value (or name*value for an "
                "optional one), at most 255 bytes"
            )
    return Config(
        secret=secret.encode("utf-8"),
        clients=clients,
        allow_unencrypted=environment.get("TACACS_ALLOW_UNENCRYPTED", "false") == "true",
        authorization=authorization,
        accounting_file=environment.get("TACACS_ACCOUNTING_FILE", "/var/log/tacacs/accounting.jsonl"),
        port=int(environment.get("TACACS_PORT", "49")),
    )


@dataclass
class Session:
    """State of one authentication session between its packets."""

    user: str
    user_prompts: int = 0
    awaiting: str = "password"


@dataclass
class Connection:
    """One client connection; it may carry several sessions when single-connect was agreed."""

    client: str
    single_connect: bool | None = None
    sessions: dict[int, Session] = field(default_factory=dict)
    expected_seq: dict[int, int] = field(default_factory=dict)


class SessionEnd(Exception):
    """The reply just sent ends the session."""


class TacacsServer:
    def __init__(self, config: Config) -> None:
        self.config = config

    def allowed(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return any(ip.version == network.version and ip in network for network in self.config.clients)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = writer.get_extra_info("peername")[0]
        try:
            if not self.allowed(client):
                log.warning("connection from %s rejected: not inside the client networks", client)
                return
            connection = Connection(client)
            while await self._serve_packet(connection, reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError) as exc:
            log.info("connection from %s ended: %s", client, type(exc).__name__)
        except Exception:
            log.exception("connection from %s failed", client)
        finally:
            writer.close()

    async def _serve_packet(self, connection: Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Read one packet and reply; return whether the connection stays open."""
        try:
            raw_header = await asyncio.wait_for(reader.readexactly(tac.HEADER_LENGTH), IDLE_TIMEOUT_SECONDS)
        except asyncio.IncompleteReadError as exc:
            # A closed connection between sessions is normal; a port probe sends nothing at all.
            if exc.partial:
                log.warning("connection from %s closed inside a header", connection.client)
            return False
        header = tac.Header.unpack(raw_header)
        where = f"session {header.session_id:#010x} from {connection.client}"
        if header.major_version != tac.MAJOR_VERSION or header.type not in tac.TYPE_NAMES:
            log.warning("%s: not a TACACS+ packet (version %#x, type %d); closing", where, header.version, header.type)
            return False
        if header.length > MAX_BODY_LENGTH:
            log.warning("%s: body of %d bytes exceeds %d; closing", where, header.length, MAX_BODY_LENGTH)
            return False
        body = await asyncio.wait_for(reader.readexactly(header.length), IDLE_TIMEOUT_SECONDS)
        if connection.single_connect is None:
            connection.single_connect = bool(header.flags & tac.FLAG_SINGLE_CONNECT)

        unencrypted = bool(header.flags & tac.FLAG_UNENCRYPTED)
        if unencrypted and not self.config.allow_unencrypted:
            log.warning("%s: %s packet has the unencrypted flag, which is not allowed; replying ERROR", where, tac.TYPE_NAMES[header.type])
            self._send(writer, connection, header, _error_body(header.type, "unencrypted packets are not accepted; set the shared secret on the client"))
            await writer.drain()
            return False
        if not unencrypted:
            body = tac.obfuscate(body, header, self.config.secret)

        expected = connection.expected_seq.get(header.session_id, 1)
        if header.seq_no != expected:
            log.warning("%s: sequence number %d, expected %d; replying ERROR", where, header.seq_no, expected)
            self._send(writer, connection, header, _error_body(header.type, f"sequence number {header.seq_no} is out of order"))
            await writer.drain()
            return False

        try:
            reply = await self._dispatch(connection, header, body, where)
            ended = False
        except tac.ProtocolError as exc:
            # After a body that does not parse, the stream cannot be trusted: close it.
            log.warning("%s: %s; replying ERROR", where, exc)
            self._send(writer, connection, header, _error_body(header.type, str(exc)))
            await writer.drain()
            return False
        except SessionEnd as end:
            reply, ended = end.args[0], True
        if reply is None:
            ended = True
        else:
            self._send(writer, connection, header, reply)
        await writer.drain()

        if ended or header.session_id not in connection.sessions:
            connection.sessions.pop(header.session_id, None)
            connection.expected_seq.pop(header.session_id, None)
            return bool(connection.single_connect)
        # The next request is seq_no + 2 and its reply seq_no + 3, which must fit in one byte.
        if header.seq_no + 3 > 255:
            log.warning("%s: sequence numbers exhausted; closing", where)
            return False
        connection.expected_seq[header.session_id] = header.seq_no + 2
        return True

    def _send(self, writer: asyncio.StreamWriter, connection: Connection, request: tac.Header, body: bytes) -> None:
        flags = request.flags & tac.FLAG_UNENCRYPTED
        if connection.single_connect:
            flags |= tac.FLAG_SINGLE_CONNECT
        header = tac.Header(request.version, request.type, request.seq_no + 1, flags, request.session_id, len(body))
        if not flags & tac.FLAG_UNENCRYPTED:
            body = tac.obfuscate(body, header, self.config.secret)
        writer.write(header.pack() + body)

    async def _dispatch(self, connection: Connection, header: tac.Header, body: bytes, where: str) -> bytes | None:
        if header.type == tac.AUTHENTICATION:
            if header.seq_no == 1:
                return await self._authen_start(connection, header, tac.parse_authen_start(body), where)
            return await self._authen_continue(connection, header, tac.parse_authen_continue(body), where)
        if header.seq_no != 1:
            raise tac.ProtocolError(f"{tac.TYPE_NAMES[header.type]} sessions have one request, but seq_no is {header.seq_no}")
        if header.type == tac.AUTHORIZATION:
            return await self._authorize(tac.parse_author_request(body), where)
        return self._account(tac.parse_acct_request(body), connection.client, header.session_id, where)

    # Authentication.

    async def _authen_start(self, connection: Connection, header: tac.Header, start: tac.AuthenStart, where: str) -> bytes:
        kind = tac.AUTHEN_TYPE_NAMES.get(start.authen_type, str(start.authen_type))
        log.info(
            "%s: authentication START type=%s action=%d user=%r port=%r rem_addr=%r priv_lvl=%d",
            where, kind, start.action, start.user, start.port, start.rem_addr, start.priv_lvl,
        )
        if start.action != tac.ACTION_LOGIN:
            log.info("%s: authentication FAIL: action %d is not supported", where, start.action)
            raise SessionEnd(tac.authen_reply(tac.AUTHEN_FAIL, "only the LOGIN action is supported"))
        if start.authen_type == tac.AUTHEN_TYPE_PAP:
            raise SessionEnd(await self._login(start.user, start.data.decode("utf-8", "replace"), where))
        if start.authen_type != tac.AUTHEN_TYPE_ASCII:
            log.info("%s: authentication FAIL: type %s is not supported", where, kind)
            raise SessionEnd(tac.authen_reply(tac.AUTHEN_FAIL, "only ASCII and PAP authentication are supported"))

        session = Session(start.user)
        connection.sessions[header.session_id] = session
        if not session.user:
            session.awaiting = "user"
            session.user_prompts = 1
            return tac.authen_reply(tac.AUTHEN_GETUSER, "Username: ")
        return tac.authen_reply(tac.AUTHEN_GETPASS, "Password: ", tac.REPLY_FLAG_NOECHO)

    async def _authen_continue(self, connection: Connection, header: tac.Header, message: tac.AuthenContinue, where: str) -> bytes | None:
        session = connection.sessions.get(header.session_id)
        if session is None:
            raise tac.ProtocolError("CONTINUE for a session that has no START")
        if message.flags & tac.CONTINUE_FLAG_ABORT:
            log.info("%s: authentication aborted by the client", where)
            connection.sessions.pop(header.session_id)
            return None
        text = message.user_msg.decode("utf-8", "replace")
        if session.awaiting == "user":
            log.info("%s: authentication CONTINUE with user=%r", where, text)
            if not text:
                if session.user_prompts >= MAX_USER_PROMPTS:
                    log.info("%s: authentication FAIL: no user name after %d prompts", where, session.user_prompts)
                    connection.sessions.pop(header.session_id)
                    return tac.authen_reply(tac.AUTHEN_FAIL, "Authentication failed")
                session.user_prompts += 1
                return tac.authen_reply(tac.AUTHEN_GETUSER, "Username: ")
            session.user, session.awaiting = text, "password"
            return tac.authen_reply(tac.AUTHEN_GETPASS, "Password: ", tac.REPLY_FLAG_NOECHO)
        log.info("%s: authentication CONTINUE with the password of user=%r", where, session.user)
        connection.sessions.pop(header.session_id)
        return await self._login(session.user, text, where)

    async def _login(self, user: str, password_and_code: str, where: str) -> bytes:
        result = await asyncio.to_thread(otp_users.check, user, password_and_code)
        if result.accepted:
            log.info("%s: authentication PASS user=%r", where, user)
            return tac.authen_reply(tac.AUTHEN_PASS, "Authentication succeeded")
        log.info("%s: authentication FAIL user=%r: %s", where, user, result.reason)
        return tac.authen_reply(tac.AUTHEN_FAIL, "Authentication failed")

    # Authorization and accounting.

    async def _authorize(self, request: tac.Request, where: str) -> bytes:
        log.info(
            "%s: authorization REQUEST user=%r port=%r rem_addr=%r priv_lvl=%d args=%s",
            where, request.user, request.port, request.rem_addr, request.priv_lvl, list(request.arguments),
        )
        if not await asyncio.to_thread(otp_users.user_exists, request.user):
            log.info("%s: authorization FAIL: unknown user %r", where, request.user)
            return tac.author_response(tac.AUTHOR_FAIL, server_msg=f"unknown user {request.user}")
        log.info("%s: authorization PASS_ADD user=%r args=%s", where, request.user, list(self.config.authorization))
        return tac.author_response(tac.AUTHOR_PASS_ADD, list(self.config.authorization))

    def _account(self, request: tac.Request, client: str, session_id: int, where: str) -> bytes:
        record_type = tac.ACCT_RECORD_TYPES.get(request.flags)
        if record_type is None:
            log.warning("%s: accounting REQUEST with invalid flags %#04x; replying ERROR", where, request.flags)
            return tac.acct_reply(tac.ACCT_ERROR, f"invalid accounting flags {request.flags:#04x}")
        record = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "client": client,
            "session_id": session_id,
            "type": record_type,
            "user": request.user,
            "port": request.port,
            "rem_addr": request.rem_addr,
            "priv_lvl": request.priv_lvl,
            "arguments": list(request.arguments),
        }
        log.info(
            "%s: accounting %s user=%r port=%r rem_addr=%r args=%s",
            where, record_type.upper(), request.user, request.port, request.rem_addr, list(request.arguments),
        )
        try:
            with open(self.config.accounting_file, "a", encoding="utf-8") as file:
                file.write(json.dumps(record) + "\n")
        except OSError as exc:
            log.error("%s: cannot write the accounting record to %s: %s", where, self.config.accounting_file, exc)
            return tac.acct_reply(tac.ACCT_ERROR, "the accounting record could not be stored")
        return tac.acct_reply(tac.ACCT_SUCCESS)


def _error_body(packet_type: int, message: str) -> bytes:
    if packet_type == tac.AUTHENTICATION:
        return tac.authen_reply(tac.AUTHEN_ERROR, message)
    if packet_type == tac.AUTHORIZATION:
        return tac.author_response(tac.AUTHOR_ERROR, server_msg=message)
    return tac.acct_reply(tac.ACCT_ERROR, message)


async def serve(config: Config) -> None:
    server = TacacsServer(config)
    # No host: asyncio listens on every IPv4 and IPv6 address, each family on its own socket.
    listener = await asyncio.start_server(server.handle, host=None, port=config.port)
    addresses = ", ".join(str(sock.getsockname()[0]) for sock in listener.sockets)
    log.info(
        "listening on TCP port %d (%s); clients allowed from %s; unencrypted packets %s",
        config.port, addresses, ", ".join(map(str, config.clients)), "allowed" if config.allow_unencrypted else "rejected",
    )
    async with listener:
        await listener.serve_forever()


def main() -> int:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        config = load_config(dict(os.environ))
        names, store_kept = otp_users.initialize(
            os.environ.get("OTP_USERS", ""), os.environ.get("OTP_ISSUER", "csdp-tacacs"), int(os.environ.get("OTP_WINDOW", "1"))
        )
    except (ValueError, networks.NetworksError, otp_users.UsersError) as exc:
        log.error("cannot start: %s", exc)
        return 2
    log.info("%d users %s: %s", len(names), "kept from the previous start" if store_kept else "loaded", ", ".join(names) or "none")
    try:
        asyncio.run(serve(config))
    except KeyboardInterrupt:
        pass
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
