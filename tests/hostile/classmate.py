# Payload: at import, delete, rewrite, rename and chmod a classmate's submission by its
# absolute path, and drop a file of our own into the submissions folder. The classmate must
# still score 30/30 with an unchanged file; this student is graded like alice (30).
import os as _os
import shutil as _shutil

_VICTIM = "@@VICTIM@@"
_attempts = {
    "rewrite": lambda: open(_VICTIM, "w").write("def l2_dense(*a, **k):\n    return None\n"),
    "append": lambda: open(_VICTIM, "a").write("\nraise SystemExit(1)\n"),
    "chmod": lambda: _os.chmod(_VICTIM, 0),
    "rename": lambda: _os.rename(_VICTIM, _VICTIM + ".bak"),
    "remove": lambda: _os.remove(_VICTIM),
    "rmtree": lambda: _shutil.rmtree(_os.path.dirname(_VICTIM)),
    "plant": lambda: open("@@CLASS@@/planted-@@MARKER@@.py", "w").write("x = 1\n"),
}
_outcomes = []
for _name, _attempt in _attempts.items():
    try:
        _attempt()
        _outcomes.append(f"{_name}: done")
    except OSError as _exc:
        _outcomes.append(f"{_name}: {type(_exc).__name__}")
print("classmate:", ", ".join(_outcomes))
