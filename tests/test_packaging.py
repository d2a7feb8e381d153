"""The package as a user installs it: the wheel carries the configs, names are never shadowed."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from vta import CONFIG_DIR
from vta.isa import ConfigError, bundled_configs, load_config

ROOT = Path(__file__).resolve().parents[1]


def test_a_bundled_name_is_not_shadowed_by_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "default").mkdir()                      # a folder named like a config
    (tmp_path / "tiny").write_text("not: a config\n")   # and a file
    monkeypatch.chdir(tmp_path)
    assert load_config("default").fingerprint == load_config(CONFIG_DIR / "default.yaml").fingerprint
    assert load_config("tiny").name == "tiny"


def test_a_path_is_a_path_only_when_it_looks_like_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.yaml").write_text((CONFIG_DIR / "tiny.yaml").read_text())
    assert load_config("mine.yaml").block_in == load_config("tiny").block_in
    assert load_config("./mine.yaml").block_in == load_config("tiny").block_in
    (tmp_path / "mine").write_text((CONFIG_DIR / "tiny.yaml").read_text())
    with pytest.raises(ConfigError, match=r"e\.g\. \./mine\.yaml"):
        load_config("mine")                             # no suffix, no '/': a bundled name
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        load_config("dir.yaml")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(out)],
                   check=True, capture_output=True)
    (whl,) = out.glob("vta_cosim-*.whl")
    return whl


def test_the_wheel_ships_every_bundled_config_and_package(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for cfg in bundled_configs():
        assert f"vta/configs/{cfg}.yaml" in names
    for pkg in ("isa", "assembler", "compiler", "tlm", "rtl", "cosim", "fpga"):
        assert f"vta/{pkg}/__init__.py" in names
    # vta-fpga formal's checker and SymbiYosys file
    assert {"vta/fpga/formal/axi_master_props.sv", "vta/fpga/formal/axi_master.sby"} <= names
    assert not any(n.startswith(("vta/tests/", "vta/bench/", "vta/.venv/")) for n in names)


@pytest.mark.slow
def test_a_fresh_venv_runs_the_default_job_from_the_wheel(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([venv / "bin" / "python", "-m", "pip", "install", "-q", str(wheel)], check=True,
                   capture_output=True)
    run_dir = tmp_path / "run"
    (run_dir / "default").mkdir(parents=True)
    r = subprocess.run([venv / "bin" / "vta-tlm", "run", "default", "--quiet"], cwd=run_dir,
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("PASS default on default"), r.stdout + r.stderr
