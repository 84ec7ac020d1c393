"""grader: an autograder for TensorFlow/Keras assignments.

Student code runs in a separate worker process (``grader.sandbox``); checks written as
pytest tests (``assignments/NAME/test_*.py``) judge its answers in the trusted process
against the reference solution (``reference/NAME.py``).
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
