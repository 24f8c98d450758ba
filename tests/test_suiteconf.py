"""asv.conf.json read in one place: asv's loader for the analysis, the standard library for measuring."""

from __future__ import annotations

from pathlib import Path

from bulkinsert.measure import suiteconf


def test_asv_and_the_lean_reader_see_the_same_matrix() -> None:
    with_asv = suiteconf.settings()
    lean = suiteconf.read_without_asv()
    assert suiteconf.matrix_requirements(with_asv) == suiteconf.matrix_requirements(lean)
    assert with_asv["results_dir"] == lean["results_dir"]
    assert {"SQLAlchemy", "psycopg2-binary"} <= suiteconf.varying(lean)


def test_newest_is_by_release_number_not_by_text(tmp_path: Path) -> None:
    conf = tmp_path / "asv.conf.json"
    conf.write_text(
        '{\n  // a comment, as asv allows\n  "version": 1, "repo": ".",\n'
        '  "matrix": {"req": {"psycopg2-binary": ["2.9.13", "2.9.5"], "asyncpg": "0.30.0", "tuna": ["", "0.5.15"]},\n'
        '             "env_nobuild": {"X": ["1"]}}\n}\n',
        encoding="utf-8",
    )
    for conf_read in (suiteconf.settings(conf), suiteconf.read_without_asv(conf)):
        assert suiteconf.newest_pins(conf_read) == {"psycopg2-binary": "2.9.13", "asyncpg": "0.30.0", "tuna": "0.5.15"}
        # "" (not installed) is a version of its own: tuna varies, asyncpg does not.
        assert suiteconf.varying(conf_read) == {"psycopg2-binary", "tuna"}


def test_no_file_no_settings(tmp_path: Path) -> None:
    assert suiteconf.settings(tmp_path / "absent.json") == {}
