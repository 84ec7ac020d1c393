"""End to end: hostile submissions, graded through the real CLI at every isolation level.

The principle under test: the grade comes only from checks run in the trusted grading
process on data the worker returned. Each payload in ``tests/hostile/`` is appended to
alice's correct solution (full marks), so a hostile student can only lose the checks its payload
legitimately breaks; ``EXPECTED`` states the exact score of each and why. Besides the score,
each test checks that the harm the payload attempts did not happen: no forged file in the
output or submissions folder, no surviving process, no connection, no file read or
overwritten outside the sandbox, no signal to the grader, nothing left on the host or for a
later grading process to run.

The whole class (the payloads plus an untouched copy of alice, the classmate the attacks aim
at) is graded in one ``grader run`` per isolation level the machine offers; every test reads
that run's results. At ``landlock`` and ``bubblewrap`` the whole corpus runs, with the same
``EXPECTED``. At ``limits`` (the student runs as the grader's own user, by design) only the
payloads in ``AT_LIMITS`` run: those whose containment is the worker's own business at
every level and can do no lasting harm to the host or to classmates; their points are
exact there too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from regularization_checks import CHECKS, EVERY_CHECK, MAX_SCORE, POINTS

from grader.checks.rebuild import rebuild
from grader.errors import CheckFailed, StudentError
from grader.sandbox.client import _prepare_scratch
from grader.sandbox.isolation import available, capabilities
from grader.sandbox.wire import KerasObject

ROOT = Path(__file__).resolve().parents[1]
ALICE = ROOT / "examples" / "regularization" / "alice" / "regularization.py"
PAYLOADS = Path(__file__).resolve().parent / "hostile"
MODULE = "regularization"
VICTIM = "victim"
# /var/tmp: a world-writable folder outside the project and /tmp, the kind of place a
# sandbox must hide as well.
OUTSIDE = Path("/var/tmp")

# Small limits keep the run short: a hang costs CALL_TIMEOUT (the slowest legitimate call,
# compare(), takes a few seconds), a module that never finishes importing IMPORT_TIMEOUT.
CALL_TIMEOUT = 20
IMPORT_TIMEOUT = 25
SUBMISSION_TIMEOUT = 300
OUTPUT_BYTES = 20_000
# Seconds within which a process left behind would write: orphans.py 1 s after its worker
# is gone, daemon_rewrite.py every 0.2 s from 3 s after it starts.
ORPHAN_SLEEP = 5
# Where a payload that got out would leave files named after the run's marker.
LEFTOVER_FOLDERS = (Path("/tmp"), Path("/dev/shm"), OUTSIDE)

# Strongest first: the levels that must contain every payload.
LEVELS = ("bubblewrap", "landlock", "limits")
# At the limits level a student's code is the grader's own user and could harm the host or
# classmates directly, so the corpus that tries exactly that is left out. What runs there:
# the payloads whose containment is the worker's own business at every level (exits, hangs,
# memory, output, processes left behind, a forged reply). The payloads that only lie in
# their answers are judged by the grading process the same way at every level: they run
# at the two levels above.
AT_LIMITS = frozenset(
    {
        VICTIM,
        "exit_import_os",
        "exit_in_functions",
        "sigterm_hang",
        "orphans",
        "print_flood",
        "memory_function",
        "forge_reply",
    }
)


def broken(*functions: str, status: str = "failed") -> dict[str, str]:
    """Every check of ``functions`` ends with ``status``."""
    return {name: status for function in functions for name in CHECKS[function]}


def score_without(*functions: str) -> float:
    return MAX_SCORE - sum(POINTS[f] for f in functions)


@dataclass(frozen=True)
class Expected:
    score: float
    status: str  # the student's status
    checks: dict[str, str]  # every check that does not pass -> its status; the rest pass


IMPORT_FAILS = Expected(0.0, "import_error", broken(*CHECKS))
EXPECTED: dict[str, Expected] = {
    # The classmate every attack aims at: alice untouched.
    VICTIM: Expected(MAX_SCORE, "graded", {}),
    # Forged result files land in the sandbox's scratch or nowhere.
    "fake_files": Expected(MAX_SCORE, "graded", {}),
    # The reference and the secret are unreadable: l2_dense and l1_dense take their
    # "blocked" path and raise (a successful read would answer correctly: 30).
    "read_reference": Expected(
        score_without("l2_dense", "l1_dense"), "graded", broken("l2_dense", "l1_dense")
    ),
    # Patched grader and pytest stay in the worker. penalty() answers 0.0, right only for the
    # unregularized model; l1_dense() attaches L2.
    "patch_grader": Expected(
        score_without("l1_dense") - 5,
        "graded",
        broken("l1_dense")
        | {
            "test_penalty_single_layer": "failed",
            "test_penalty_several_layers": "failed",
            "test_hidden_penalty": "failed",
        },
    ),
    # Patched math/numpy/TensorFlow comparisons and Keras's evaluate() stay in the worker:
    # doubled factors fail; the build_model checks, which evaluate in the grading process,
    # pass.
    "patch_libs": Expected(score_without("l1_l2_dense"), "graded", broken("l1_l2_dense")),
    # Patched builtins stay in the worker, and break it: Keras there rejects the new float
    # type ("Invalid dtype"), so every function that runs a model fails (regularized_loss,
    # validation_gap, compare), and penalty's "equal" float is 1 too large. The grading
    # process's Keras, running this student's models for the build_model checks, is intact.
    "patch_builtins": Expected(
        score_without("penalty", "regularized_loss", "validation_gap", "compare"),
        "graded",
        broken("penalty", "regularized_loss", "validation_gap", "compare"),
    ),
    # The worker dies (os._exit) or exits (SystemExit) while importing.
    "exit_import_os": IMPORT_FAILS,
    "exit_import_sys": IMPORT_FAILS,
    # Only the two functions that exit lose their checks.
    "exit_in_functions": Expected(
        score_without("l2_dense", "l1_dense"), "graded", broken("l2_dense", "l1_dense")
    ),
    # The import time limit ends an endless import.
    "hang_import": IMPORT_FAILS,
    # compare() hangs with SIGTERM ignored: its checks time out, the rest pass.
    "sigterm_hang": Expected(
        score_without("compare"), "graded", broken("compare", status="timeout")
    ),
    # The orphans die with the worker; the module itself is alice.
    "orphans": Expected(MAX_SCORE, "graded", {}),
    # Output is truncated, never read.
    "print_flood": Expected(MAX_SCORE, "graded", {}),
    # Out of memory while importing: the worker, not the grading process.
    "memory_import": IMPORT_FAILS,
    # Out of memory in compare(): only compare's checks.
    "memory_function": Expected(score_without("compare"), "graded", broken("compare")),
    # No connection: l2_dense raises its "blocked" error (connected, it would answer: 30).
    "network": Expected(score_without("l2_dense"), "graded", broken("l2_dense")),
    # The attacks on the classmate fail; the module itself is alice.
    "classmate": Expected(MAX_SCORE, "graded", {}),
    # The forged reply is judged as penalty's answer (a dict, not a number).
    "forge_reply": Expected(score_without("penalty"), "graded", broken("penalty")),
    # Printed verdicts are ignored; l2_dense attaches L1.
    "fake_output": Expected(score_without("l2_dense"), "graded", broken("l2_dense")),
    # A Lambda layer is refused, never run: every build_model check. compare() trains the
    # model inside the worker, where that is allowed, and passes.
    "lambda_model": Expected(score_without("build_model"), "graded", broken("build_model")),
    # Lying values are read as the data that crossed the wire: penalty, validation_gap,
    # regularized_loss, and compare (which returns validation_gap's liars).
    "lying_values": Expected(
        score_without("penalty", "validation_gap", "compare", "regularized_loss"),
        "graded",
        broken("penalty", "validation_gap", "compare", "regularized_loss"),
    ),
    # Each enormous answer is refused: l2_dense, l1_dense, l1_l2_dense.
    "huge_values": Expected(
        score_without("l2_dense", "l1_dense", "l1_l2_dense"),
        "graded",
        broken("l2_dense", "l1_dense", "l1_l2_dense"),
    ),
    # l2_dense crashes (to force a restart); the symlinks it planted lead nowhere.
    "symlink_file": Expected(score_without("l2_dense"), "graded", broken("l2_dense")),
    "symlink_dir": Expected(score_without("l2_dense"), "graded", broken("l2_dense")),
    # Nothing can be left behind; the module itself is alice.
    "persistent_tamper": Expected(MAX_SCORE, "graded", {}),
    # An unbuilt model cannot be inspected: every build_model check fails (none errors).
    # compare() trains it in the worker, where fit() builds it, and passes.
    "unbuilt_model": Expected(score_without("build_model"), "graded", broken("build_model")),
    # A 16-million-parameter model is refused; compare() cannot train it on 40 features.
    "huge_model": Expected(
        score_without("build_model", "compare"), "graded", broken("build_model", "compare")
    ),
    # A layer that reads a host file is refused: every build_model check.
    "file_layer": Expected(score_without("build_model"), "graded", broken("build_model")),
    # A model with the wrong input size: every build_model check but the compiled one, and
    # compare (its model cannot take 40 features). The checks that would feed it
    # 1-feature data refuse it first, as a failed check rather than a grader error.
    "wrong_input_model": Expected(
        score_without("build_model", "compare") + 1,
        "graded",
        {n: s for n, s in broken("build_model", "compare").items() if "compiled" not in n},
    ),
    # Every signal to the grading run is refused; the module itself is alice.
    "kill_grader": Expected(MAX_SCORE, "graded", {}),
    # No pipe of another process opens through /proc/PID/fd; the module itself is alice.
    "foreign_pipes": Expected(MAX_SCORE, "graded", {}),
    # The daemon dies with the worker, having rewritten nothing; the module itself is alice.
    "daemon_rewrite": Expected(MAX_SCORE, "graded", {}),
    # 200,000 small files: refused in /tmp and /dev/shm, the worker stopped in its scratch
    # folder, listed or not. l2_dense, l1_dense, l1_l2_dense and penalty lose their checks.
    "fill_files": Expected(
        score_without("l2_dense", "l1_dense", "l1_l2_dense", "penalty"),
        "graded",
        broken("l2_dense", "l1_dense", "l1_l2_dense", "penalty"),
    ),
    # 60 MB files, memory files, files unlinked but kept open: refused or stopped.
    "fill_bytes": Expected(
        score_without("l2_dense", "l1_dense", "regularized_loss", "compare", "penalty"),
        "graded",
        broken("l2_dense", "l1_dense", "regularized_loss", "compare", "penalty"),
    ),
}
# -- the run ------------------------------------------------------------------------------


class _Listener:
    """Listens on TCP and UDP at 127.0.0.1 and on a unix socket; records what arrives."""

    def __init__(self, unix_path: Path) -> None:
        self.received: list[str] = []
        self._stop = threading.Event()
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(8)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.unix_path = unix_path
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind(str(unix_path))
        os.chmod(unix_path, 0o777)
        self.unix.listen(8)
        self._threads = [
            threading.Thread(target=self._accept, args=(self.tcp, "tcp"), daemon=True),
            threading.Thread(target=self._accept, args=(self.unix, "unix"), daemon=True),
            threading.Thread(target=self._datagrams, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @property
    def port(self) -> int:
        return int(self.tcp.getsockname()[1])

    @property
    def udp_port(self) -> int:
        return int(self.udp.getsockname()[1])

    def _accept(self, server: socket.socket, kind: str) -> None:
        server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                connection, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            with connection:
                connection.settimeout(2)
                try:
                    data = connection.recv(1024)
                except OSError:
                    data = b""
            self.received.append(f"{kind}: {data!r}")

    def _datagrams(self) -> None:
        self.udp.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data, _ = self.udp.recvfrom(1024)
            except (TimeoutError, OSError):
                continue
            self.received.append(f"udp: {data!r}")

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        for sock in (self.tcp, self.udp, self.unix):
            sock.close()
        self.unix_path.unlink(missing_ok=True)


class _FifoWatch:
    """A named pipe with a writer waiting for a reader: whoever opens it is recorded."""

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path, 0o666)
        self._closing = False
        self.opened_by_grader = False
        self._thread = threading.Thread(target=self._write, daemon=True)
        self._thread.start()

    def _write(self) -> None:
        with open(self.path, "w") as fifo:  # blocks until someone opens it for reading
            self.opened_by_grader = not self._closing
            fifo.write("a\nb\n")

    def close(self) -> None:
        self._closing = True
        # Open it ourselves, without blocking, so that the writer thread can finish.
        with contextlib.suppress(OSError):
            reader = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            self._thread.join(timeout=5)
            os.close(reader)
        self.path.unlink(missing_ok=True)


@dataclass
class Run:
    level: str
    marker: str
    class_dir: Path
    out: Path
    canary: Path
    secret: Path
    secret_text: str
    course_secret: str  # in the grader's environment, as an LMS may pass it
    command: subprocess.CompletedProcess[str]
    duration: float
    results: dict[str, Any]
    students: dict[str, dict[str, Any]]
    before: dict[str, str]  # submissions folder: relative path -> sha256, before the run
    after: dict[str, str]  # ... and after it
    canary_before: str
    canary_after: str
    out_after: dict[str, str]  # the output folder as the grader left it
    out_later: dict[str, str]  # ... and ORPHAN_SLEEP + 2 s later
    received: list[str]
    fifo_opened: bool
    survivors: list[str]  # processes still alive after the run that carry the marker


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): _digest(p) if p.is_file() and not p.is_symlink() else "?"
        for p in sorted(folder.rglob("*"))
        if not p.is_dir() or p.is_symlink()
    }


def _processes_with(marker: str) -> dict[int, str]:
    """Processes whose command line or name mentions ``marker``."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            comm = (entry / "comm").read_text(errors="replace").strip()
        except OSError:
            continue
        if marker in cmdline or marker in comm:
            found[int(entry.name)] = f"{comm}: {cmdline[:200]}"
    return found


