"""Build step: the wheel carries the repository's top-level folders that the package reads at run time
(`rb_pipeline.core.paths.SHIPPED_FOLDERS`: sql/, catalog/, data/samples/), copied into the package as
`rb_pipeline/shipped/<name>`, so an installed package works without the checkout. The project's
metadata is in pyproject.toml."""

import runpy
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED_FOLDERS = runpy.run_path(str(ROOT / "rb_pipeline" / "core" / "paths.py"))["SHIPPED_FOLDERS"]


class BuildWithShippedFolders(build_py):
    """`build_py`, then each shipped folder copied whole under the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout's folders (`shipped_dir`)
            return
        for name, folder in SHIPPED_FOLDERS.items():
            self.copy_tree(str(ROOT / folder), str(Path(self.build_lib) / "rb_pipeline" / "shipped" / name))


setup(cmdclass={"build_py": BuildWithShippedFolders})
