"""Tests for grader.sandbox.client.Worker: running student code in a separate process.

Starting a worker costs a few seconds (it imports TensorFlow), so most tests share one
module-scoped worker; tests that need their own limits or that close the worker start
their own.
"""

from __future__ import annotations

import dataclasses
import os
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from grader.checks.models import dense_stack, regularizer
from grader.checks.rebuild import regularizer_factors
from grader.errors import StudentCrash, StudentError, StudentImportError, StudentTimeout
from grader.sandbox.client import Worker
from grader.sandbox.limits import Limits
from grader.sandbox.wire import KerasObject, TensorValue
from grader.submissions import load_notebook

MODULE = "regularization"
CALL_TIMEOUT = 3.0
LIMITS = Limits(call_timeout=CALL_TIMEOUT, import_timeout=60, submission_timeout=600)

STUDENT = textwrap.dedent(
    """
    import os
    import subprocess
    import sys

    import keras
    import tensorflow as tf

    print("print at import")
    os.write(1, b"os.write at import\\n")

    not_a_function = 3


    def l2_dense(units, l2=0.01, activation="relu"):
        return keras.layers.Dense(
            units, activation=activation, kernel_regularizer=keras.regularizers.L2(l2)
        )


    def broken(index):
        values = [1, 2]
        return values[index]  # the failing line


    def unfinished():
        raise NotImplementedError("TODO")


    def hang():
        while True:
            pass


    def hard_exit():
        os._exit(0)


    def soft_exit():
        sys.exit(0)


    def echo(*args, **kwargs):
        return [list(args), kwargs]


    def noisy(n):
        print("print in noisy")
        os.write(1, b"os.write in noisy\\n")
        sys.stderr.write("stderr in noisy\\n")
        return n * 2


    def give_lambda():
        return lambda: 1


    def give_file():
        return open(__file__)


    def loss(model, x, y):
        prediction = model(tf.constant(x, dtype=tf.float32))
        mse = tf.reduce_mean(tf.square(prediction - tf.constant(y, dtype=tf.float32)))
        return mse + tf.add_n(model.losses)


    def python_loss(model, x, y):
        return 1.5


    def spawn():
        return subprocess.Popen(["sleep", "60"]).pid


    def forge_reply():
        # Student code can reach the reply pipe: it is the write end among its open files.
        import fcntl
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd > 2 and os.readlink(f"/proc/self/fd/{name}").startswith("pipe:"):
                if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:
                    os.write(fd, (2).to_bytes(4, "big") + b"{]")
        return 1


    def oom_score():
        with open("/proc/self/oom_score_adj") as handle:
            return int(handle.read())


    def loud():
        print("\\x1b[1mloud\\x1b[0m \\x07!")
        raise ValueError("\\x1b[1mbold\\x1b[0m \\ud800 \\x00end")


    def keras_fails():
        return keras.layers.Dense(-1)
    """
)
FAILING_LINE = next(
    number for number, line in enumerate(STUDENT.splitlines(), 1) if "the failing line" in line
)