def _build_class(class_dir: Path, values: dict[str, str], level: str) -> None:
    alice = ALICE.read_text(encoding="utf-8")
    (class_dir / VICTIM).mkdir(parents=True)
    shutil.copyfile(ALICE, class_dir / VICTIM / f"{MODULE}.py")
    for payload in sorted(PAYLOADS.glob("*.py")):
        if level == "limits" and payload.stem not in AT_LIMITS:
            continue
        text = payload.read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace(f"@@{key}@@", value)
        assert "@@" not in text, f"{payload.name} has a placeholder the test does not fill"
        folder = class_dir / payload.stem
        folder.mkdir()
        source = f"{alice.rstrip()}\n\n\n# ---- hostile payload: {payload.name} ----\n{text}"
        (folder / f"{MODULE}.py").write_text(source, encoding="utf-8")


@pytest.fixture(scope="module", params=LEVELS)
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    level = str(request.param)
    if not available(level):
        pytest.skip(f"isolation level {level!r} is not available on this machine")
    if not os.access(OUTSIDE, os.W_OK):
        pytest.skip(f"the hostile corpus needs a writable {OUTSIDE}")
    marker = "hx" + secrets.token_hex(4)  # 10 characters: fits a process name
    base = tmp_path_factory.mktemp("hostile")
    class_dir, out, canary = base / "class", base / "out", base / "canary.txt"
    canary.write_text("the canary must never change\n", encoding="utf-8")
    secret = OUTSIDE / f"{marker}-secret.txt"
    secret_text = f"SECRET-{marker}-{secrets.token_hex(8)}"
    secret.write_text(secret_text, encoding="utf-8")
    listener = _Listener(OUTSIDE / f"{marker}.sock")
    fifo = _FifoWatch(OUTSIDE / f"{marker}.fifo")
    try:
        _build_class(
            class_dir,
            {
                "MARKER": marker,
                "ROOT": str(ROOT),
                "CLASS": str(class_dir),
                "OUT": str(out),
                "VICTIM": str(class_dir / VICTIM / f"{MODULE}.py"),
                "PORT": str(listener.port),
                "UDP_PORT": str(listener.udp_port),
                "UNIX_SOCKET": str(listener.unix_path),
                "SECRET": str(secret),
                "CANARY": str(canary),
                "FIFO": str(fifo.path),
                "TEST_PID": str(os.getpid()),
            },
            level,
        )
        before = _tree(class_dir)
        canary_before = _digest(canary)
        # The course secret the file holds, passed as an LMS would pass it: in the grader's
        # environment, where a worker that read /proc/PID/environ would find it.
        course_secret = (ROOT / "course-secret").read_text().splitlines()[0].strip()
        started = time.monotonic()
        command = subprocess.run(
            [
                *(sys.executable, "-m", "grader", "--course", str(ROOT), "run"),
                *(str(class_dir), "--out", str(out)),
                *("--workers", "3", "--isolation", level, "--assignment", "regularization"),
                *(["--allow-weak-isolation"] if level == "limits" else []),
                *("--call-timeout", str(CALL_TIMEOUT), "--import-timeout", str(IMPORT_TIMEOUT)),
                *("--submission-timeout", str(SUBMISSION_TIMEOUT)),
                *("--output-bytes", str(OUTPUT_BYTES)),
            ],
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
            cwd=base,
            env={**os.environ, "GRADER_COURSE_SECRET": course_secret},
        )
        duration = time.monotonic() - started
        out_after = _tree(out) if out.is_dir() else {}
        # Orphans that escaped would have written their files by now; give them a little more.
        time.sleep(ORPHAN_SLEEP + 2)
        survivors = _processes_with(marker)
        out_later = _tree(out) if out.is_dir() else {}
        if not (out / "results.json").is_file():
            pytest.fail(f"grader run wrote no results.json:\n{command.stderr[-3000:]}")
        results = json.loads((out / "results.json").read_text(encoding="utf-8"))
        yield Run(
            level=level,
            marker=marker,
            class_dir=class_dir,
            out=out,
            canary=canary,
            secret=secret,
            secret_text=secret_text,
            course_secret=course_secret,
            command=command,
            duration=duration,
            results=results,
            students={s["student"]: s for s in results["students"]},
            before=before,
            after=_tree(class_dir),
            canary_before=canary_before,
            canary_after=_digest(canary),
            out_after=out_after,
            out_later=out_later,
            received=list(listener.received),
            fifo_opened=fifo.opened_by_grader,
            survivors=sorted(survivors.values()),
        )
    finally:
        listener.close()
        fifo.close()
        secret.unlink(missing_ok=True)
        # Should anything have escaped, end it (by id: only what carries this run's marker).
        for pid in _processes_with(marker):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for folder in LEFTOVER_FOLDERS:
            for leftover in folder.glob(f"*{marker}*"):
                with contextlib.suppress(OSError):
                    if leftover.is_dir() and not leftover.is_symlink():
                        shutil.rmtree(leftover)
                    else:
                        leftover.unlink()


