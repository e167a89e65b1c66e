"""The prepared store stays under DASHBOARD_PREPARED_MAX_BYTES across export directories.

Files of other export directories go least recently *used* first (last opened by an Engine), never
one that a running process holds open, never the one just prepared.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest
from exportkit import enrollment, write_export
from helpers import REPO, markdown_as_read

from dashboard import cli, config
from dashboard.engine import Engine


def tiny(root, enrollment_id):
    return write_export(root, enrollments=[enrollment(enrollment_id)])


def files(prepared):
    return sorted(p.name for p in prepared.glob("*.duckdb"))


def open_closed(export, prepared, cap=None):
    engine = Engine(export, prepared_dir=prepared, prepared_max_bytes=cap)
    path = engine.prepared_path
    engine.close()
    time.sleep(0.02)  # distinct use times
    return path


def test_least_recently_used_not_prepared_goes(tmp_path):
    prepared = tmp_path / "prepared"
    a, b, c = (tiny(tmp_path / n, n.upper()) for n in ("a", "b", "c"))
    path_a = open_closed(a, prepared)
    path_b = open_closed(b, prepared)
    open_closed(a, prepared)  # used again: b is now the least recently used, a the first prepared
    size = max(p.stat().st_size for p in (path_a, path_b))
    path_c = open_closed(c, prepared, cap=2 * size + size // 2)  # room for two of three
    assert files(prepared) == sorted([path_a.name, path_c.name])
    assert not path_b.with_name(path_b.name + ".lock").exists()  # its sidecars went too


def test_a_file_another_process_holds_survives_until_it_exits(tmp_path):
    prepared = tmp_path / "prepared"
    a, b = tiny(tmp_path / "a", "A"), tiny(tmp_path / "b", "B")
    path_a = open_closed(a, prepared)
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); from dashboard.engine import Engine;"
        "e = Engine(sys.argv[2], prepared_dir=sys.argv[3]); print(e.prepared_path, flush=True); sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(REPO), str(a), str(prepared)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == str(path_a)  # reused and held
        path_b = open_closed(b, prepared, cap=1)  # a cap nothing fits
        assert files(prepared) == sorted([path_a.name, path_b.name])  # a is in use: kept
    finally:
        holder.communicate("", timeout=60)
    open_closed(b, prepared, cap=1)  # opened again once the other process has exited
    assert files(prepared) == [path_b.name]


def test_the_file_just_prepared_survives_a_cap_smaller_than_itself(tmp_path, caplog):
    prepared = tmp_path / "prepared"
    with caplog.at_level(logging.WARNING, logger="dashboard.engine.store"):
        path = open_closed(tiny(tmp_path / "a", "A"), prepared, cap=1)
    assert files(prepared) == [path.name]
    assert any("alone exceeds DASHBOARD_PREPARED_MAX_BYTES" in r.getMessage() for r in caplog.records)


def test_a_file_that_cannot_be_removed_is_logged_and_kept(tmp_path, monkeypatch, caplog):
    prepared = tmp_path / "prepared"
    path_a = open_closed(tiny(tmp_path / "a", "A"), prepared)
    real = type(path_a).unlink

    def refuse(self, missing_ok=False):
        if self == path_a:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, missing_ok=missing_ok)

    monkeypatch.setattr(type(path_a), "unlink", refuse)
    with caplog.at_level(logging.WARNING, logger="dashboard.engine.store"):
        path_b = open_closed(tiny(tmp_path / "b", "B"), prepared, cap=1)
    assert files(prepared) == sorted([path_a.name, path_b.name])
    assert any("cannot remove the prepared file" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1024", 1024),
        ("500MB", 500_000_000),
        ("2GB", 2_000_000_000),
        ("2 gib", 2 * 1024**3),
        ("0", None),
        ("0MB", None),
        ("None", None),
        ("1.5", 1),
    ],
)
def test_sizes(text, expected):
    assert config.parse_size("DASHBOARD_PREPARED_MAX_BYTES", text) == expected


def test_a_size_under_one_byte_is_refused_not_read_as_no_cap():
    # int(0.4) is 0, and 0 means no cap: the opposite of what a tiny cap asks for
    with pytest.raises(config.SettingError, match="DASHBOARD_PREPARED_MAX_BYTES='0.4' is less than one byte"):
        config.parse_size("DASHBOARD_PREPARED_MAX_BYTES", "0.4")


@pytest.mark.parametrize("text", ["lots", "-5", "2 PB", "1e9"])
def test_a_bad_setting_names_itself_and_its_value(text, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DASHBOARD_PREPARED_MAX_BYTES", text)
    with pytest.raises(config.SettingError, match=f"DASHBOARD_PREPARED_MAX_BYTES='{text}' is not a size"):
        config.prepared_max_bytes()
    export = tiny(tmp_path / "a", "A")
    assert cli.main(["report", "--data", str(export)]) == cli.EXIT_BAD_INPUT
    assert f"DASHBOARD_PREPARED_MAX_BYTES='{text}' is not a size" in capsys.readouterr().err


def test_a_bad_setting_is_a_message_on_the_page(tmp_path, monkeypatch, app_page):
    monkeypatch.setenv("DASHBOARD_PREPARED_MAX_BYTES", "lots")
    at = app_page("overview", data_dir=tiny(tmp_path / "page", "P"))
    assert not at.exception
    shown = " ".join(markdown_as_read(e.value) for e in at.error)
    assert "DASHBOARD_PREPARED_MAX_BYTES='lots' is not a size" in shown
