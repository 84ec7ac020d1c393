"""How fast the grader grades a class, against the usual ways, side by side in one run.

    python benchmarks/grading_speed.py --n 60
    python benchmarks/grading_speed.py --n 1000 --ways grader-2

makes N submissions of the regularization assignment (a fixed mix: correct ones in two
styles, each common mistake, unfinished and broken files; see ``MIX``), then grades
them the ways chosen with ``--ways`` on this machine, one after another:

- ``grader-1`` and ``grader-2``: ``grader run`` (the real CLI, reports included) with
  1 or 2 workers, "cold": the reference's answers cache (``CACHE_DIR`` in the course)
  is deleted first, so the run pays the reference once;
- ``grader-2-warm``: ``grader run`` with 2 workers again into a fresh output folder,
  the cache kept (as a regrade after a fix to a check pays);
- ``pytest``: a new ``python -m pytest`` process per submission over the same check
  files, the submission imported into it (``benchmarks/baseline.py``);
- ``kernel``: the submission executed as a notebook in a new Jupyter kernel, then the
  same checks in that kernel (how otter-grader and nbgrader work);
- ``dask``: ``grader run --scheduler ADDRESS`` on an existing Dask cluster, only when
  ``--scheduler`` is given (cache deleted first, as for the other cold ways).

The baselines get every advantage the grader has not: no sandbox, no worker, and the
reference's answers recorded once up front. They run ``--jobs`` submissions at a time
(default 2, as many as the grader's workers).

It prints, per way: the per-submission median and p90, the total wall time (start to
finish, process start-up included), the throughput, the peak resident memory of any
one process of each kind, and whether every way gave every student the same score;
then each of issue 15's targets as ``target ...: measured X -> met`` (or ``NOT met``)
and, for the main grader run, ``no growth: ...: ratio late/early = X`` lines comparing
the first and last 10% of students to finish.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import click
import psutil

# As the grader's own processes run: recorded answers come from the same kernels.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "regularization"
ASSIGNMENT = "regularization"
# The course's on-disk cache of the reference's answers: deleted before every cold way.
CACHE_DIR = ".grader-cache"
CACHE = ROOT / CACHE_DIR

# Issue 15's targets.
TARGET_VS_KERNEL = 5.0  # throughput, grader with 2 workers vs a fresh kernel per submission
TARGET_VS_PYTEST = 3.0  # ... vs a fresh pytest process per submission
TARGET_WALL_1000 = 15 * 60.0  # seconds for 1,000 submissions with 2 workers
TARGET_RSS_MB = 768.0  # any grading process (not the CLI)
# What "no growth" tolerates between the first and last 10% of students (timings are noisy).
GROWTH_MEMORY = 1.10
GROWTH_TIME = 1.25

# One class of 20, repeated: 8 correct (two styles), 9 with one common mistake each, 3 that
# cannot be graded normally (unfinished, a syntax error, nothing but a comment).
MIX = (
    "alice", "bob", "carol", "alice", "dave", "bob", "erin", "alice", "frank", "bob",
    "grace", "alice", "judy", "bob", "mallory", "heidi", "carol", "ivan", "judy", "empty",
)  # fmt: skip
WAYS = ("grader-1", "grader-2", "grader-2-warm", "pytest", "kernel", "dask")
DEFAULT_WAYS = ("grader-1", "grader-2", "grader-2-warm", "pytest", "kernel")
NAMES = {
    "grader-1": "grader, 1 worker",
    "grader-2": "grader, 2 workers",
    "grader-2-warm": "grader, 2 workers, rerun (cache warm)",
    "pytest": "fresh pytest",
    "kernel": "fresh kernel",
    "dask": "grader, dask",
}
GRADING_KINDS = ("grading process", "template", "worker")


def _example(name: str) -> str:
    if name == "empty":
        return "# Nothing here yet.\n"
    folder = EXAMPLES / name / "regularization.py"
    return (folder if folder.is_file() else EXAMPLES / f"{name}.py").read_text()


def make_submissions(folder: Path, n: int) -> list[Path]:
    """N submissions, ``<student>/regularization.py``; each file differs (its first line)."""
    paths = []
    for i in range(n):
        kind = MIX[i % len(MIX)]
        path = folder / f"s{i:03d}-{kind}" / "regularization.py"
        path.parent.mkdir(parents=True)
        path.write_text(f"# Submission {i} ({kind}).\n" + _example(kind))
        paths.append(path)
    return paths


# -- memory -----------------------------------------------------------------------------


def _kind(process: psutil.Process, template_pids: set[int]) -> str:
    try:
        args = process.cmdline()
        parent = process.ppid()
    except psutil.Error:
        return "other"
    command = " ".join(args)
    # By the module run, not any word: paths (a pytest tmp folder) can hold one too.
    module = args[args.index("-m") + 1] if "-m" in args[:-1] else ""
    if "template_main" in command:
        # Workers are forked from the template: same command line, the template as parent.
        if parent in template_pids:
            return "worker"
        template_pids.add(process.pid)
        return "template"
    if "ipykernel" in command:
        return "kernel"
    if "multiprocessing" in command:
        return "grading process"
    if module == "pytest":
        return "pytest"
    if module == "grader" and parent == os.getpid():  # not a child it is starting
        return "grader CLI"
    return "other"


@dataclass
class Sample:
    at: float  # time.time(), comparable with files' modification times
    rss: dict[str, float]  # the largest resident memory (MB) of each kind now
    cli_cpu: float  # CPU seconds the grader CLI has used so far (0 when none)


@dataclass
class MemorySampler:
    """Peak resident memory per kind of process among this process's descendants, and
    a timeline of samples (to see memory, and the CLI's work, early and late in a run)."""

    interval: float = 0.05
    peaks: dict[str, float] = field(default_factory=dict)
    timeline: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = psutil.Process()
        templates: set[int] = set()
        kinds: dict[int, str] = {}  # a process's command line is read once
        while not self._stop.wait(self.interval):
            now: dict[str, float] = {}
            cli_cpu = 0.0
            for process in me.children(recursive=True):
                try:
                    kind = kinds.get(process.pid) or _kind(process, templates)
                    # A process just started may not have exec'd its own command yet.
                    if time.time() - process.create_time() > 0.5:
                        kinds[process.pid] = kind
                    if kind == "other":
                        continue
                    rss = process.memory_info().rss / 2**20
                    if kind == "grader CLI":
                        times = process.cpu_times()
                        cli_cpu += times.user + times.system
                except psutil.Error:
                    continue
                now[kind] = max(now.get(kind, 0.0), rss)
                self.peaks[kind] = max(self.peaks.get(kind, 0.0), rss)
            self.timeline.append(Sample(time.time(), now, cli_cpu))


# -- the ways -----------------------------------------------------------------------------


@dataclass
class Outcome:
    way: str
    wall: float
    durations: list[float]
    scores: dict[str, float]
    memory: dict[str, float]
    # The grader's ways only: when the run started (time.time()), its workers, each
    # student's (finish time, duration) in the order they finished, the memory timeline.
    started: float = 0.0
    workers: int = 0
    finishes: list[tuple[float, float]] = field(default_factory=list)
    timeline: list[Sample] = field(default_factory=list)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0", PYTHONPATH=str(ROOT))
    return env


def clear_cache() -> None:
    """Forget the reference's cached answers (if any), so the next run pays them once."""
    shutil.rmtree(CACHE, ignore_errors=True)


def _finishes(out: Path) -> list[tuple[float, float]]:
    """(finish time, duration) of every student file the run wrote, in finish order."""
    finishes = []
    for path in (out / "students").glob("*.json"):
        data = json.loads(path.read_text())
        finishes.append((path.stat().st_mtime, float(data["duration"])))
    return sorted(finishes)


def run_grader(
    submissions: Path, out: Path, way: str, workers: int, scheduler: str | None = None
) -> Outcome:
    command = [sys.executable, "-m", "grader", "run", str(submissions), "--out", str(out)]
    command += ["--assignment", ASSIGNMENT, "--force"]
    command += ["--workers", str(workers)] if scheduler is None else ["--scheduler", scheduler]
    with MemorySampler() as memory:
        started = time.time()
        begun = time.monotonic()
        proc = subprocess.run(command, cwd=ROOT, env=_env(), capture_output=True, text=True)
        wall = time.monotonic() - begun
    if proc.returncode != 0:
        raise click.ClickException(f"{way}: grader run failed:\n{proc.stderr[-3000:]}")
    run = json.loads((out / "results.json").read_text())
    students = run["students"]
    return Outcome(
        NAMES[way],
        wall,
        [s["duration"] for s in students],
        {s["student"]: s["score"] for s in students},
        memory.peaks,
        started=started,
        workers=int(run.get("workers") or workers),
        finishes=_finishes(out),
        timeline=memory.timeline,
    )


def _timed_each(
    paths: list[Path], jobs: int, grade: Callable[[Path], None]
) -> tuple[float, dict[str, float], dict[str, float]]:
    """Run ``grade`` over every submission, ``jobs`` at a time: total wall, durations."""
    durations: dict[str, float] = {}

    def one(path: Path) -> None:
        started = time.monotonic()
        grade(path)
        durations[path.parent.name] = time.monotonic() - started

    with MemorySampler() as memory:
        started = time.monotonic()
        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(one, paths))
        wall = time.monotonic() - started
    return wall, durations, memory.peaks