# -- helpers for the assertions -----------------------------------------------------------


def student(run: Run, name: str) -> dict[str, Any]:
    if run.level == "limits" and name not in AT_LIMITS:
        pytest.skip(f"{name} is not run at the limits level")
    assert name in run.students, f"{name} was not graded: {run.command.stderr[-2000:]}"
    return run.students[name]


def check(run: Run, name: str, check_name: str) -> dict[str, Any]:
    return next(c for c in student(run, name)["checks"] if c["name"] == check_name)


def assert_expected(run: Run, name: str) -> dict[str, Any]:
    """The exact score, status and per-check verdicts that EXPECTED states."""
    result = student(run, name)
    expected = EXPECTED[name]
    verdicts = {c["name"]: c["status"] for c in result["checks"]}
    assert set(verdicts) == set(EVERY_CHECK)
    wrong = {
        check_name: (status, expected.checks.get(check_name, "passed"))
        for check_name, status in verdicts.items()
        if status != expected.checks.get(check_name, "passed")
    }
    messages = {c["name"]: c["message"][:300] for c in result["checks"] if c["name"] in wrong}
    assert not wrong, f"{name}: (got, expected) {wrong}\n{messages}\n{result['error']}"
    assert (result["score"], result["max_score"]) == (expected.score, MAX_SCORE), result["error"]
    assert result["status"] == expected.status, result["error"]
    return result


