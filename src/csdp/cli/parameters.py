"""Turn ``-p NAME=VALUE`` options into typed parameter values, using the catalog's parameter types."""

from __future__ import annotations

from typing import Any

from csdp.errors import InvalidInput

TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


def parse_assignments(items: list[str] | None, declared: list[dict[str, Any]], *, option: str = "-p") -> dict[str, Any]:
    """Return ``{name: value}`` from ``NAME=VALUE`` strings, typed by the declared parameters.

    The API checks ranges and patterns; this only converts, and rejects names
    the service does not declare so a typo fails before anything is sent.
    """
    by_name = {parameter["name"]: parameter for parameter in declared}
    values: dict[str, Any] = {}
    for item in items or []:
        name, separator, text = item.partition("=")
        name = name.strip()
        if not separator or not name:
            raise InvalidInput(f"{option} {item!r} is not NAME=VALUE, such as {option} port=514", field=option)
        parameter = by_name.get(name)
        if parameter is None:
            allowed = ", ".join(by_name) or "none"
            raise InvalidInput(f"unknown parameter {name!r}; allowed parameters: {allowed}", field=f"parameters.{name}")
        values[name] = convert(parameter, text)
    return values


def read_parameter_files(items: list[str] | None, declared: list[dict[str, Any]], option: str = "-P") -> dict[str, Any]:
    """Return ``{name: text}`` from ``NAME=FILE`` strings, each value the UTF-8 text of the local file."""
    assignments = []
    for item in items or []:
        name, separator, path = item.partition("=")
        if not separator or not name.strip() or not path:
            raise InvalidInput(f"{option} {item!r} is not NAME=FILE, such as {option} script=test_login.py", field=option)
        try:
            with open(path, encoding="utf-8") as source:
                text = source.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"{option} {item!r}: cannot read {path} as UTF-8 text: {exc}", field=option) from None
        assignments.append((name.strip(), text))
    return parse_assignments([f"{name}={text}" for name, text in assignments], declared, option=option)


def convert(parameter: dict[str, Any], text: str) -> Any:
    name = parameter["name"]
    kind = parameter.get("type", "string")
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise InvalidInput(
                f"parameter {name!r} must be an integer, got {text!r}", field=f"parameters.{name}"
            ) from None
    if kind == "boolean":
        word = text.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise InvalidInput(f"parameter {name!r} must be true or false, got {text!r}", field=f"parameters.{name}")
    if kind == "choice" and parameter.get("choices") and text not in parameter["choices"]:
        allowed = ", ".join(parameter["choices"])
        raise InvalidInput(f"parameter {name!r} is {text!r}; allowed values: {allowed}", field=f"parameters.{name}")
    return text


def describe(parameter: dict[str, Any]) -> str:
    """Return one help line for a parameter: name, type, bounds, default and help text."""
    kind = parameter.get("type", "string")
    if kind == "choice" and parameter.get("choices"):
        kind = "|".join(parameter["choices"])
    bounds = []
    if parameter.get("minimum") is not None:
        bounds.append(f"min {parameter['minimum']}")
    if parameter.get("maximum") is not None:
        bounds.append(f"max {parameter['maximum']}")
    if parameter.get("required"):
        bounds.append("required")
    elif parameter.get("default") is not None:
        bounds.append(f"default {parameter['default']}")
    extra = f", {', '.join(bounds)}" if bounds else ""
    return f"{parameter['name']} ({kind}{extra}): {parameter.get('help', '')}"