def _scores(results: Path) -> dict[str, float]:
    scores = {}
    for path in sorted(results.glob("*.json")):
        scores[path.stem] = json.loads(path.read_text())["score"]
    return scores


def run_fresh_pytest(paths: list[Path], answers: Path, results: Path, jobs: int) -> Outcome:
    from grader.assignment import load_assignment

    assignment = load_assignment(ASSIGNMENT, ROOT)
    results.mkdir()

    def grade(path: Path) -> None:
        env = _env()
        env.update(
            GRADER_BENCH_ASSIGNMENT=ASSIGNMENT,
            GRADER_BENCH_ROOT=str(ROOT),
            GRADER_BENCH_ANSWERS=str(answers),
            GRADER_BENCH_SUBMISSION=str(path),
            GRADER_BENCH_STUDENT=path.parent.name,
            GRADER_BENCH_RESULT=str(results / f"{path.parent.name}.json"),
        )
        command = [sys.executable, "-m", "pytest", *map(str, assignment.check_files())]
        command += ["-c", str(assignment.directory / "assignment.toml")]
        command += ["--rootdir", str(assignment.directory), "--import-mode=importlib", "-q"]
        command += ["-p", "no:cacheprovider", "-p", "benchmarks.baseline", "-o", "addopts="]
        subprocess.run(command, cwd=path.parent, env=env, capture_output=True, check=False)

    wall, durations, memory = _timed_each(paths, jobs, grade)
    return Outcome("fresh pytest", wall, list(durations.values()), _scores(results), memory)


