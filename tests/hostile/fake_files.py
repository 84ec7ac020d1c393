# Payload: forge result and feedback files at import, everywhere a student might guess:
# the working folder and its parents, the submissions folder, the output folder, /tmp,
# the project root and HOME. The grade must not change and none of them may appear.
import json as _json
import os as _os

_TOKEN = "FAKE-" + "@@MARKER@@"  # never printed: it only gets out if a file got out
_FAKE = {
    "student": "fake_files",
    "score": 30.0,
    "max_score": 30.0,
    "status": "graded",
    "checks": [],
    "token": _TOKEN,
}
_NAMES = {
    "results.json": _json.dumps({"students": [_FAKE], "token": _TOKEN}),
    "grades.csv": "student,score,max_score,status\nfake_files,30,30,graded\n# " + _TOKEN + "\n",
    "summary.html": "<html>30/30 " + _TOKEN + "</html>",
    "fake_files.json": _json.dumps(_FAKE),
    "fake_files.html": "<html>30/30 " + _TOKEN + "</html>",
    "victim.json": _json.dumps(_FAKE),
}


def _targets():
    here = _os.getcwd()
    folders = [here]
    while here != _os.path.dirname(here):
        here = _os.path.dirname(here)
        folders.append(here)
    folders += [
        "@@CLASS@@",
        "@@CLASS@@/fake_files",
        "@@CLASS@@/victim",
        "@@OUT@@",
        "@@OUT@@/students",
        "@@OUT@@/feedback",
        "/tmp",
        "/tmp/@@MARKER@@-fake",
        "@@ROOT@@",
        "@@ROOT@@/grader-results",
        "@@ROOT@@/grader-results/students",
        _os.path.expanduser("~"),
        "/var/tmp",
    ]
    # Anything under /tmp that looks like an output folder.
    for top, dirs, _files in _os.walk("/tmp"):
        if top.count(_os.sep) > 6:
            dirs[:] = []
        folders += [_os.path.join(top, d) for d in dirs if d in ("out", "students", "feedback")]
    return folders


_written = _refused = 0
for _folder in _targets():
    try:
        _os.makedirs(_folder, exist_ok=True)
    except OSError:
        pass
    for _name, _text in _NAMES.items():
        try:
            with open(_os.path.join(_folder, _name), "w") as _f:
                _f.write(_text)
            _written += 1
        except OSError:
            _refused += 1
print(f"fake files: {_written} written, {_refused} refused")
