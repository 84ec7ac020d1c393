"""The build's one addition to pyproject.toml: the feedback page templates.

They are kept once, in the top-level ``templates/`` folder (an editable install reads
them there); a built package carries a copy as ``grader/templates/``, so an installed
grader renders its pages without the source tree.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithTemplates(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # the source tree's templates/ is found as is
        source = Path(__file__).resolve().parent / "templates"
        target = Path(self.build_lib) / "grader" / "templates"
        if not (source / "feedback.html").is_file():
            raise SystemExit(f"{source} is missing: the package needs its page templates.")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*", "__pycache__"))


setup(cmdclass={"build_py": BuildWithTemplates})
