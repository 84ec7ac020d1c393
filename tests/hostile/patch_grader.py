# Payload: at import, monkeypatch the grader's own modules and pytest inside the worker so
# that, were they shared with the grading process, every check would pass: the helpers that
# compare, the plugin that turns outcomes into verdicts, the scoring, pytest's test runner.
# Then answer penalty() and l1_dense() wrongly. Patching inside the worker can only change
# the worker's answers, so those two functions lose their checks as they deserve.
import _pytest.outcomes
import _pytest.python
import _pytest.reports
import _pytest.runner
import grader.checks
import grader.checks.rebuild
import grader.engine.grading
import grader.engine.plugin
import grader.sandbox.client
import grader.sandbox.wire
import pytest


def _nothing(*args, **kwargs):
    return None


grader.checks.expect_close = _nothing
grader.checks.expect = _nothing
grader.checks.fail = lambda *args, **kwargs: AssertionError("never raised")
grader.checks.as_float = lambda value, what: 0.0
grader.checks.rebuild.check_config = _nothing
grader.checks.rebuild.rebuild = _nothing
grader.engine.plugin.GradingPlugin._classify = lambda self, excinfo: ("passed", "")
grader.engine.plugin.GradingPlugin._grader_fault = lambda self, excinfo, when: ("passed", "")
grader.engine.grading.score_of = lambda checks: (30.0, 30.0)
grader.sandbox.client.Worker.call = _nothing
_decode = grader.sandbox.wire.decode
grader.sandbox.wire.decode = lambda data, _depth=0: _decode(data, _depth)  # the worker needs it
grader.sandbox.wire.MAX_MESSAGE_BYTES = 1 << 40
_pytest.python.Function.runtest = lambda self: None
_pytest.runner.call_and_report = _nothing
_pytest.reports.TestReport.passed = property(lambda self: True)
_pytest.reports.TestReport.failed = property(lambda self: False)
_pytest.outcomes.fail = _nothing
pytest.fail = _nothing
pytest.main = lambda *args, **kwargs: 0


def penalty(model):
    return 0.0  # right only for a model without regularizers


def l1_dense(units, l1=0.005, activation="relu"):
    # L2 where L1 is asked for.
    return keras.layers.Dense(
        units, activation=activation, kernel_regularizer=keras.regularizers.l2(l1)
    )
