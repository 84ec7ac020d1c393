"""Report writers for a finished run: HTML feedback and summary, CSV grades, JSON.

Import the submodules directly (``grader.reports.html``, ``.csv_report``,
``.json_report``) so that writing a CSV does not pull in Jinja2.
"""

from __future__ import annotations

__all__: list[str] = []