def messages(run: Run, name: str, function: str) -> list[str]:
    return [check(run, name, c)["message"] for c in CHECKS[function]]


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]


def text_of(path: Path) -> str:
    """The file's text (its first 50 MB: the forged files are small)."""
    try:
        with path.open("rb") as handle:
            return handle.read(50 << 20).decode("utf-8", errors="replace")
    except OSError:
        return ""


# -- the run as a whole ---------------------------------------------------------------------


def test_the_run_completes_with_every_student_graded(run):
    print(f"hostile run at {run.level}: {len(run.students)} students in {run.duration:.0f} s")
    assert run.command.returncode == 0, run.command.stderr[-3000:]
    assert run.results["isolation"] == run.level
    graded = set(EXPECTED) if run.level != "limits" else set(EXPECTED) & AT_LIMITS
    assert set(run.students) == graded, "every payload needs an EXPECTED entry"
    # The grading processes survived everything: no student and no check is a grader error.
    errors = {
        s["student"]: [c["name"] for c in s["checks"] if c["status"] == "error"]
        for s in run.results["students"]
        if s["status"] == "error" or any(c["status"] == "error" for c in s["checks"])
    }
    assert not errors, errors


def test_the_submissions_folder_is_exactly_as_before(run):
    # Nothing deleted, rewritten, renamed, planted or left behind by an orphan.
    assert run.after == run.before
    assert run.canary_after == run.canary_before


