# Payload: 50 MB printed at import (and 1 MB on stderr). Graded normally; the output kept
# is truncated with a note, and grading is not slowed down much.
import sys as _sys

_line = "flood " * 170 + "\n"  # about 1 kB
for _ in range(50 * 1024):
    _sys.stdout.write(_line)
for _ in range(1024):
    _sys.stderr.write(_line)
_sys.stdout.flush()
