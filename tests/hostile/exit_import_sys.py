# Payload: sys.exit(0) at import. SystemExit is a failed import too: import_error, 0.
import sys as _sys

_sys.exit(0)