def test_no_process_carrying_the_marker_survives(run):
    assert run.survivors == []


def test_the_output_folder_stays_as_the_grader_left_it(run):
    # Compared right after the command returned and ORPHAN_SLEEP + 2 s later: nothing a
    # student left running rewrites a result once the run is over.
    assert run.out_after == run.out_later
    assert "results.json" in run.out_after and "grades.csv" in run.out_after


def test_nothing_named_after_the_run_is_left_on_the_host(run):
    leftovers = [str(p) for folder in LEFTOVER_FOLDERS for p in folder.glob(f"*{run.marker}*")]
    # The test's own secret, socket and pipe are there by design.
    ours = {str(OUTSIDE / f"{run.marker}{suffix}") for suffix in ("-secret.txt", ".sock", ".fifo")}
    assert sorted(set(leftovers) - ours) == []


# -- one test per payload -----------------------------------------------------------------


def test_classmate_scores_30_with_an_unchanged_file(run):
    victim = assert_expected(run, VICTIM)
    assert victim["fingerprint"] == _digest(ALICE)
    result = assert_expected(run, "classmate")
    # Every attempt failed inside the sandbox.
    line = next(x for x in result["output"].splitlines() if x.startswith("classmate:"))
    assert "done" not in line, line
    assert not list(run.class_dir.glob(f"planted-{run.marker}*"))