def write_student(folder: Path, source: str = STUDENT) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{MODULE}.py"
    path.write_text(source, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def student_file(tmp_path_factory) -> Path:
    return write_student(tmp_path_factory.mktemp("student"))


@pytest.fixture(scope="module")
def worker(student_file):
    with Worker(student_file, MODULE, LIMITS) as shared:
        yield shared


def timed(function, *args, **kwargs):
    started = time.monotonic()
    try:
        return function(*args, **kwargs), time.monotonic() - started
    except BaseException as exc:
        exc.elapsed = time.monotonic() - started
        raise


def is_alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie nobody has reaped yet counts as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_until_dead(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return True
        time.sleep(0.05)
    return False


# -- answers ----------------------------------------------------------------------------


def test_a_layer_arrives_as_a_keras_object_with_its_regularizer(worker):
    result = worker.call("l2_dense", 32, l2=0.05)
    layer = result.value
    assert isinstance(layer, KerasObject)
    assert layer.kind == "layer"
    assert layer.class_name == "Dense"
    assert layer.inner_config["units"] == 32
    assert layer.inner_config["activation"] == "relu"
    kernel = layer.inner_config["kernel_regularizer"]
    assert kernel["class_name"] == "L2"
    assert kernel["config"]["l2"] == pytest.approx(0.05)
    assert regularizer_factors(kernel).l2 == pytest.approx(0.05)
    assert layer.inner_config["bias_regularizer"] is None
    assert result.gradients is None


def test_arguments_of_every_wire_type_reach_the_student(worker):
    array = np.arange(6, dtype="float32").reshape(2, 3)
    args = (None, True, 3, 2.5, "text", (1, 2), {"k": [1]}, array)
    value = worker.call("echo", *args, flag=False).value
    received, kwargs = value
    assert received[:7] == [None, True, 3, 2.5, "text", (1, 2), {"k": [1]}]
    np.testing.assert_array_equal(received[7], array)
    assert received[7].dtype == np.float32
    assert kwargs == {"flag": False}


def test_a_keras_regularizer_argument_reaches_the_student_as_a_live_regularizer(worker):
    # echo sends the live regularizer straight back: it must come back as a regularizer.
    (received,), _ = worker.call("echo", regularizer("L1", l1=0.2)).value
    assert isinstance(received, KerasObject)
    assert received.kind == "regularizer"
    assert regularizer_factors(received.config).l1 == pytest.approx(0.2)


def test_an_exception_is_a_student_error_with_the_students_traceback(worker):
    with pytest.raises(StudentError) as info:
        worker.call("broken", 5)
    error = info.value
    assert type(error) is StudentError
    assert error.kind == "exception"
    assert str(error) == "broken() raised IndexError: list index out of range"
    assert 'File "regularization.py"' in error.details
    assert f"line {FAILING_LINE}, in broken" in error.details
    assert "return values[index]" in error.details
    assert "IndexError: list index out of range" in error.details
    assert "grader/sandbox" not in error.details
    assert "grader-worker-" not in error.details  # the scratch path is hidden


def test_not_implemented_error_has_its_own_kind(worker):
    with pytest.raises(StudentError) as info:
        worker.call("unfinished")
    assert info.value.kind == "not_implemented"
    assert "unfinished() is not implemented yet" in str(info.value)


def test_a_missing_function_has_kind_missing(worker):
    with pytest.raises(StudentError) as info:
        worker.call("no_such_function", 1)
    assert info.value.kind == "missing"
    assert str(info.value) == "Your module has no function no_such_function()."


def test_a_name_that_is_not_a_function_has_kind_missing(worker):
    with pytest.raises(StudentError) as info:
        worker.call("not_a_function")
    assert info.value.kind == "missing"
    assert "not_a_function is a int" in str(info.value)


def test_sys_exit_in_a_function_is_an_exception_answer_not_a_crash(worker):
    restarts = worker.restarts
    with pytest.raises(StudentError) as info:
        worker.call("soft_exit")
    assert type(info.value) is StudentError
    assert info.value.kind == "exception"
    assert "raised SystemExit" in str(info.value)
    assert worker.restarts == restarts
    assert worker.call("echo", 1).value == [[1], {}]


def test_calling_with_wrong_arguments_shows_no_grader_frames(worker):
    with pytest.raises(StudentError) as info:
        worker.call("broken")
    assert "missing 1 required positional argument" in str(info.value)
    assert "grader/sandbox" not in info.value.details


@pytest.mark.parametrize("function", ["give_lambda", "give_file"])
def test_returning_an_unsendable_object_is_a_bad_return(worker, function):
    with pytest.raises(StudentError) as info:
        worker.call(function)
    assert info.value.kind == "bad_return"
    assert f"{function}() returned something the grader cannot read" in str(info.value)
    assert "cannot be sent" in str(info.value)


# -- gradients --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def regularized_model() -> KerasObject:
    return dense_stack(
        [(4, "relu", regularizer("L2", l2=0.1)), (1, "linear", None)], input_dim=3, seed=0
    )


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(8, 3)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")


def trusted_loss_and_gradients(model_obj: KerasObject, x, y):
    import tensorflow as tf

    from grader.sandbox.convert import Converter

    model = Converter().from_plain(model_obj)
    with tf.GradientTape() as tape:
        prediction = model(tf.constant(x))
        value = tf.reduce_mean(tf.square(prediction - y)) + tf.add_n(model.losses)
    grads = tape.gradient(value, model.trainable_weights)
    return float(value), [g.numpy() for g in grads]


def test_gradients_come_back_for_every_trainable_weight(worker, regularized_model, data):
    x, y = data
    result = worker.call("loss", regularized_model, x, y, gradients=True)
    assert isinstance(result.value, TensorValue)
    assert result.value.array.size == 1
    assert result.gradients is not None
    assert len(result.gradients) == len(regularized_model.weights) == 4
    for gradient, weight in zip(result.gradients, regularized_model.weights, strict=True):
        assert isinstance(gradient, TensorValue)
        assert gradient.array.shape == weight.shape
    want_value, want_grads = trusted_loss_and_gradients(regularized_model, x, y)
    assert float(result.value.array.reshape(())) == pytest.approx(want_value, rel=1e-5)
    for got, want in zip(result.gradients, want_grads, strict=True):
        np.testing.assert_allclose(got.array, want, rtol=1e-4, atol=1e-6)


def test_a_python_float_has_no_gradients(worker, regularized_model, data):
    x, y = data
    result = worker.call("python_loss", regularized_model, x, y, gradients=True)
    assert result.value == 1.5
    assert result.gradients == [None] * len(regularized_model.weights)


def test_gradients_without_a_model_argument_are_refused(worker, data):
    x, y = data
    with pytest.raises(StudentError, match="gradients need a model"):
        worker.call("python_loss", 1, x, y, gradients=True)


# -- output ------------------------------------------------------------------------------


def test_printed_output_is_captured_and_does_not_corrupt_replies(worker):
    assert worker.call("noisy", 21).value == 42
    output = worker.output()
    for text in (
        "print at import",
        "os.write at import",
        "print in noisy",
        "os.write in noisy",
        "stderr in noisy",
    ):
        assert text in output
    assert "truncated" not in output


def test_output_beyond_the_limit_is_truncated_with_a_note(tmp_path):
    source = "print('x' * 5000)\n\ndef f():\n    print('y' * 5000)\n    return 1\n"
    path = write_student(tmp_path / "student", source)
    limits = dataclasses.replace(LIMITS, output_bytes=300)
    with Worker(path, MODULE, limits) as worker:
        assert worker.call("f").value == 1
        output = worker.output()
    assert output.startswith("x" * 300 + "\n[output truncated: ")
    assert "after the first 300 were not kept]" in output
    assert "x" * 301 not in output


def test_output_after_hide_output_is_withheld_even_from_a_saved_descriptor(tmp_path):
    # A student who keeps a copy of stdout at import still cannot show what the hidden
    # checks' calls receive; what was printed before is kept.
    source = textwrap.dedent(
        """
        import os, sys
        SAVED = os.dup(1)
        print("at import")

        def shout(word):
            print("printed", word)
            sys.stdout.flush()
            os.write(SAVED, ("saved " + word + "\\n").encode())
            return word
        """
    )
    path = write_student(tmp_path / "student", source)
    with Worker(path, MODULE, LIMITS) as worker:
        assert worker.call("shout", "visible").value == "visible"
        worker.hide_output()
        assert worker.call("shout", "secret").value == "secret"
        output = worker.output()
    assert "at import" in output
    assert "printed visible" in output and "saved visible" in output
    assert "secret" not in output
    assert "printed during the hidden checks is not shown" in output


# -- hangs and crashes ---------------------------------------------------------------------


def test_an_infinite_loop_times_out_and_the_next_call_gets_a_fresh_worker(worker):
    with pytest.raises(StudentTimeout) as info:
        timed(worker.call, "hang")
    assert info.value.kind == "timeout"
    assert f"hang() did not finish within {CALL_TIMEOUT:g} s" in str(info.value)
    assert CALL_TIMEOUT - 0.1 <= info.value.elapsed < CALL_TIMEOUT + 2
    assert worker.call("echo", "again").value == [["again"], {}]


def test_os_exit_in_a_function_is_a_crash_and_the_next_call_gets_a_fresh_worker(worker):
    restarts = worker.restarts
    with pytest.raises(StudentCrash) as info:
        worker.call("hard_exit")
    assert info.value.kind == "crash"
    assert "exit code 0" in str(info.value)
    assert worker.restarts == restarts + 1
    assert worker.call("echo", "again").value == [["again"], {}]


# -- imports -------------------------------------------------------------------------------

BROKEN_IMPORTS = {
    "syntax-error": ("x = 1\ndef f(:\n    pass\n", "SyntaxError"),
    "system-exit": ("import sys\nraise SystemExit(3)\n", "SystemExit: 3"),
    "os-exit": ("import os\nos._exit(0)\n", "The worker exited while importing"),
    "error": ("import math\nvalue = math.sqrt(-1)\n", "ValueError: math domain error"),
}


@pytest.mark.parametrize("case", BROKEN_IMPORTS)
def test_a_module_that_cannot_be_imported_fails_every_call_the_same_way(tmp_path, case):
    source, expected = BROKEN_IMPORTS[case]
    path = write_student(tmp_path / "student", source + "\ndef f():\n    return 1\n")
    with Worker(path, MODULE, LIMITS) as worker:
        with pytest.raises(StudentImportError) as first:
            worker.call("f")
        with pytest.raises(StudentImportError) as second:
            timed(worker.call, "f")
        assert second.value.elapsed < 0.5  # no second import attempt
    assert first.value.kind == "import"
    assert expected in str(first.value)
    assert str(second.value) == str(first.value)
    assert second.value.details == first.value.details
    assert "grader/sandbox" not in first.value.details


def test_a_syntax_error_names_the_students_file_and_line(tmp_path):
    path = write_student(tmp_path / "student", "x = 1\n\ndef f(:\n    pass\n")
    with Worker(path, MODULE, LIMITS) as worker, pytest.raises(StudentImportError) as info:
        worker.call("f")
    assert "regularization.py could not be imported: SyntaxError" in str(info.value)
    assert 'File "regularization.py", line 3' in info.value.details
    assert "grader-worker-" not in info.value.details


SEEDLESS_DEMO = textwrap.dedent(
    """
    import keras
    import numpy as np


    def draw():
        return float(keras.random.uniform(()))


    # The tutorial's demo, pasted at the bottom, no seed set.
    AT_IMPORT = draw()
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 1)), np.full((8, 1), 3.0), epochs=3, verbose=0)
    WEIGHTS = [w.tolist() for w in model.get_weights()]


    def at_import():
        return [AT_IMPORT, WEIGHTS]
    """
)


def test_an_import_that_trains_without_a_seed_is_seeded_like_every_call(tmp_path):
    path = write_student(tmp_path / "student", SEEDLESS_DEMO)
    answers = []
    for _ in range(2):
        with Worker(path, MODULE, LIMITS) as worker:
            answers.append(worker.call("at_import").value)
            draw = worker.call("draw").value
        assert answers[-1][0] == draw  # the import started from the seed a call starts from
    assert answers[0] == answers[1]


SLOW_DEMO = """import time


def f():
    return 1


def demo():
    while True:
        time.sleep(0.01)


demo()
"""
SLOW_LIMITS = dataclasses.replace(LIMITS, import_timeout=6)


def test_an_import_that_times_out_names_the_line_it_was_running(tmp_path):
    path = write_student(tmp_path / "student", SLOW_DEMO)
    with Worker(path, MODULE, SLOW_LIMITS) as worker, pytest.raises(StudentImportError) as info:
        timed(worker.call, "f")
    assert str(info.value) == (
        "Importing regularization.py did not finish within 6 s: it was still running line 10. "
        "Code at the top level of a file runs when the grader imports it: put demos and "
        'experiments under `if __name__ == "__main__":`.'
    )
    assert 'File "regularization.py", line 13, in <module>\n    demo()\n' in info.value.details
    assert "line 10, in demo\n    time.sleep(0.01)" in info.value.details
    assert info.value.elapsed < 6  # the worker answered before the grader gave up


def test_a_notebook_import_that_times_out_names_the_cell(tmp_path):
    from nbformat import v4, writes

    cells = [
        v4.new_code_cell("import time"),
        v4.new_markdown_cell("A demo"),
        v4.new_code_cell(
            "def f():\n    return 1\ndef demo():\n    while True:\n        time.sleep(0.01)"
        ),
        v4.new_code_cell("demo()"),
    ]
    path = tmp_path / "ann.ipynb"
    path.write_text(writes(v4.new_notebook(cells=cells)), encoding="utf-8")
    with (
        Worker(path, MODULE, SLOW_LIMITS, notebook=load_notebook) as worker,
        pytest.raises(StudentImportError) as info,
    ):
        worker.call("f")
    assert str(info.value).startswith(
        "Importing ann.ipynb did not finish within 6 s: it was still running cell 3, line 5. "
        "Every graded cell runs when the grader imports the notebook: tag cells with slow "
        "demos or experiments `skip-grading`"
    )
    assert "File ann.ipynb, cell 4, line 1, in <module>\n    demo()\n" in info.value.details
    assert "File ann.ipynb, cell 3, line 5, in demo\n" in info.value.details


def test_a_notebook_may_call_display_and_get_ipython_as_in_ipython(tmp_path):
    from nbformat import v4, writes

    cells = [
        "import math",
        "display(math.pi, 'text')",
        # What nbconvert and jupytext write for magics: IPython runs them, and so does the
        # grader, as nothing.
        "get_ipython().run_line_magic('matplotlib', 'inline')\nget_ipython().system('ls')",
        "def f():\n    return 1",
    ]
    path = tmp_path / "ann.ipynb"
    path.write_text(writes(v4.new_notebook(cells=[v4.new_code_cell(c) for c in cells])))
    with Worker(path, MODULE, LIMITS, notebook=load_notebook) as worker:
        assert worker.call("f").value == 1
        output = worker.output()
    assert "3.141592653589793\n'text'\n" in output


def test_a_py_exported_from_jupyter_imports(tmp_path):
    # "Download as .py" writes magics as get_ipython() calls.
    source = (
        "# In[1]:\n\nget_ipython().run_line_magic('matplotlib', 'inline')\n"
        "display('shown')\n\n# In[2]:\n\ndef f():\n    return 1\n"
    )
    path = write_student(tmp_path / "student", source)
    with Worker(path, MODULE, LIMITS) as worker:
        assert worker.call("f").value == 1


def test_an_import_that_never_lets_the_watchdog_run_still_times_out(tmp_path):
    # A C loop holds the GIL: only the grader's own time limit ends it.
    path = write_student(tmp_path / "student", "x = sum(range(10**12))\n")
    limits = dataclasses.replace(LIMITS, import_timeout=4)
    with Worker(path, MODULE, limits) as worker, pytest.raises(StudentImportError) as info:
        timed(worker.call, "f")
    assert str(info.value).startswith("Importing regularization.py did not finish within 4 s. ")
    assert "if __name__" in str(info.value)
    assert 3.9 < info.value.elapsed < 8


# -- clean text ------------------------------------------------------------------------------


def test_escape_codes_control_characters_and_surrogates_never_reach_the_student(worker):
    with pytest.raises(StudentError) as info:
        worker.call("loud")
    assert str(info.value) == "loud() raised ValueError: bold \ufffd end"
    assert "\x1b" not in info.value.details and "\x00" not in info.value.details
    assert "loud\x1b" not in worker.output()
    assert "loud !" in worker.output()


def test_a_traceback_ending_in_keras_shows_no_absolute_path(worker):
    with pytest.raises(StudentError) as info:
        worker.call("keras_fails")
    details = info.value.details
    assert 'File "regularization.py", line' in details
    assert 'File "keras/src/layers/core/dense.py", line' in details
    assert "site-packages" not in details and "/" + "work" not in details
    assert not any(line.lstrip().startswith('File "/') for line in details.splitlines())


# -- the submission's total time ------------------------------------------------------------


def test_a_used_up_submission_budget_refuses_calls_immediately(worker, monkeypatch):
    worker.call("echo", 1)  # the worker is running
    process = worker._process
    monkeypatch.setattr(worker, "limits", dataclasses.replace(LIMITS, submission_timeout=0.001))
    with pytest.raises(StudentTimeout) as info:
        timed(worker.call, "echo", 2)
    assert info.value.kind == "timeout"
    assert "used up its total time" in str(info.value)
    assert info.value.elapsed < 0.5
    assert worker._process is process  # the worker was not restarted


def start_with_budget_left(student_file: Path, seconds: float) -> Worker:
    """A worker whose submission has ``seconds`` of its total time left after import."""
    worker = Worker(student_file, MODULE, LIMITS)
    _, used = timed(worker.call, "echo", 0)
    worker.limits = dataclasses.replace(LIMITS, submission_timeout=used + seconds)
    return worker


def test_a_hanging_call_is_cut_short_by_the_submission_budget(student_file):
    with (
        start_with_budget_left(student_file, 1.0) as worker,
        pytest.raises(StudentTimeout) as info,
    ):
        timed(worker.call, "hang")
    assert 0.9 <= info.value.elapsed < CALL_TIMEOUT - 0.5


def test_after_the_budget_runs_out_in_a_hang_later_calls_are_timeouts(student_file):
    with start_with_budget_left(student_file, 1.0) as worker:
        with pytest.raises(StudentTimeout):
            worker.call("hang")
        with pytest.raises(StudentTimeout) as info:
            timed(worker.call, "echo", 1)
    assert type(info.value) is StudentTimeout
    assert "used up its total time" in str(info.value)
    assert info.value.elapsed < 0.5


def test_a_forged_malformed_reply_is_a_bad_return_and_the_worker_recovers(student_file):
    with Worker(student_file, MODULE, LIMITS) as worker:
        with pytest.raises(StudentError) as info:
            worker.call("forge_reply")
        assert info.value.kind == "bad_return"
        assert worker.call("echo", "fresh").value == [["fresh"], {}]


# -- closing -----------------------------------------------------------------------------


def test_close_removes_the_scratch_folder_and_kills_the_process_group(student_file):
    worker = Worker(student_file, MODULE, LIMITS)
    try:
        child = worker.call("spawn").value
        assert isinstance(child, int)
        assert is_alive(child)
        process = worker._process
        assert process is not None
        scratch = worker._scratch
        assert (scratch / "code" / f"{MODULE}.py").is_file()
    finally:
        worker.close()
    assert not scratch.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)
    assert wait_until_dead(child), "the student's child process survived close()"
    worker.close()  # closing twice is harmless


def test_a_keras_2_import_is_explained(tmp_path):
    path = write_student(tmp_path / "keras2", "import tf_keras\n")
    with Worker(path, MODULE, LIMITS) as worker, pytest.raises(StudentImportError) as info:
        worker.call("anything")
    assert "tf_keras (Keras 2) is not supported" in str(info.value)


def test_a_python_under_tmp_stays_visible_wherever_the_course_is(tmp_path, monkeypatch):
    # A clean clone's venv lives under /tmp, behind bubblewrap's fresh /tmp; with the
    # course elsewhere it must still be mounted back, after /tmp is replaced.
    from grader.sandbox import isolation

    venv = tmp_path / "venv"
    venv.mkdir()
    monkeypatch.setattr(isolation, "_python_installation", lambda: [venv])
    monkeypatch.setenv("GRADER_COURSE", str(tmp_path / "course"))
    args = isolation.wrap_command(
        ["python"], isolation.Isolation("bubblewrap"), tmp_path / "scratch"
    )
    mounts = [tuple(args[i : i + 3]) for i in range(len(args) - 2)]
    assert ("--ro-bind", str(venv.resolve()), str(venv.resolve())) in mounts
    assert mounts.index(("--ro-bind", str(venv.resolve()), str(venv.resolve()))) > args.index(
        "/tmp"
    )


def test_the_worker_is_the_first_a_full_container_kills(worker):
    # Out of memory, the kernel picks the student's worker, not the grading process.
    assert worker.call("oom_score").value == 1000


def test_limits_within_a_budget_shorten_only_what_exceeds_it():
    limits = Limits(call_timeout=60, import_timeout=120, submission_timeout=900)
    fitted = limits.within(100)
    assert (fitted.call_timeout, fitted.import_timeout, fitted.submission_timeout) == (60, 100, 100)
    assert fitted.memory_mb == limits.memory_mb and fitted.output_bytes == limits.output_bytes
    assert limits.within(10_000) == limits
    assert limits.within(-5).submission_timeout == 1.0  # never zero: a call must start
