"""The dropout assignment end to end, and the generic pieces it added to the grader.

The example class (examples/dropout/, each student one known mistake), the reference and
the stub are graded once, through the real CLI: every student must get exactly the check
statuses and score their mistake should cost, the reference full marks and the stub zero
without grader errors (what `grader validate dropout` demands).

Also here: Keras callbacks crossing the wire as plain data (grader.sandbox.convert), and
dropout in the grader's own training loop (grader.checks.training).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from grader.assignment import load_assignment
from grader.checks import training
from grader.checks.data import overfit_data
from grader.checks.models import callback_settings
from grader.checks.rebuild import check_config
from grader.engine.check_modules import shipped_helpers
from grader.errors import CheckFailed, StudentError
from grader.release import scan_release
from grader.sandbox import wire
from grader.sandbox.convert import Converter
from grader.sandbox.wire import KerasObject
from grader.validate import check_consistency

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "dropout"

# Kept apart from assignment.toml on purpose: a change there must show up here.
POINTS = {
    "test_dropout_model_structure": 2,
    "test_dropout_model_rate": 2,
    "test_dropout_model_sizes": 1,
    "test_dropout_model_compiled": 1,
    "test_dropout_inactive_at_inference": 2,
    "test_dropout_shrinks_gap": 3,
    "test_hidden_dropout_model": 1,
    "test_early_stopping_monitor": 1,
    "test_early_stopping_patience": 1,
    "test_early_stopping_restores_best": 1,
    "test_hidden_early_stopping_other_settings": 1,
    "test_train_with_dropout_result": 1,
    "test_train_with_dropout_matches_reference": 2,
    "test_hidden_train_with_dropout_other_run": 2,
}
HIDDEN = {
    "test_hidden_dropout_model",
    "test_hidden_early_stopping_other_settings",
    "test_hidden_train_with_dropout_other_run",
}
EVERY_CHECK = set(POINTS)
TRAIN_RUNS = {
    "test_train_with_dropout_matches_reference",
    "test_hidden_train_with_dropout_other_run",
}
CALLBACK = {name for name in POINTS if "early_stopping" in name}
TRAIN = {name for name in POINTS if "train_with_dropout" in name}

# student -> (status, the checks that must fail; every other check must pass). The hidden
# checks draw their inputs from the course secret, away from every default: they see each
# ignored argument and each setting the contract fixes, whatever the secret.
HIDDEN_MODEL = "test_hidden_dropout_model"
HIDDEN_CALLBACK = "test_hidden_early_stopping_other_settings"
EXPECTED: dict[str, tuple[str, set[str]]] = {
    "alice": ("graded", set()),
    "bob": ("graded", set()),
    "carol": (
        "graded",
        {"test_dropout_model_structure", "test_dropout_shrinks_gap", HIDDEN_MODEL} | TRAIN_RUNS,
    ),
    "dave": ("graded", {"test_dropout_model_rate", HIDDEN_MODEL} | TRAIN_RUNS),
    "erin": (
        "graded",
        {"test_dropout_model_structure", "test_dropout_shrinks_gap", HIDDEN_MODEL} | TRAIN_RUNS,
    ),
    "frank": ("graded", {"test_early_stopping_restores_best", HIDDEN_CALLBACK} | TRAIN_RUNS),
    "grace": ("graded", {"test_early_stopping_monitor", HIDDEN_CALLBACK} | TRAIN_RUNS),
    "heidi": ("graded", {"test_dropout_inactive_at_inference"}),
    "ivan": ("import_error", EVERY_CHECK),
    "judy": ("graded", CALLBACK | TRAIN),
    "mallory": (
        "graded",
        {
            "test_early_stopping_patience",
            HIDDEN_CALLBACK,
            "test_hidden_train_with_dropout_other_run",
        },
    ),
    # What `grader validate dropout` demands of the reference and the stub.
    "reference": ("graded", set()),
    "stub": ("graded", EVERY_CHECK),
}
SCORES = {"alice": 21, "bob": 21, "carol": 11, "dave": 14, "erin": 11, "frank": 15}
SCORES |= {"grace": 15, "heidi": 19, "ivan": 0, "judy": 12, "mallory": 17}
SCORES |= {"reference": 21, "stub": 0}
MAX_SCORE = sum(POINTS.values())


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    klass = tmp_path_factory.mktemp("class")
    shutil.copytree(EXAMPLES, klass, dirs_exist_ok=True)
    for student, source in (
        ("reference", ROOT / "reference" / "dropout.py"),
        ("stub", ROOT / "assignments" / "dropout" / "dropout.py"),
    ):
        (klass / student).mkdir()
        shutil.copy(source, klass / student / "dropout.py")
    out = tmp_path_factory.mktemp("results")
    command = [sys.executable, "-m", "grader", "run", str(klass), "--assignment", "dropout"]
    proc = subprocess.run(
        [*command, "--out", str(out), "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Ignored README.md" in proc.stderr
    data = json.loads((out / "results.json").read_text())
    assert data["max_score"] == sum(POINTS.values())
    return {s["student"]: s for s in data["students"]}


def test_assignment_declares_its_checks_and_keeps_hidden_ones_apart():
    assignment = load_assignment("dropout")
    assert check_consistency(assignment) == []
    assert {c.name: c.points for c in assignment.checks} == POINTS
    assert {c.name for c in assignment.checks if c.visibility == "hidden"} == HIDDEN
    hidden_files = {p.name for p in assignment.check_files() if p.name.startswith("test_hidden")}
    assert hidden_files == {"test_hidden_dropout.py"}


def test_what_students_receive_holds_no_reference_line_and_no_hidden_check(tmp_path):
    # The files a release copies; the notebook is the stub's cells, the README is generic.
    assignment = load_assignment("dropout")
    visible = assignment.visible().check_files()
    for path in [assignment.stub, *visible, *shipped_helpers(visible)]:
        shutil.copy(path, tmp_path / path.name)
    assert len(list(tmp_path.glob("test_*.py"))) == 4
    assert (tmp_path / "_calibrated.py").is_file()  # test_train.py imports it
    assert scan_release(tmp_path, assignment) == []
    leaky = tmp_path / "test_model.py"
    leaky.write_text(leaky.read_text() + '\n# model.compile(optimizer="adam", loss="mse")\n')
    assert len(scan_release(tmp_path, assignment)) == 1


def test_every_example_is_graded(results):
    assert sorted(results) == sorted(EXPECTED)


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_mistake_costs_exactly_its_checks(results, student):
    status, failing = EXPECTED[student]
    record = results[student]
    assert record["status"] == status, record.get("error")
    verdicts = {c["name"]: c["status"] for c in record["checks"]}
    expected = {name: "failed" if name in failing else "passed" for name in EVERY_CHECK}
    messages = {
        c["name"]: c["message"] for c in record["checks"] if verdicts[c["name"]] != "passed"
    }
    assert verdicts == expected, messages
    assert record["score"] == MAX_SCORE - sum(POINTS[name] for name in failing)
    assert record["score"] == SCORES[student]
    assert record["max_score"] == MAX_SCORE


def test_messages_explain_the_mistake(results):
    def message(student: str, check: str) -> str:
        return next(c["message"] for c in results[student]["checks"] if c["name"] == check)

    assert "only 1 of your 2 hidden layers" in message("carol", "test_dropout_model_structure")
    assert "Found: rates 0.5, 0.5" in message("dave", "test_dropout_model_rate")
    assert "dropout on the inputs" in message("erin", "test_dropout_model_structure")
    frank = message("frank", "test_train_with_dropout_matches_reference")
    assert '["gap"]' in frank and "restore_best_weights=True" in frank
    assert "Found: restore_best_weights=False" in message(
        "frank", "test_early_stopping_restores_best"
    )
    assert "Found: monitor='loss'" in message("grace", "test_early_stopping_monitor")
    heidi = message("heidi", "test_dropout_inactive_at_inference")
    assert "model(x) on your model" in heidi and "training=True" in heidi
    assert "SyntaxError" in results["ivan"]["error"]
    assert "NotImplementedError" in message("judy", "test_early_stopping_monitor")
    assert "Found: patience=5" in message("mallory", "test_early_stopping_patience")
    assert "NotImplementedError" in message("stub", "test_dropout_model_structure")


def test_the_pictures_show_the_gap_and_the_layers(results):
    def figures(student: str, check: str) -> list[dict]:
        return next(c["figures"] for c in results[student]["checks"] if c["name"] == check)

    # carol's gap check fails: its curves are there all the same, hers beside the reference's.
    (curves,) = figures("carol", "test_dropout_shrinks_gap")
    assert [p["title"] for p in curves["panels"]] == ["Your dropout_model", "Reference solution"]
    for panel in curves["panels"]:
        assert [s["role"] for s in panel["series"]] == ["train", "validation"] * 2
        assert all(len(s["x"]) == 21 and s["x"][-1] == 1000 for s in panel["series"])
    (layers,) = figures("carol", "test_dropout_model_structure")
    assert [row["ok"] for row in layers["rows"]] == [True, False, False, False, False]
    (rates,) = figures("dave", "test_dropout_model_rate")
    assert [row["cells"][1:] for row in rates["rows"]] == [["rate 0.5", "rate 0.2"]] * 2
    assert all(row["ok"] for row in figures("alice", "test_dropout_model_sizes")[0]["rows"])


# -- callbacks across the wire ------------------------------------------------------------


def through_the_wire(value: object) -> object:
    return wire.decode(wire.loads(wire.dumps(wire.encode(Converter().to_plain(value)))))


def test_early_stopping_crosses_as_its_settings_and_is_rebuilt():
    callback = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=np.int64(7), restore_best_weights=True, min_delta=-0.5
    )
    sent = through_the_wire(callback)
    assert isinstance(sent, KerasObject) and sent.kind == "callback"
    assert sent.config["module"] == "keras.callbacks"
    assert sent.inner_config == {
        "monitor": "val_loss",
        "min_delta": 0.5,  # EarlyStopping keeps its absolute value
        "patience": 7,
        "verbose": 0,
        "mode": "auto",
        "baseline": None,
        "restore_best_weights": True,
        "start_from_epoch": 0,
    }
    assert type(sent.inner_config["patience"]) is int
    rebuilt = Converter().from_plain(sent)
    assert isinstance(rebuilt, keras.callbacks.EarlyStopping)
    assert (rebuilt.monitor, rebuilt.patience, rebuilt.restore_best_weights) == (
        "val_loss",
        7,
        True,
    )
    assert callback_settings(sent, "`f()`", "EarlyStopping")["patience"] == 7


class Patient(keras.callbacks.EarlyStopping):
    def __init__(self, patience: int = 3, note: object = None) -> None:
        super().__init__(patience=patience)
        self.note = note  # not a plain value: left out


def test_callbacks_that_write_files_or_are_not_keras_cross_but_are_not_rebuilt():
    checkpoint = through_the_wire(keras.callbacks.ModelCheckpoint("/tmp/never.keras"))
    assert checkpoint.inner_config["filepath"] == "/tmp/never.keras"
    with pytest.raises(wire.WireError, match="ModelCheckpoint callback cannot be rebuilt"):
        Converter().from_plain(checkpoint)
    custom = through_the_wire(Patient(note=object()))
    assert custom.class_name == "Patient"
    assert custom.config["module"] == __name__
    assert custom.inner_config == {"patience": 3}
    with pytest.raises(wire.WireError, match="cannot be rebuilt"):
        Converter().from_plain(custom)
    with pytest.raises(StudentError, match="not part of Keras"):
        check_config(custom.config)  # what the reference would be refused
    with pytest.raises(CheckFailed, match="Found: a Patient callback defined in"):
        callback_settings(custom, "`f()`", "EarlyStopping")


def test_settings_that_keras_refuses_are_a_wire_error():
    bad = KerasObject(
        "callback",
        {"module": "keras.callbacks", "class_name": "EarlyStopping", "config": {"speed": 3}},
    )
    with pytest.raises(wire.WireError, match="settings are not valid"):
        Converter().from_plain(bad)


@pytest.mark.parametrize(
    ("value", "found"),
    [
        (
            KerasObject("regularizer", {"class_name": "L2", "config": {"l2": 0.1}}),
            "a Keras regularizer",
        ),
        ({"monitor": "val_loss"}, "a dict"),
    ],
)
def test_callback_settings_fails_clearly_for_other_answers(value, found):
    with pytest.raises(CheckFailed, match=f"Found: {found}"):
        callback_settings(value, "`early_stopping_callback()`", "EarlyStopping")


# -- dropout in the grader's training loop --------------------------------------------------


def dropout_net(*, functional: bool = False, seed: int | None = None, rate: float = 0.5):
    if functional:
        inputs = keras.Input((1,))
        hidden = keras.layers.Dense(16, activation="relu")(inputs)
        hidden = keras.layers.Dropout(rate, seed=seed)(hidden)
        model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    else:
        model = keras.Sequential(
            [
                keras.Input((1,)),
                keras.layers.Dense(16, activation="relu"),
                keras.layers.Dropout(rate, seed=seed),
                keras.layers.Dense(1),
            ]
        )
    return model.__class__.from_config(model.get_config())  # as the grader rebuilds it


def short_run(model: keras.Model) -> training.GapOutcome:
    data = overfit_data(0, n_val=50)
    return training.gap_experiment(
        model, data, epochs=30, learning_rate=1e-2, seed=0, record_every=30
    )


def test_dropout_runs_are_repeatable_whatever_seed_or_api_the_model_has():
    keras.utils.set_random_seed(5)
    plain = short_run(dropout_net())
    keras.utils.set_random_seed(6)  # another Keras seed state when the model is built
    others = [short_run(dropout_net(functional=True)), short_run(dropout_net(seed=123))]
    for other in others:
        assert other.gap == plain.gap
        assert other.curves == plain.curves


def test_dropout_is_on_while_training_with_a_new_mask_every_step():
    model = dropout_net()
    training.reinitialize(model, 0)
    training.train(model, overfit_data(0, n_val=50), epochs=30, learning_rate=3e-2, record_every=30)
    (layer,) = [x for x in model.layers if isinstance(x, keras.layers.Dropout)]
    assert int(layer.seed_generator.state.numpy()[1]) == 30  # one draw per step
    without = dropout_net(rate=0.0)  # a rate of 0: no random layer at all
    assert short_run(without).gap != short_run(dropout_net()).gap


def test_reinitialize_gives_the_dense_layers_the_same_weights_with_or_without_dropout():
    with_dropout = dropout_net()
    plain = keras.Sequential([keras.Input((1,)), keras.layers.Dense(16, activation="relu")])
    plain.add(keras.layers.Dense(1))
    training.reinitialize(with_dropout, 3)
    training.reinitialize(plain, 3)
    for got, want in zip(with_dropout.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