def test_fake_result_files_appear_nowhere(run):
    result = assert_expected(run, "fake_files")
    token = f"FAKE-{run.marker}"
    places = [*files_under(run.out), *files_under(run.class_dir)]
    places += [p for top in (Path("/tmp"), OUTSIDE, ROOT, Path.home()) for p in top.glob("*.*")]
    places += [p for p in (ROOT / "grader-results").glob("**/*") if p.is_file()]
    assert not [str(p) for p in places if p.is_file() and token in text_of(p)]
    assert not Path(f"/tmp/{run.marker}-fake").exists()
    # The student's own result in OUT is the grader's, not the forged one.
    written = json.loads((run.out / "students" / "fake_files.json").read_text())
    assert written["score"] == result["score"] and "token" not in written
    assert "fake files:" in result["output"]


def test_the_reference_the_checks_and_outside_files_are_unreadable(run):
    assert_expected(run, "read_reference")
    default = messages(run, "read_reference", "l2_dense")[0]
    assert "HOSTILE-BLOCKED reference" in default
    assert "'READ'" not in default  # not one of the paths could be read
    for name in ("reference/regularization.py", "test_overfitting.py", "assignment.toml"):
        assert name in default
    assert "HOSTILE-BLOCKED secret" in messages(run, "read_reference", "l1_dense")[0]
    output = student(run, "read_reference")["output"]
    assert "shadow: readable" not in output
    # Not through the grading processes' /proc/PID/root, cwd or environ either.
    line = next(x for x in output.splitlines() if x.startswith("read_reference other paths:"))
    assert "VIA-PATH READ" not in line and "GRADER_COURSE_SECRET=" not in line, line
    assert "course-secret" in line and "/environ" in line, line
    for secret in (run.secret_text, run.course_secret):
        assert not [p for p in files_under(run.out) if secret in text_of(p)]
        assert secret not in json.dumps(run.results)


def test_patching_the_grader_and_pytest_in_the_worker_changes_only_its_answers(run):
    assert_expected(run, "patch_grader")


def test_patching_numeric_comparisons_in_the_worker_changes_nothing_here(run):
    assert_expected(run, "patch_libs")
    assert "L1L2(l1=0.002, l2=0.002)" in messages(run, "patch_libs", "l1_l2_dense")[0]


def test_patching_builtins_in_the_worker_changes_nothing_here(run):
    assert_expected(run, "patch_builtins")
    assert "Invalid dtype" in messages(run, "patch_builtins", "regularized_loss")[0]


@pytest.mark.parametrize("name", ["exit_import_os", "exit_import_sys"])
def test_exit_at_import_is_an_import_error(run, name):
    result = assert_expected(run, name)
    assert result["error"]


def test_exit_inside_a_function_fails_only_that_function(run):
    assert_expected(run, "exit_in_functions")
    assert "exited" in messages(run, "exit_in_functions", "l2_dense")[0]
    assert "SystemExit" in messages(run, "exit_in_functions", "l1_dense")[0]


def test_an_endless_import_is_ended_by_the_import_time_limit(run):
    result = assert_expected(run, "hang_import")
    assert f"did not finish within {IMPORT_TIMEOUT} s" in result["error"]


def test_a_hang_with_sigterm_ignored_times_out_and_is_killed(run):
    result = assert_expected(run, "sigterm_hang")
    assert "did not finish" in messages(run, "sigterm_hang", "compare")[0]
    # One call timed out (compare is called once; its second check reuses the answer).
    assert result["duration"] < CALL_TIMEOUT + 120
    assert run.survivors == []


def test_orphans_die_with_the_worker_and_write_nothing(run):
    assert_expected(run, "orphans")
    name = f"orphan-{run.marker}"
    for folder in (run.class_dir, run.out, Path("/tmp"), OUTSIDE):
        assert not list(folder.glob(f"{name}*")), folder
    assert run.survivors == []


def test_a_flood_of_output_is_truncated_and_does_not_slow_grading(run):
    result = assert_expected(run, "print_flood")
    output = result["output"]
    assert "[output truncated:" in output
    assert len(output.encode()) < OUTPUT_BYTES + 500
    assert result["duration"] < student(run, VICTIM)["duration"] + 30


def test_a_memory_bomb_at_import_is_contained_in_the_worker(run):
    assert_expected(run, "memory_import")


