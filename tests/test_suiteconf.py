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


def test_the_driver_axis_is_measured_where_psycopg2_is_newest() -> None:
    conf = {"matrix": {"req": {"SQLAlchemy": ["1.4.54", "2.1.9"], "psycopg2-binary": ["2.9.13", "2.9.5"]}}}
    newest = {"SQLAlchemy": "1.4.54", "psycopg2-binary": "2.9.13"}
    assert suiteconf.driver_axis_elsewhere(conf, newest) is None
    older = suiteconf.driver_axis_elsewhere(conf, {"SQLAlchemy": "2.1.9", "psycopg2-binary": "2.9.5"})
    assert older is not None and "psycopg2-binary 2.9.13" in older and "do not use psycopg2" in older
    # A version the matrix does not list (a development virtualenv, `asv run -E existing`): measured.
    assert suiteconf.driver_axis_elsewhere(conf, {"SQLAlchemy": "2.1.9", "psycopg2-binary": "2.9.11"}) is None
    # A matrix with one psycopg2, or none: every environment measures it.
    assert suiteconf.driver_axis_elsewhere({"matrix": {"req": {"psycopg2-binary": ["2.9.5"]}}},
                                           {"psycopg2-binary": "2.9.5"}) is None
    assert suiteconf.driver_axis_elsewhere({"matrix": {"req": {"SQLAlchemy": ["2.1.9"]}}},
                                           {"psycopg2-binary": "2.9.5"}) is None
    # The requirement's name as pip spells it, in any case.
    assert suiteconf.driver_axis_elsewhere(conf, {"psycopg2-Binary": "2.9.5"}) is not None
