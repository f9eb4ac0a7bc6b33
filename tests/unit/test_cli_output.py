"""Tables, progress text and the spinner of the CLI."""

from __future__ import annotations

import io
import time

from csdp.cli.output import CONTAINER_COLUMNS, Spinner, describe_step, format_cell, table


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_table_aligns_columns():
    rows = [
        {"id": "a" * 64, "name": "x", "ip_address": None},
        {"id": "b", "name": "longer-name", "ip_address": "10.0.0.1"},
    ]

    text = table(rows, CONTAINER_COLUMNS[:3])

    assert text.splitlines() == [
        "ID            NAME         IPV4",
        "aaaaaaaaaaaa  x            -",
        "b             longer-name  10.0.0.1",
    ]


def test_format_cell_shortens_times():
    assert format_cell("created", "2026-12-04T20:12:42.123456+00:00") == "2026-12-04 20:12:42"


def test_describe_step_names_replica():
    record = {"state": "running", "steps": [{"step": "wait_ready", "replica": 2, "state": "running"}]}
    assert describe_step(record) == "running: wait_ready (replica 2)"


def test_spinner_silent_without_terminal():
    stream = io.StringIO()
    with Spinner("starting", stream=stream) as spinner:
        spinner.update({"state": "running", "steps": []})
        time.sleep(0.25)
    assert stream.getvalue() == ""


def test_spinner_draws_and_clears_on_terminal():
    stream = FakeTerminal()
    with Spinner("starting 2 syslog", stream=stream) as spinner:
        spinner.update({"state": "running", "steps": [{"step": "create", "replica": 0, "state": "running"}]})
        time.sleep(0.35)
    output = stream.getvalue()
    assert "starting 2 syslog: running: create (replica 0)" in output
    assert output.endswith("\r\033[K")
