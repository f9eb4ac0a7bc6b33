"""Load service folders into a catalog, and check user values against a manifest."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import ValidationError

from csdp.catalog.manifest import Manifest, Parameter
from csdp.errors import InvalidInput, ManifestError, NotFound

log = logging.getLogger(__name__)

BUILTIN_SERVICES = Path(__file__).resolve().parent.parent / "services"
MANIFEST_FILE = "service.yaml"


@dataclass(frozen=True)
class Service:
    """A loaded service: its manifest and the folder it was read from."""

    manifest: Manifest
    folder: Path

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def included_paths(self) -> list[Path]:
        """Shared files and folders the manifest includes, as absolute paths."""
        return [self.folder.parent / item for item in self.manifest.include]


class Catalog:
    """Services by name, from the built-in folder and any extra folders."""

    def __init__(self, services: dict[str, Service]) -> None:
        self._services = dict(sorted(services.items()))

    def __iter__(self):
        return iter(self._services.values())

    def __contains__(self, name: str) -> bool:
        return name in self._services

    def names(self) -> list[str]:
        return list(self._services)

    def get(self, name: str) -> Service:
        """Return the service called ``name`` or raise NotFound listing the known ones."""
        try:
            return self._services[name]
        except KeyError:
            known = ", ".join(self._services) or "none"
            raise NotFound(f"service {name!r} is not in the catalog; known services: {known}", field="service") from None


def load_manifest(path: Path) -> Manifest:
    """Read and validate one ``service.yaml``; errors name the file, the field and the fix."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ManifestError(f"{path}: cannot read the manifest: {exc}", file=str(path)) from exc
    if not isinstance(raw, dict):
        raise ManifestError(f"{path}: the manifest must be a mapping of fields, such as 'name: syslog'", file=str(path))
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ManifestError(
            f"{path}: field {field}: {first['msg']}", file=str(path), field=field, problems=exc.errors(include_url=False)
        ) from None
    if manifest.name != path.parent.name:
        raise ManifestError(
            f"{path}: field name: {manifest.name!r} differs from the folder name {path.parent.name!r}; make them equal",
            file=str(path),
            field="name",
        )
    for item in manifest.include:
        if not (path.parent.parent / item).exists():
            raise ManifestError(
                f"{path}: field include: {item!r} is not in {path.parent.parent}; add it or remove the entry",
                file=str(path),
                field="include",
            )
    for template in manifest.templates:
        if not (path.parent / template.template).is_file():
            raise ManifestError(
                f"{path}: field templates: template {template.template!r} is not in {path.parent}; add the file",
                file=str(path),
                field="templates",
            )
    return manifest


def load_catalog(extra_folders: Iterable[Path] = ()) -> Catalog:
    """Load every service folder; a later folder may not redefine an earlier service."""
    services: dict[str, Service] = {}
    for root in (BUILTIN_SERVICES, *extra_folders):
        root = Path(root)
        if not root.is_dir():
            raise ManifestError(f"service folder {root} does not exist; fix CSDP_SERVICES_PATH", file=str(root))
        for manifest_path in sorted(root.glob(f"*/{MANIFEST_FILE}")):
            manifest = load_manifest(manifest_path)
            if manifest.name in services:
                raise ManifestError(
                    f"{manifest_path}: service {manifest.name!r} is already defined in "
                    f"{services[manifest.name].folder}; rename one of them",
                    file=str(manifest_path),
                    field="name",
                )
            if not (manifest_path.parent / "Dockerfile").is_file() and manifest.image is None:
                raise ManifestError(
                    f"{manifest_path}: the folder has no Dockerfile and the manifest names no image; add one of them",
                    file=str(manifest_path),
                    field="image",
                )
            services[manifest.name] = Service(manifest, manifest_path.parent)
    return Catalog(services)


