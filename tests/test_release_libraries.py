"""psycopg 3 and asyncpg on the release axis: listed from the index, one environment built and measured.

psycopg is swept as a pair: ``psycopg`` and ``psycopg-binary`` at the same release (the binary
is what the matrix installs), so a release is listed only when both install here.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from bulkinsert.cli.main import cli
from bulkinsert.pg.database import Database
from bulkinsert.releases import index
from bulkinsert.releases.envs import build, default_strategies, matrix_pins, release_env
from bulkinsert.releases.findings import notes_url


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["releases", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _project(root: Path, name: str, files: list[str]) -> None:
    page = root / name
    page.mkdir(parents=True)
    links = "".join(f'<a href="../files/{f}">{f}</a>\n' for f in files)
    page.joinpath("index.html").write_text(f"<html><body>\n{links}</body></html>\n")


def test_a_pair_lists_only_releases_both_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path, "demo-lib", ["demo_lib-1.0.tar.gz", "demo_lib-1.1.tar.gz", "demo_lib-1.2.tar.gz"])
    _project(tmp_path, "demo-lib-binary", ["demo_lib_binary-1.0-py3-none-any.whl",
                                           "demo_lib_binary-1.2-cp27-cp27m-win32.whl"])
    monkeypatch.setitem(index.COMPANIONS, "demo-lib", ("demo-lib-binary",))
    listing = index.list_releases("demo-lib", indexes=[tmp_path.as_uri()])
    assert listing.versions == ["1.0"]
    assert listing.uninstallable["1.1"] == "demo-lib-binary 1.1: not on the package index"
    assert listing.uninstallable["1.2"].startswith("demo-lib-binary 1.2: no wheel for this platform")


def test_psycopg_releases_from_the_index_need_their_binary() -> None:
    psycopg = index.list_releases("psycopg")
    binary = set(index.list_releases("psycopg-binary").versions)
    assert psycopg.versions and set(psycopg.versions) <= binary
    assert matrix_pins()["psycopg"] in psycopg.versions
    # psycopg itself is pure Python: what it cannot install here is its binary's doing, said so.
    assert psycopg.uninstallable
    for version, reason in psycopg.uninstallable.items():
        assert version not in binary and reason.startswith(f"psycopg-binary {version}: "), (version, reason)


def test_asyncpg_list_command_and_the_library_option() -> None:
    pinned = matrix_pins()["asyncpg"]
    code, out, err = invoke("list", "--library", "asyncpg", "--from", "0.29.0", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["library"] == "asyncpg" and pinned in data["releases"]
    assert data["releases"] == sorted(data["releases"], key=lambda v: tuple(map(int, v.split("."))))
    code, out, err = invoke("list", "--library", "psycopg-binary", "--from", "3.2.0", "--to", "3.2.99", "--json")
    assert code == 0 and json.loads(out)["library"] == "psycopg"  # the pair, named by its main distribution


def test_a_psycopg_environment_pins_the_pair_and_refuses_holding_half_of_it() -> None:
    env = release_env("psycopg", "3.2.3")
    pins = dict(env.requirements)
    assert pins["psycopg"] == pins["psycopg-binary"] == "3.2.3"
    assert pins["SQLAlchemy"] == matrix_pins()["SQLAlchemy"]
    assert env.path.name == "psycopg-3.2.3"
    with pytest.raises(ValueError, match="library whose releases vary"):
        release_env("psycopg", "3.2.3", held={"psycopg-binary": "3.3.9"})
    assert dict(release_env("asyncpg", "0.29.0").requirements)["asyncpg"] == "0.29.0"


def test_a_sweep_of_a_driver_measures_the_strategies_that_use_it() -> None:
    assert {"psycopg3_copy_text", "psycopg3_copy_binary"} <= set(default_strategies("psycopg"))
    assert default_strategies("asyncpg") == ["asyncpg_copy_records", "sa_asyncpg_copy"]
    assert "copy_text" not in default_strategies("psycopg") and default_strategies("SQLAlchemy") == []
    from bulkinsert.releases.cli import DEFAULT_SWEEP_STRATEGIES, sweep_strategy_names

    assert sweep_strategy_names("psycopg", None) == default_strategies("psycopg")
    assert sweep_strategy_names("SQLAlchemy", None) == list(DEFAULT_SWEEP_STRATEGIES)
    assert sweep_strategy_names("asyncpg", "copy_text, orm_basic") == ["copy_text", "orm_basic"]
    assert notes_url("psycopg", "3.1.5").endswith("news.html#psycopg-3-1-5")
    assert notes_url("asyncpg", "0.30.0").endswith("/releases/tag/v0.30.0")


def test_one_psycopg_environment_is_built_and_measures_its_release(db: Database, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BULKINSERT_FINDINGS", str(tmp_path / "findings.jsonl"))
    version = matrix_pins()["psycopg"]
    env = release_env("psycopg", version)
    build(env)
    probe = "import psycopg; print(psycopg.__version__, psycopg.pq.__impl__)"
    found = subprocess.run([str(env.python), "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert found == [version, "binary"]
    code, out, err = invoke("compare", "psycopg3_copy_binary", version, version, "--library", "psycopg",
                            "--metric", "statements", "--rows", "300", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["verdict"] == "same" and data["library"] == "psycopg" and data["old_value"] >= 1
