"""How fast the grader grades a class, against the usual ways, side by side in one run.

    python benchmarks/grading_speed.py --n 60

makes N submissions of the regularization assignment (a fixed mix: correct ones in two
styles, each common mistake, unfinished and broken files; see ``MIX``), then grades
them four ways on this machine, one after another:

- ``grader, 1 worker`` and ``grader, 2 workers``: ``grader run`` (the real CLI, reports
  included), workers forked from a pre-imported template, the reference's side once
  per grading process;
- ``fresh pytest``: a new ``python -m pytest`` process per submission over the same
  check files, the submission imported into it (``benchmarks/baseline.py``);
- ``fresh kernel``: the submission executed as a notebook in a new Jupyter kernel,
  then the same checks in that kernel (how otter-grader and nbgrader work).

The baselines get every advantage the grader has not: no sandbox, no worker, and the
reference's answers recorded once up front. They run ``--jobs`` submissions at a time
(default 2, as many as the grader's workers).

It prints, per way: the per-submission median and p90, the total wall time (start to
finish, process start-up included), the throughput, the peak resident memory of any
one process of each kind, and whether every way gave every student the same score;
then the ratios the README's performance section quotes.
"""

from __future__ import annotations

import json
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

# One class of 20, repeated: 8 correct (two styles), 9 with one common mistake each, 3 that
# cannot be graded normally (unfinished, a syntax error, nothing but a comment).
MIX = (
    "alice", "bob", "carol", "alice", "dave", "bob", "erin", "alice", "frank", "bob",
    "grace", "alice", "judy", "bob", "mallory", "heidi", "carol", "ivan", "judy", "empty",
)  # fmt: skip
WAYS = ("grader-1", "grader-2", "pytest", "kernel")


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
        command = " ".join(process.cmdline())
        parent = process.ppid()
    except psutil.Error:
        return "other"
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
    if "pytest" in command:
        return "pytest"
    if "grader" in command:
        return "grader CLI"
    return "other"


@dataclass
class MemorySampler:
    """Peak resident memory per kind of process among this process's descendants."""

    interval: float = 0.05
    peaks: dict[str, float] = field(default_factory=dict)
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
        while not self._stop.wait(self.interval):
            for process in me.children(recursive=True):
                try:
                    rss = process.memory_info().rss / 2**20
                except psutil.Error:
                    continue
                kind = _kind(process, templates)
                if kind != "other":
                    self.peaks[kind] = max(self.peaks.get(kind, 0.0), rss)


# -- the ways -----------------------------------------------------------------------------


@dataclass
class Outcome:
    way: str
    wall: float
    durations: list[float]
    scores: dict[str, float]
    memory: dict[str, float]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0", PYTHONPATH=str(ROOT))
    return env


def run_grader(submissions: Path, out: Path, workers: int) -> Outcome:
    command = [sys.executable, "-m", "grader", "run", str(submissions), "--out", str(out)]
    command += ["--assignment", ASSIGNMENT, "--workers", str(workers), "--force"]
    with MemorySampler() as memory:
        started = time.monotonic()
        subprocess.run(command, cwd=ROOT, env=_env(), check=True, capture_output=True)
        wall = time.monotonic() - started
    students = json.loads((out / "results.json").read_text())["students"]
    return Outcome(
        f"grader, {workers} worker{'s' if workers > 1 else ''}",
        wall,
        [s["duration"] for s in students],
        {s["student"]: s["score"] for s in students},
        memory.peaks,
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


def report(outcomes: list[Outcome], n: int, isolation: str) -> str:
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
    grader_1, grader_2 = by_way.get("grader, 1 worker"), by_way.get("grader, 2 workers")
    fastest = grader_2 or grader_1
    if fastest is not None:
        for name in ("fresh kernel", "fresh pytest"):
            if name in by_way:
                ratio = by_way[name].wall / fastest.wall
                lines.append(f"- {fastest.way} vs {name}: {ratio:.1f}x faster (total wall).")
    if grader_1 is not None and grader_2 is not None:
        lines.append(f"- 2 workers vs 1: {grader_1.wall / grader_2.wall:.2f}x the throughput.")
    if grader_1 is not None:
        grading = [kind for kind in grader_1.memory if kind != "grader CLI"]
        worst = max((grader_1.memory[k] for k in grading), default=0.0)
        lines.append(f"- Peak RSS of any grader process but the CLI: {worst:.0f} MB.")
    reference = outcomes[0].scores
    differ = sorted({s for o in outcomes[1:] for s, v in o.scores.items() if reference.get(s) != v})
    same = (
        "every way gave every student the same score"
        if not differ
        else (f"scores differ between ways for {len(differ)} students: {', '.join(differ[:5])}")
    )
    lines.append(f"- Verdicts: {same}.")
    return "\n".join(lines)


@click.command()
@click.option("--n", "n", type=click.IntRange(min=1), default=60, show_default=True)
@click.option(
    "--ways",
    default=",".join(WAYS),
    show_default=True,
    help="Comma-separated: grader-1, grader-2, pytest, kernel.",
)
@click.option("--jobs", type=click.IntRange(min=1), default=2, show_default=True,
              help="Baseline submissions graded at a time.")  # fmt: skip
@click.option("--keep", type=click.Path(path_type=Path), help="Keep the work folder here.")
def main(n: int, ways: str, jobs: int, keep: Path | None) -> None:
    """Grade N generated submissions several ways and print the comparison."""
    chosen = [w.strip() for w in ways.split(",") if w.strip()]
    unknown = sorted(set(chosen) - set(WAYS))
    if unknown:
        raise click.UsageError(f"Unknown ways: {', '.join(unknown)}; use {', '.join(WAYS)}.")
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
        outcomes = []
        for way in chosen:
            click.echo(f"Grading {n} submissions: {way}...", err=True)
            if way.startswith("grader-"):
                workers = int(way.split("-")[1])
                outcomes.append(run_grader(submissions, work / f"out-{workers}", workers))
            elif way == "pytest":
                outcomes.append(run_fresh_pytest(paths, answers, work / "pytest", jobs))
            else:
                outcomes.append(run_fresh_kernel(paths, answers, work / "kernel", jobs))
        click.echo(report(outcomes, n, detect()))
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