def test_a_memory_bomb_in_a_function_fails_only_that_function(run):
    # Filling the memory takes a while on a loaded machine: the call may run out of time
    # before it runs out of memory. Either way compare's checks, and only they, lose.
    result = student(run, "memory_function")
    verdicts = {c["name"]: c["status"] for c in result["checks"]}
    compare = set(CHECKS["compare"])
    assert {verdicts[name] for name in compare} <= {"failed", "timeout"}, verdicts
    assert all(status == "passed" for name, status in verdicts.items() if name not in compare)
    expected = EXPECTED["memory_function"]
    assert (result["score"], result["status"]) == (expected.score, expected.status)


def test_the_network_is_unreachable_even_on_loopback(run):
    assert_expected(run, "network")
    message = messages(run, "network", "l2_dense")[0]
    assert "HOSTILE-BLOCKED network" in message
    assert "tcp: connected" not in message and "unix: connected" not in message
    assert run.received == []


def test_a_forged_reply_is_only_an_answer(run):
    assert_expected(run, "forge_reply")
    for text in messages(run, "forge_reply", "penalty"):
        assert "to be a number" in text, text


def test_printed_verdicts_are_ignored(run):
    result = assert_expected(run, "fake_output")
    assert "30/30 passed" in result["output"]  # shown to the student, never read


def test_a_lambda_layer_is_refused_and_never_run(run):
    assert_expected(run, "lambda_model")
    for text in messages(run, "lambda_model", "build_model"):
        assert "Lambda" in text, text
    assert not Path(f"/tmp/{run.marker}-lambda-ran").exists()


def test_lying_values_are_judged_by_the_data_that_crossed(run):
    assert_expected(run, "lying_values")
    assert "12345" in messages(run, "lying_values", "penalty")[0]
    assert "cannot" in messages(run, "lying_values", "validation_gap")[0]


def test_huge_values_are_refused_without_a_grader_error(run):
    assert_expected(run, "huge_values")


@pytest.mark.parametrize("name", ["symlink_file", "symlink_dir"])
def test_symlinks_in_the_scratch_folder_lead_nowhere(run, name):
    assert_expected(run, name)
    assert run.canary_after == run.canary_before
    assert run.after[f"{VICTIM}/{MODULE}.py"] == run.before[f"{VICTIM}/{MODULE}.py"]


def test_nothing_can_be_left_behind_for_later_grading(run):
    result = assert_expected(run, "persistent_tamper")
    lines = result["output"].splitlines()
    tried = next(x for x in lines if x.startswith("tamper tried:")).split(": ", 1)[1]
    paths = [Path(p) for p in tried.split("|")]
    assert len(paths) >= 9
    assert not [str(p) for p in paths if p.exists()]


def test_an_unbuilt_model_fails_its_checks_without_grader_errors(run):
    assert_expected(run, "unbuilt_model")
    for text in messages(run, "unbuilt_model", "build_model"):
        assert "never built" in text, text


def test_a_huge_model_is_not_rebuilt(run):
    assert_expected(run, "huge_model")
    for text in messages(run, "huge_model", "build_model"):
        assert "parameters" in text, text


def test_a_layer_that_reads_files_is_refused_without_opening_the_file(run):
    assert_expected(run, "file_layer")
    for text in messages(run, "file_layer", "build_model"):
        assert "could not be rebuilt" in text, text
    assert not run.fifo_opened


def test_a_model_with_the_wrong_input_size_fails_without_grader_errors(run):
    assert_expected(run, "wrong_input_model")


def _landlock_scopes_signals() -> bool:
    return capabilities().landlock_abi >= 6


def test_the_grader_and_its_templates_cannot_be_signalled(run):
    result = assert_expected(run, "kill_grader")
    line = next(x for x in result["output"].splitlines() if x.startswith("kill_grader: uid"))
    # It found something to aim at: its ancestors, up to the grader run.
    assert ", ancestors 0," not in line and ", targets 0," not in line, line
    if _landlock_scopes_signals():
        assert "SENT" not in result["output"], line
    # The grading run survived it (the test above: every student graded, no grader error).
    assert run.command.returncode == 0


def test_other_processes_pipes_cannot_be_opened_through_proc(run):
    result = assert_expected(run, "foreign_pipes")
    assert "OPENED" not in result["output"], result["output"][:2000]
    line = next(x for x in result["output"].splitlines() if x.startswith("foreign_pipes:"))
    assert " 0 refused" not in line, line  # it found processes to aim at
    assert_expected(run, VICTIM)


