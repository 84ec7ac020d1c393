# Payload: os._exit(0) at import: the worker dies with a "success" exit code before it can
# answer. The module could not be imported: import_error, 0.
import os as _os

_os._exit(0)
