#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu
# 22.04 by default). Written by `grader export gradescope @@ASSIGNMENT@@` (grader
# @@GRADER_VERSION@@): it installs Python 3.11+, then, in a virtual environment,
# TensorFlow and Keras at exactly the versions the assignment was checked with, and
# the grader from the copy bundled in this zip.
set -euo pipefail

ROOT="${GRADER_GRADESCOPE_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="$ROOT/venv"

export DEBIAN_FRONTEND=noninteractive
apt-get update
# bubblewrap isolates student code where the container allows user namespaces; where it
# does not, the grader uses Landlock and seccomp (Linux 5.13+, no package needed), and
# below that refuses to grade unless gradescope.json says allow_weak_isolation (the
# run's output names the level).
apt-get install -y --no-install-recommends \
    ca-certificates python3 python3-venv python3-pip bubblewrap

recent_enough() {
    command -v "$1" >/dev/null 2>&1 &&
        "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

PYTHON=""
for candidate in python3 python3.13 python3.12 python3.11; do
    if recent_enough "$candidate"; then
        PYTHON="$candidate"
        break
    fi
done
if [ -z "$PYTHON" ]; then
    # Ubuntu 22.04's python3 is 3.10; its universe component has 3.11, else deadsnakes.
    if ! apt-get install -y --no-install-recommends python3.11 python3.11-venv; then
        apt-get install -y --no-install-recommends software-properties-common gpg-agent
        add-apt-repository -y ppa:deadsnakes/ppa
        apt-get update
        apt-get install -y --no-install-recommends python3.11 python3.11-venv
    fi
    PYTHON=python3.11
fi
recent_enough "$PYTHON" || { echo "setup.sh: no Python 3.11+ could be installed" >&2; exit 1; }

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --no-cache-dir --upgrade pip
# TensorFlow and Keras pinned to the versions installed where the autograder was built.
"$VENV/bin/python" -m pip install --no-cache-dir @@REQUIREMENTS@@ "$SOURCE"

# Fail the build now, not on the first submission.
cd "$SOURCE"
GRADER_COURSE="$SOURCE" PYTHONPATH="$SOURCE" TF_CPP_MIN_LOG_LEVEL=3 \
    "$VENV/bin/python" -c 'import grader.cli, keras, tensorflow; print("grader", grader.__version__, "tensorflow", tensorflow.__version__, "keras", keras.__version__)'
# The bundle's course.toml reads, and holds the assignment.
GRADER_COURSE="$SOURCE" PYTHONPATH="$SOURCE" "$VENV/bin/python" -c \
    'from grader.course import find_course; c = find_course(); assert "@@ASSIGNMENT@@" in c.assignment_names(), c; print("course:", c.title)'
# The reference's answers to every check, computed once here instead of for every
# submission (engine.reference_cache; a grading machine whose CPU differs from this one
# computes them again). Only a speed-up: a failure here costs nothing.
GRADER_COURSE="$SOURCE" PYTHONPATH="$SOURCE" TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 \
    "$VENV/bin/python" -c 'from grader.assignment import load_assignment
from grader.course import find_course
from grader.engine.reference_cache import CACHE_FOLDER
from grader.engine.session import GradingSession
course = find_course()
session = GradingSession(load_assignment("@@ASSIGNMENT@@", course), cache=course.root / CACHE_FOLDER)
session.prepare(warm_template=False)
print("reference answers cached")' ||
    echo "setup.sh: the reference's answers were not cached; each submission computes them." >&2
# Which isolation this image offers (the grading container may differ): informative only.
GRADER_COURSE="$SOURCE" PYTHONPATH="$SOURCE" "$VENV/bin/python" -c \
    'from grader.sandbox.isolation import describe, detect; print("isolation here:", describe(detect()))' ||
    true