def test_a_daemon_cannot_rewrite_results_during_or_after_the_run(run):
    assert_expected(run, "daemon_rewrite")
    token = f"FORGED-{run.marker}"
    forged = [str(p) for p in files_under(run.out) if token in text_of(p)]
    assert forged == []
    assert run.out_after == run.out_later
    assert not [s for s in run.survivors if "rewrite" in s]
    # The classmate's own result file is the grader's.
    victim = json.loads((run.out / "students" / f"{VICTIM}.json").read_text())
    assert victim["score"] == MAX_SCORE and "token" not in victim


def test_many_small_files_stop_the_worker_or_are_refused(run):
    assert_expected(run, "fill_files")
    # The scratch folder is the worker's to write: there only the bound can stop it.
    scratch = messages(run, "fill_files", "l2_dense")[0]
    assert "stopped" in scratch and "10,000 files" in scratch, scratch
    for function in ("l1_dense", "l1_l2_dense", "penalty"):  # /tmp, /dev/shm, unlisted
        text = messages(run, "fill_files", function)[0]
        assert "stopped" in text or "HOSTILE-BLOCKED" in text, text
    for folder in LEFTOVER_FOLDERS:
        assert not list(folder.glob(f"{run.marker}-files*")), folder


def test_big_files_and_memory_files_stop_the_worker_or_are_refused(run):
    assert_expected(run, "fill_bytes")
    for function in ("l2_dense", "compare"):  # the scratch folder: only the bound stops it
        text = messages(run, "fill_bytes", function)[0]
        assert "stopped" in text and "512 MB" in text, (function, text)
    for function in ("l1_dense", "regularized_loss", "penalty"):
        text = messages(run, "fill_bytes", function)[0]
        assert "stopped" in text or "HOSTILE-BLOCKED" in text, (function, text)
    for folder in LEFTOVER_FOLDERS:
        assert not list(folder.glob(f"{run.marker}-bytes*")), folder


# -- the trusted side's own defences, without a sandbox (fast, at any isolation level) ------


def test_preparing_a_restart_never_follows_links_left_in_the_scratch_folder(tmp_path):
    # What symlink_file and symlink_dir aim at: the grading process writing the source of
    # a restarted worker through links the previous worker planted in its scratch folder.
    scratch, outside = tmp_path / "scratch", tmp_path / "outside"
    scratch.mkdir()
    outside.mkdir()
    canary = outside / f"{MODULE}.py"
    canary.write_text("canary", encoding="utf-8")
    home, code = scratch / "home", scratch / "code"
    code.symlink_to(outside)  # the code folder: a link to a folder outside
    home.symlink_to(tmp_path / "nowhere")  # HOME: a dangling link
    _prepare_scratch(home, code, f"{MODULE}.py", b"source")
    assert canary.read_text(encoding="utf-8") == "canary"
    for folder in (home, code):
        assert folder.is_dir() and not folder.is_symlink()
    assert (code / f"{MODULE}.py").read_bytes() == b"source"
    (code / f"{MODULE}.py").unlink()
    (code / f"{MODULE}.py").symlink_to(canary)  # the module file: a link to a file outside
    _prepare_scratch(home, code, f"{MODULE}.py", b"source again")
    assert canary.read_text(encoding="utf-8") == "canary"
    assert (code / f"{MODULE}.py").read_bytes() == b"source again"


def _sequential(input_dim: int | None, *units: int) -> KerasObject:
    layers: list[dict[str, Any]] = []
    if input_dim is not None:
        layers.append(
            {
                "module": "keras.layers",
                "class_name": "InputLayer",
                "config": {"batch_shape": [None, input_dim], "dtype": "float32"},
                "registered_name": None,
            }
        )
    layers += [
        {
            "module": "keras.layers",
            "class_name": "Dense",
            "config": {"units": n, "activation": "relu"},
            "registered_name": None,
        }
        for n in units
    ]
    config = {"name": "sequential", "layers": layers}
    return KerasObject(
        "model",
        {"module": "keras", "class_name": "Sequential", "config": config, "registered_name": None},
    )


def test_a_huge_model_config_is_refused_before_anything_is_allocated():
    # 10^10 parameters (40 GB): refused from the config alone, instantly.
    started = time.monotonic()
    with pytest.raises(StudentError, match="parameters"):
        rebuild(_sequential(100_000, 100_000, 1), "build_model()")
    assert time.monotonic() - started < 5
    small = rebuild(_sequential(3, 16, 1), "build_model()")
    assert small.count_params() == 3 * 16 + 16 + 16 + 1


def test_an_unbuilt_model_is_a_failed_check_not_a_grader_error():
    with pytest.raises(CheckFailed, match="never built"):
        rebuild(_sequential(None, 16, 1), "build_model()")
