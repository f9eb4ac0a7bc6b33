"""Client settings: API URL, token, broker URL and timeout.

The environment (``CSDP_URL``, ``CSDP_TOKEN``, ``CSDP_AMQP_URL``, ``CSDP_TIMEOUT``,
``CSDP_RESULTS_EXCHANGE``) wins over the user file ``~/.config/csdp/config.toml``, which ``csdp login`` writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

from csdp.errors import InvalidInput, Unauthorized

DEFAULT_TIMEOUT = 30.0
DEFAULT_RESULTS_EXCHANGE = "csdp.results"


def config_path() -> Path:
    """Return the user config file, under ``$XDG_CONFIG_HOME`` when it is set."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "csdp" / "config.toml"


# A NamedTuple, not a dataclass: dataclasses imports inspect, which would
# slow down every csdp command.
class ClientConfig(NamedTuple):
    url: str
    token: str
    amqp_url: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    # Must equal the server's CSDP_RESULTS_EXCHANGE; only test deployments change it.
    results_exchange: str = DEFAULT_RESULTS_EXCHANGE


def read_config_file(path: Path | None = None) -> dict[str, object]:
    """Return the keys of the config file, or an empty dict when there is none."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(
            f"{path} is not valid TOML ({exc}); fix it or run csdp login again", field="config"
        ) from None


def load_config(*, url: str | None = None, token: str | None = None, require_token: bool = True) -> ClientConfig:
    """Combine arguments, the environment and the config file, in that order of precedence."""
    file_values = read_config_file()
    url = url or os.environ.get("CSDP_URL") or _string(file_values.get("url"))
    token = token or os.environ.get("CSDP_TOKEN") or _string(file_values.get("token"))
    amqp_url = os.environ.get("CSDP_AMQP_URL") or _string(file_values.get("amqp_url"))
    raw_timeout = os.environ.get("CSDP_TIMEOUT") or file_values.get("timeout") or DEFAULT_TIMEOUT
    exchange = os.environ.get("CSDP_RESULTS_EXCHANGE") or _string(file_values.get("results_exchange"))

    if not url:
        raise InvalidInput("no API URL: set CSDP_URL or run csdp login --url URL --token TOKEN", field="url")
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"API URL {url!r} must start with http:// or https://", field="url")
    if require_token and not token:
        raise Unauthorized("no API token: set CSDP_TOKEN or run csdp login", field="token")
    try:
        timeout = float(raw_timeout)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"CSDP_TIMEOUT is {raw_timeout!r}; give a number of seconds such as 30", field="timeout"
        ) from None
    if timeout <= 0:
        raise InvalidInput(f"CSDP_TIMEOUT is {timeout}; give a positive number of seconds", field="timeout")
    return ClientConfig(
        url=url.rstrip("/"),
        token=token or "",
        amqp_url=amqp_url or None,
        timeout=timeout,
        results_exchange=exchange or DEFAULT_RESULTS_EXCHANGE,
    )


def write_config(url: str, token: str, *, amqp_url: str | None = None, path: Path | None = None) -> Path:
    """Write the config file with mode 0600, since it contains the token."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = [f"url = {_toml_string(url.rstrip('/'))}", f"token = {_toml_string(token)}"]
    if amqp_url:
        lines.append(f"amqp_url = {_toml_string(amqp_url)}")

    # Create the file with its final mode so the token is never readable by others.
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return path


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _toml_string(value: str) -> str:
    # JSON string escapes (\", \\, \n, \uXXXX) are a subset of TOML basic strings.
    return json.dumps(value)
