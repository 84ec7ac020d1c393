"""Where the grader finds assignments, reference solutions and templates."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_root"]


def project_root() -> Path:
    """The folder holding ``assignments/``, ``reference/`` and ``templates/``.

    ``GRADER_ROOT`` wins; otherwise the checkout this package was installed from.
    """
    override = os.environ.get("GRADER_ROOT")
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parents[1]
