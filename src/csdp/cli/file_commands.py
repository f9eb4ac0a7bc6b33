"""``csdp <service> files upload|download``."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from csdp.cli import exit_codes
from csdp.cli.containers import resolve_container
from csdp.cli.context import Context
from csdp.cli.output import print_json
from csdp.errors import InvalidInput


def upload(ctx: Context, service: dict[str, Any], args: argparse.Namespace) -> int:
    from csdp.cli.service_commands import run_job

    local = Path(args.local)
    if not local.is_file():
        raise InvalidInput(f"local file {str(local)!r} does not exist or is not a file", field="local")
    container = resolve_container(ctx.client, service["name"], args.container)

    def submit() -> str:
        return ctx.client.upload(container["id"], local, args.to, extract=args.extract)

    record = run_job(ctx, args, f"uploading {local.name}", submit)
    if record is None:
        return exit_codes.OK
    if args.json:
        print_json(record.get("result") or {})
    else:
        print(f"uploaded {local} to {container['name']}:{args.to}")
    return exit_codes.OK


def download(ctx: Context, service: dict[str, Any], args: argparse.Namespace) -> int:
    _check_out(args.out)
    container = resolve_container(ctx.client, service["name"], args.container)
    with tempfile.TemporaryFile() as archive:
        for chunk in ctx.client.download(container["id"], args.path):
            archive.write(chunk)
        archive.seek(0)
        if args.tar:
            _copy_out(archive, args.out)
            return exit_codes.OK
        with tarfile.open(fileobj=archive, mode="r:") as tar:
            members = tar.getmembers()
            if len(members) == 1 and members[0].isfile():
                source = tar.extractfile(members[0])
                assert source is not None
                _copy_out(source, args.out)
            else:
                _extract(tar, args.out)
    return exit_codes.OK


def _check_out(out: str) -> None:
    """Reject an --out whose folder does not exist, before anything is downloaded."""
    if out == "-":
        return
    folder = Path(out).absolute().parent
    if not folder.is_dir():
        raise InvalidInput(
            f"local folder {str(folder)!r} of --out does not exist; create it or give --out in an existing folder",
            field="out",
        )


def _copy_out(source: Any, out: str) -> None:
    if out == "-":
        shutil.copyfileobj(source, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    try:
        target = open(out, "wb")
    except OSError as exc:
        raise InvalidInput(f"cannot write local file {out!r}: {exc.strerror}; give another --out", field="out") from None
    with target:
        shutil.copyfileobj(source, target)


def _extract(tar: tarfile.TarFile, out: str) -> None:
    if out == "-":
        raise InvalidInput("a directory cannot go to stdout; give --out DIR, or --tar to get the archive", field="out")
    if not hasattr(tarfile, "data_filter"):
        # Extraction filters arrived in Python 3.11.4; extracting without them is unsafe.
        raise InvalidInput("extracting a directory needs Python 3.11.4 or later; use --tar to get the archive")
    # The "data" filter rejects absolute names, "..", links that leave DIR and
    # device files. Every member is checked before anything is written, so a
    # hostile archive leaves no partial copy behind.
    for member in tar.getmembers():
        try:
            tarfile.data_filter(member, out)
        except tarfile.FilterError as exc:
            raise InvalidInput(
                f"the archive has an unsafe member, so nothing was extracted: {exc}; use --tar to get the archive",
                field="path",
            ) from None
    os.makedirs(out, exist_ok=True)
    tar.extractall(out, filter="data")
