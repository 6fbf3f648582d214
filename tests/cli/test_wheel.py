"""The package installed from its wheel works without the checkout: the wheel carries sql/, the built-in
catalog and the shipped samples (`rb_pipeline.core.paths.shipped_dir`), and `rb-pipeline demo` passes
from another folder in a new virtualenv once the source tree the wheel was built from is gone. The new
venv gets exactly the runtime dependencies the wheel declares (hard links to this environment's
installed files: pip would take minutes of the CI budget to unpack the same versions), and pip installs
the wheel with `--no-index`, finding each of its requirements satisfied."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import Distribution, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from rb_pipeline.core.paths import SHIPPED_FOLDERS

REPO = Path(__file__).resolve().parents[2]


def run(*command: str | Path, cwd: Path, env: dict | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout


def repository_files() -> list[str]:
    """What a clone holds: the tracked files and the untracked ones git does not ignore."""
    listing = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO)
    return [name for name in listing.split("\0") if name and (REPO / name).is_file()]


def runtime_closure(project: str = "rb-pipeline") -> list[Distribution]:
    """The installed distributions `project` needs at run time: its requirements without extras (the
    extras its requirements name included), and theirs, transitively."""
    found: dict[str, Distribution] = {}
    todo = [(project, frozenset())]
    while todo:
        name, extras = todo.pop()
        dist = distribution(name)
        key = canonicalize_name(dist.metadata["Name"])
        if key in found and not extras:
            continue
        found[key] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            wanted = requirement.marker is None or any(
                requirement.marker.evaluate({"extra": extra}) for extra in ("", *extras)
            )
            if wanted:
                todo.append((requirement.name, frozenset(requirement.extras)))
    return [dist for key, dist in found.items() if key != canonicalize_name(project)]


def link_runtime_dependencies(site_packages: Path) -> None:
    """Hard-link (copy where a link is refused) the files of `runtime_closure()` into a new venv's
    site-packages: the versions this environment resolved, in seconds instead of minutes of pip. A
    dependency the package uses without declaring it is absent there, so the demo below fails."""
    for dist in runtime_closure():
        for file in dist.files or []:
            source = Path(dist.locate_file(file)).resolve()
            target = site_packages / file
            if ".." in file.parts or not source.is_file():  # console scripts (their shebangs name this venv)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)


@pytest.mark.slow(minutes=1)
def test_the_wheel_installed_in_a_new_venv_runs_the_demo_from_another_folder(tmp_path):
    # the source tree: a copy of the checkout, built and then removed
    source = tmp_path / "source"
    for name in repository_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    dist = tmp_path / "dist"
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        dist,
        source,
        cwd=tmp_path,
    )
    (wheel,) = dist.glob("rb_pipeline-*.whl")

    # every file of each shipped folder is in the wheel, under the package
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    for name, folder in SHIPPED_FOLDERS.items():
        expected = {
            f"rb_pipeline/shipped/{name}/{path.relative_to(REPO / folder).as_posix()}"
            for path in (REPO / folder).rglob("*")
            if path.is_file() and str(path.relative_to(REPO)) in set(repository_files())
        }
        assert expected and expected <= in_wheel, (name, sorted(expected - in_wheel)[:5])
    assert "rb_pipeline/publish/dataset_card.md.jinja" in in_wheel  # the template
    assert "assets/definitions.py" in in_wheel  # the Dagster code location

    # a new venv holding the runtime dependencies the wheel declares (and nothing else), then the wheel,
    # which pip installs offline: every requirement it declares must be found satisfied there
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    (site_packages,) = (venv / "lib").glob("python*/site-packages")
    link_runtime_dependencies(site_packages)
    run(
        venv / "bin" / "python",
        "-m",
        "pip",
        "install",
        "-q",
        "--no-index",
        "--no-compile",
        wheel,
        cwd=tmp_path,
    )
    shutil.rmtree(source)
    shutil.rmtree(dist)

    elsewhere, home = tmp_path / "elsewhere", tmp_path / "home"
    elsewhere.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "RB_MIRROR", "RB_SOURCE", "VIRTUAL_ENV"}
    }
    env |= {"RB_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "HF_HUB_OFFLINE": "1"}
    located = run(
        venv / "bin" / "python",
        "-c",
        "import rb_pipeline; print(rb_pipeline.__file__)",
        cwd=elsewhere,
        env=env,
    )
    assert Path(located.strip()).is_relative_to(venv)  # the installed package, not the checkout
    demo = run(venv / "bin" / "rb-pipeline", "demo", cwd=elsewhere, env=env)
    assert "rb-demo/tiny-classifier" in demo
    assert "no benchmark can be scored" not in demo
    # the demo's warehouse holds the samples' scores: a section score printed for each benchmark's sections
    leaderboard = run(
        venv / "bin" / "rb-pipeline",
        "sql",
        "select count(*) as n from example_outcomes",
        "--format",
        "csv",
        cwd=elsewhere,
        env=env,
    )
    assert int(leaderboard.split()[-1]) > 0
    assert not (elsewhere / "data").exists()  # RB_HOME holds the lake, the working folder nothing
