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