def run_fresh_kernel(paths: list[Path], answers: Path, results: Path, jobs: int) -> Outcome:
    import nbformat
    from nbclient import NotebookClient

    results.mkdir()

    def grade(path: Path) -> None:
        out = results / f"{path.parent.name}.json"
        setup = (
            f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "from grader.sandbox.convert import configure_tensorflow\n"
            "configure_tensorflow()"
        )
        check = (
            "from benchmarks.baseline import check_namespace\n"
            f"check_namespace(globals(), {ASSIGNMENT!r}, {str(ROOT)!r}, {str(answers)!r}, "
            f"{str(out)!r})"
        )
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [
            nbformat.v4.new_code_cell(setup),
            nbformat.v4.new_code_cell(path.read_text()),
            nbformat.v4.new_code_cell(check),
        ]
        client = NotebookClient(
            notebook,
            timeout=600,
            kernel_name="python3",
            allow_errors=True,
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute(env=_env())

    wall, durations, memory = _timed_each(paths, jobs, grade)
    return Outcome("fresh kernel", wall, list(durations.values()), _scores(results), memory)


# -- report -------------------------------------------------------------------------------


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def _machine() -> str:
    cores = os.cpu_count()
    memory = psutil.virtual_memory().total / 2**30
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import importlib.metadata as meta

    versions = ", ".join(
        f"{p} {meta.version(p)}" for p in ("tensorflow-cpu", "keras") if _installed(p)
    )
    return (
        f"{cpu}, {cores} cores, {memory:.0f} GB; Python {platform.python_version()}, "
        f"{versions}; {platform.system()} {platform.release()}"
    )


def _installed(package: str) -> bool:
    import importlib.metadata as meta

    try:
        meta.version(package)
    except meta.PackageNotFoundError:
        return False
    return True


def _check_count() -> int:
    from grader.assignment import load_assignment

    return len(load_assignment(ASSIGNMENT, ROOT).checks)


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def targets(outcomes: list[Outcome], n: int) -> list[str]:
    """Issue 15's targets, one ``target WHAT: measured VALUE -> met`` line each."""
    by_way = {o.way: o for o in outcomes}
    lines = []
    for name in (NAMES["grader-2"], NAMES["grader-2-warm"]):
        grader = by_way.get(name)
        if grader is None:
            continue
        for baseline, target in (
            (NAMES["kernel"], TARGET_VS_KERNEL),
            (NAMES["pytest"], TARGET_VS_PYTEST),
        ):
            if baseline in by_way:
                ratio = by_way[baseline].wall / grader.wall
                lines.append(
                    f"target {name} vs {baseline} >= {target:g}x throughput: "
                    f"measured {ratio:.2f}x -> {_verdict(ratio >= target)}"
                )
    cold = by_way.get(NAMES["grader-2"])
    if cold is not None:
        wall = cold.wall * 1000 / n
        if n == 1000:
            value = f"{cold.wall:.1f} s at N={n}"
        else:
            value = f"{wall:.1f} s (scaled from {cold.wall:.1f} s at N={n})"
        lines.append(
            f"target 1000 submissions in < {TARGET_WALL_1000 / 60:g} min ({cold.way}): "
            f"measured {value} -> {_verdict(wall < TARGET_WALL_1000)}"
        )
    local = [o for o in outcomes if o.workers and o.way != NAMES["dask"]]
    peaks = [(mb, kind) for o in local for kind, mb in o.memory.items() if kind in GRADING_KINDS]
    if peaks:
        mb, kind = max(peaks)
        lines.append(
            f"target peak RSS of any grading process <= {TARGET_RSS_MB:g} MB: "
            f"measured {mb:.0f} MB ({kind}) -> {_verdict(mb <= TARGET_RSS_MB)}"
        )
    differ = _differing(outcomes)
    lines.append(
        f"target every way gives every student the same score: measured "
        f"{len(differ)} students differ -> {_verdict(not differ)}"
    )
    return lines


def _differing(outcomes: list[Outcome]) -> list[str]:
    reference = outcomes[0].scores
    students = set(reference).union(*(o.scores for o in outcomes))
    return sorted(s for s in students if any(o.scores.get(s) != reference.get(s) for o in outcomes))


def _at(timeline: list[Sample], when: float) -> Sample | None:
    """The last sample taken at or before ``when`` (the first one if none was)."""
    before = [sample for sample in timeline if sample.at <= when]
    return before[-1] if before else (timeline[0] if timeline else None)


def _growth_line(what: str, early: float, late: float, unit: str, ok: bool, rule: str) -> str:
    ratio = late / early if early > 0 else (1.0 if late <= 0 else float("inf"))
    digits = 1 if unit == " MB" else 3
    return (
        f"no growth: {what}: early {early:.{digits}f}{unit}, late {late:.{digits}f}{unit}: "
        f"ratio late/early = {ratio:.2f} -> {_verdict(ok)} ({rule})"
    )


def _gaps(finishes: list[tuple[float, float]], workers: int) -> list[float]:
    """Per student (in finish order), how long its worker sat between the previous
    submission's end and this one's start: dispatch, the CLI's share and the worker's fork,
    none of which is in ``duration``. Students are given to ``workers`` slots, each
    submission to the slot free just before it started (no worker grades two at once)."""
    slots = [float("-inf")] * max(1, workers)
    gaps: dict[int, float] = {}
    for i, (finish, duration) in sorted(enumerate(finishes), key=lambda x: x[1][0] - x[1][1]):
        start = finish - duration
        free = [j for j, last in enumerate(slots) if last <= start]
        j = (
            max(free, key=lambda j: slots[j])
            if free
            else min(range(len(slots)), key=slots.__getitem__)
        )
        if slots[j] != float("-inf"):
            gaps[i] = max(0.0, start - slots[j])
        slots[j] = finish
    return [gaps[i] for i in sorted(gaps)]


def growth(outcome: Outcome) -> list[str]:
    """Whether a run slows down or takes more memory as it goes: the first and the last
    10% of students to finish (at least one each) compared, in ``no growth:`` lines."""
    finishes = outcome.finishes
    n = len(finishes)
    if n < 2:
        return [f"no growth: not measured ({outcome.way} graded {n} student)"]
    k = max(1, min(math.ceil(n / 10), n - 1))
    lines = []

    def time_ok(early: float, late: float) -> bool:
        return late <= early * GROWTH_TIME or late - early <= 0.05

    time_rule = f"met if ratio <= {GROWTH_TIME:g} or within 0.05 s"
    durations = [d for _, d in finishes]
    lines.append(
        _growth_line(
            f"median s per submission graded, first vs last {k} of {n} ({outcome.way})",
            early := statistics.median(durations[:k]),
            late := statistics.median(durations[-k:]),
            " s",
            time_ok(early, late),
            time_rule,
        )
    )
    # Windows between finishes: the first k after the first finish, the last k.
    windows = {
        "early": (finishes[0][0], finishes[k][0]),
        "late": (finishes[n - k - 1][0], finishes[n - 1][0]),
    }
    gaps = _gaps(finishes, outcome.workers)
    if len(gaps) >= 2:
        kg = max(1, min(math.ceil(len(gaps) / 10), len(gaps) - 1))
        early, late = statistics.median(gaps[:kg]), statistics.median(gaps[-kg:])
        lines.append(
            _growth_line(
                f"median s a worker waits between two submissions, first vs last {kg}",
                early,
                late,
                " s",
                time_ok(early, late),
                time_rule,
            )
        )
    cpu = {}
    for name, (start, end) in windows.items():
        first, last = _at(outcome.timeline, start), _at(outcome.timeline, end)
        if first is not None and last is not None and last.cli_cpu > 0:
            cpu[name] = (last.cli_cpu - first.cli_cpu) / k
    if len(cpu) == 2:
        lines.append(
            _growth_line(
                "grader CLI CPU s per student (resume index, student files, progress)",
                cpu["early"],
                cpu["late"],
                " s",
                time_ok(cpu["early"], cpu["late"]),
                time_rule,
            )
        )
    for kind in (*GRADING_KINDS, "grader CLI"):
        peak = {}
        for name, (start, end) in windows.items():
            # A window shorter than the sampling interval: the last sample before its end.
            samples = [s for s in outcome.timeline if start <= s.at <= end]
            last = _at(outcome.timeline, end)
            if not samples and last is not None:
                samples = [last]
            seen = [s.rss[kind] for s in samples if kind in s.rss]
            if seen:
                peak[name] = max(seen)
        if len(peak) == 2:
            ok = peak["late"] <= peak["early"] * GROWTH_MEMORY
            lines.append(
                _growth_line(
                    f"peak RSS of a {kind}",
                    peak["early"],
                    peak["late"],
                    " MB",
                    ok,
                    f"met if ratio <= {GROWTH_MEMORY:g}",
                )
            )
    graded = sum(durations)
    lines.append(
        f"- {outcome.way}: start-up until the first student finished "
        f"{finishes[0][0] - outcome.started:.1f} s; after the last (index, reports) "
        f"{outcome.started + outcome.wall - finishes[-1][0]:.1f} s."
    )
    lines.append(
        f"- {outcome.way}: wall outside grading per student over the whole run "
        f"((wall x workers - grading) / N): {(outcome.wall * outcome.workers - graded) / n:.3f} s"
    )
    return lines


def report(outcomes: list[Outcome], n: int, isolation: str, cache_note: str = "") -> str:
    lines = [
        f"Machine: {_machine()}. Isolation: {isolation}.",
        f"{n} submissions of the regularization assignment (all {_check_count()} checks).",
        "",
        "| way | median s/submission | p90 | total wall s | submissions/min | "
        "peak RSS of one process (MB) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for o in outcomes:
        memory = ", ".join(f"{kind} {mb:.0f}" for kind, mb in sorted(o.memory.items()))
        lines.append(
            f"| {o.way} | {statistics.median(o.durations):.2f} | {_p90(o.durations):.2f} | "
            f"{o.wall:.1f} | {60 * n / o.wall:.1f} | {memory} |"
        )
    by_way = {o.way: o for o in outcomes}
    lines.append("")
    grader_1, grader_2 = by_way.get(NAMES["grader-1"]), by_way.get(NAMES["grader-2"])
    warm, dask = by_way.get(NAMES["grader-2-warm"]), by_way.get(NAMES["dask"])
    for fast in (grader_2 or grader_1, warm, dask):
        if fast is None:
            continue
        for name in (NAMES["kernel"], NAMES["pytest"]):
            if name in by_way:
                ratio = by_way[name].wall / fast.wall
                lines.append(f"- {fast.way} vs {name}: {ratio:.2f}x faster (total wall).")
    if grader_1 is not None and grader_2 is not None:
        lines.append(f"- 2 workers vs 1: {grader_1.wall / grader_2.wall:.2f}x the throughput.")
    if grader_2 is not None and warm is not None:
        lines.append(f"- cache warm vs cold (2 workers): {grader_2.wall / warm.wall:.2f}x.")
    if cache_note:
        lines.append(f"- {cache_note}")
    for o in outcomes:
        if o.workers and o.way != NAMES["dask"]:
            grading = [o.memory[k] for k in GRADING_KINDS if k in o.memory]
            lines.append(
                f"- {o.way}: peak RSS of any grader process but the CLI: "
                f"{max(grading, default=0.0):.0f} MB."
            )
    differ = _differing(outcomes)
    same = (
        "every way gave every student the same score"
        if not differ
        else (f"scores differ between ways for {len(differ)} students: {', '.join(differ[:5])}")
    )
    lines.append(f"- Verdicts: {same}.")
    lines.append("")
    lines += targets(outcomes, n)
    main = grader_2 or grader_1 or dask or warm
    if main is not None:
        lines.append("")
        lines += growth(main)
    return "\n".join(lines)


def choose_ways(ways: str | None, scheduler: str | None) -> list[str]:
    """The ways to run, in a fixed order (the warm rerun after the cold ones); ``grader2``
    and ``grader-2`` are the same way."""
    spelled = {w.replace("-", ""): w for w in WAYS}
    if ways is None:
        chosen = list(DEFAULT_WAYS) + (["dask"] if scheduler else [])
    else:
        words = [w.strip().lower() for w in ways.split(",") if w.strip()]
        unknown = sorted(w for w in words if w.replace("-", "") not in spelled)
        if unknown or not words:
            raise click.UsageError(
                f"Unknown ways: {', '.join(unknown) or '(none)'}; use {', '.join(WAYS)}."
            )
        picked = {spelled[w.replace("-", "")] for w in words}
        chosen = [w for w in WAYS if w in picked]
    if "dask" in chosen and not scheduler:
        raise click.UsageError("The dask way needs --scheduler tcp://HOST:PORT.")
    return chosen


@click.command()
@click.option("--n", "n", type=click.IntRange(min=1), default=60, show_default=True)
@click.option(
    "--ways",
    default=None,
    help=f"Comma-separated, from: {', '.join(WAYS)} [default: {','.join(DEFAULT_WAYS)}, "
    "and dask with --scheduler].",
)
@click.option("--jobs", type=click.IntRange(min=1), default=2, show_default=True,
              help="Baseline submissions graded at a time.")  # fmt: skip
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="A Dask scheduler (tcp://HOST:PORT): adds the way `grader run --scheduler ADDRESS`.",
)
@click.option("--keep", type=click.Path(path_type=Path), help="Keep the work folder here.")
def main(n: int, ways: str | None, jobs: int, scheduler: str | None, keep: Path | None) -> None:
    """Grade N generated submissions several ways and print the comparison."""
    chosen = choose_ways(ways, scheduler)
    sys.path.insert(0, str(ROOT))
    from grader.assignment import load_assignment
    from grader.engine.recording import record_answers, write_answers
    from grader.sandbox.isolation import detect
    from grader.sandbox.template import close_templates

    work = Path(tempfile.mkdtemp(prefix="grader-bench-")) if keep is None else keep
    work.mkdir(parents=True, exist_ok=True)
    try:
        submissions = work / "submissions"
        paths = make_submissions(submissions, n)
        answers = work / "answers.json"
        if {"pytest", "kernel"} & set(chosen):
            click.echo("Recording the reference's answers for the baselines...", err=True)
            # Hidden checks too: the baselines grade what the grader grades.
            recorded = record_answers(load_assignment(ASSIGNMENT, ROOT), hidden=True)
            write_answers(recorded, answers)
            close_templates()  # not to be counted with the baselines' processes
        outcomes: list[Outcome] = []
        cache_note, cold_done = "", False
        for way in chosen:
            if way == "grader-2-warm" and not cold_done:
                click.echo("Filling the reference's cache for the warm rerun...", err=True)
                clear_cache()
                run_grader(submissions, work / "out-prime", way, 2)
            elif way.startswith("grader-") or way == "dask":
                clear_cache()
            click.echo(f"Grading {n} submissions: {NAMES[way]}...", err=True)
            if way == "pytest":
                outcomes.append(run_fresh_pytest(paths, answers, work / "pytest", jobs))
            elif way == "kernel":
                outcomes.append(run_fresh_kernel(paths, answers, work / "kernel", jobs))
            elif way == "dask":
                outcomes.append(run_grader(submissions, work / "out-dask", way, 0, scheduler))
            else:
                workers = int(way.split("-")[1])
                outcomes.append(run_grader(submissions, work / f"out-{way[7:]}", way, workers))
                if way != "grader-2-warm":
                    cold_done = True
                    entries = sum(1 for p in CACHE.rglob("*") if p.is_file())
                    cache_note = f"Reference cache {CACHE_DIR}/ after the last cold run: " + (
                        f"{entries} files." if entries else "absent or empty (no cache)."
                    )
        click.echo(report(outcomes, n, detect(), cache_note))
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