def check_parameters(parameters: list[Parameter], values: dict[str, Any] | None, *, field: str = "parameters") -> dict[str, Any]:
    """Return ``values`` completed with defaults and checked against ``parameters``.

    Raises InvalidInput naming the parameter, the bad value and the allowed form.
    """
    values = dict(values or {})
    declared = {parameter.name: parameter for parameter in parameters}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        allowed = ", ".join(declared) or "none"
        raise InvalidInput(
            f"unknown parameter {unknown[0]!r}; allowed parameters: {allowed}", field=f"{field}.{unknown[0]}"
        )
    result: dict[str, Any] = {}
    for name, parameter in declared.items():
        if name not in values or values[name] is None:
            if parameter.required:
                raise InvalidInput(f"parameter {name!r} is required: {parameter.help}", field=f"{field}.{name}")
            if parameter.default is not None:
                result[name] = parameter.default
            continue
        result[name] = _check_value(parameter, values[name], f"{field}.{name}")
    return result


# Items of an owner_address parameter without max_items.
DEFAULT_MAX_ADDRESS_ITEMS = 64
MAX_ADDRESS_ITEM_LENGTH = 253


def _check_address_list(parameter: Parameter, value: Any, field: str) -> list[str]:
    """Return an owner_address value as a list of items; which items are allowed is decided at submission."""
    name = parameter.name
    if isinstance(value, str):
        items = [item for item in re.split(r"[,\s]+", value) if item]
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = [item.strip() for item in value if item.strip()]
    else:
        raise InvalidInput(
            f"parameter {name!r} must be a list of container names or addresses, or one comma-separated string, got {_as_json(value)}",
            field=field,
        )
    if not items:
        raise InvalidInput(f"parameter {name!r} is empty; give at least one of your container names or addresses", field=field)
    maximum = parameter.max_items or DEFAULT_MAX_ADDRESS_ITEMS
    if len(items) > maximum:
        raise InvalidInput(f"parameter {name!r} has {len(items)} items; the maximum is {maximum}", field=field)
    for item in items:
        if len(item) > MAX_ADDRESS_ITEM_LENGTH or "\x00" in item:
            raise InvalidInput(
                f"parameter {name!r} item {_as_json(item[:40])} is not a container name or address", field=field
            )
    return items


def _as_json(value: Any) -> str:
    """Return ``value`` as the JSON the user sent, such as true or "204", rather than Python's True or '204'."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _check_value(parameter: Parameter, value: Any, field: str) -> Any:
    name = parameter.name
    if parameter.type == "owner_address":
        return _check_address_list(parameter, value, field)
    if parameter.type == "integer":
        # Every error of an integer carries its range, whether the type or the value is wrong.
        bounds = {key: bound for key, bound in (("minimum", parameter.minimum), ("maximum", parameter.maximum)) if bound is not None}
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"parameter {name!r} must be an integer, got {_as_json(value)}", field=field, **bounds)
        if parameter.minimum is not None and value < parameter.minimum:
            raise InvalidInput(f"parameter {name!r} is {value}, below the minimum {parameter.minimum}", field=field, **bounds)
        if parameter.maximum is not None and value > parameter.maximum:
            raise InvalidInput(f"parameter {name!r} is {value}, above the maximum {parameter.maximum}", field=field, **bounds)
        return value
    if parameter.type == "boolean":
        if not isinstance(value, bool):
            raise InvalidInput(f"parameter {name!r} must be true or false, got {_as_json(value)}", field=field)
        return value
    if not isinstance(value, str):
        shown = "***" if parameter.type == "secret" else _as_json(value)
        raise InvalidInput(f"parameter {name!r} must be a string, got {shown}", field=field)
    if parameter.type == "choice" and value not in (parameter.choices or []):
        raise InvalidInput(
            f"parameter {name!r} is {_as_json(value)}; allowed values: {', '.join(parameter.choices or [])}", field=field
        )
    if parameter.max_length is not None and len(value) > parameter.max_length:
        raise InvalidInput(
            f"parameter {name!r} is {len(value)} characters long; the maximum is {parameter.max_length}", field=field
        )
    if "\x00" in value:
        raise InvalidInput(f"parameter {name!r} contains a NUL character; remove it", field=field)
    if parameter.pattern is not None:
        import re

        if not re.fullmatch(parameter.pattern, value):
            shown = "***" if parameter.type == "secret" else _as_json(value)
            raise InvalidInput(
                f"parameter {name!r} is {shown}, which does not match the pattern {parameter.pattern}", field=field
            )
    return value
