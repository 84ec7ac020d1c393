"""Writes the corpus's notebooks: correct solutions, each with one defect Jupyter shrugs off.

Run from the project root after changing it (the notebooks are committed, so the test
does not depend on this script):

    .venv/bin/python tests/integrity/make_notebooks.py

Every notebook holds a correct solution split into cells the way students split it, with a
demo cell (unseeded training, not tagged skip-grading) and one defect of issue 12's
section 2. Which defect is in which notebook is in README.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
from nbformat import v4

HERE = Path(__file__).resolve().parent

REG_IMPORTS = "import keras\nimport numpy as np\nimport tensorflow as tf"
REG_LAYERS = """def l2_dense(units, l2=0.01, activation="relu"):
    reg = keras.regularizers.L2(l2)
    return keras.layers.Dense(units, activation=activation, kernel_regularizer=reg)


def l1_dense(units, l1=0.005, activation="relu"):
    reg = keras.regularizers.L1(l1)
    return keras.layers.Dense(units, activation=activation, kernel_regularizer=reg)


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return keras.layers.Dense(
        units, activation=activation, kernel_regularizer=keras.regularizers.L1L2(l1=l1, l2=l2)
    )"""
REG_MODEL = """def build_model(regularizer=None, hidden_units=64, input_dim=1):
    model = keras.Sequential(
        [
            keras.Input((input_dim,)),
            keras.layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    return model"""
REG_PENALTY = """def penalty(model):
    total = 0.0
    for layer in model.layers:
        reg = getattr(layer, "kernel_regularizer", None)
        if reg is None:
            continue
        config = reg.get_config()
        w = keras.ops.convert_to_numpy(layer.kernel).astype(np.float64)
        total += config.get("l1", 0.0) * np.sum(np.abs(w))
        total += config.get("l2", 0.0) * np.sum(np.square(w))
    return float(total)"""
REG_LOSS = """def regularized_loss(model, x, y):
    y_pred = model(tf.convert_to_tensor(x, dtype=tf.float32))
    y = tf.reshape(tf.cast(y, tf.float32), tf.shape(y_pred))
    loss = tf.reduce_mean(tf.square(y - y_pred))
    if model.losses:
        loss = loss + tf.add_n(model.losses)
    return loss"""
REG_GAP = """def _mse(model, x, y):
    y_pred = keras.ops.convert_to_numpy(model(np.asarray(x, dtype=np.float32)))
    y = np.asarray(y, dtype=np.float32).reshape(y_pred.shape)
    return float(np.mean(np.square(y - y_pred)))


def validation_gap(model, x_train, y_train, x_val, y_val):
    return _mse(model, x_val, y_val) - _mse(model, x_train, y_train)"""
REG_COMPARE = """def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    gaps = {}
    for name, reg in [("no_reg", None), ("l2", keras.regularizers.L2(l2))]:
        keras.utils.set_random_seed(seed)
        model = build_model(reg, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        gaps[name] = validation_gap(model, x_train, y_train, x_val, y_val)
    return gaps"""
REG_DEMO = """rng = np.random.default_rng(0)
x_all = rng.uniform(-1, 1, size=(140, 1)).astype("float32")
y_all = (np.sin(3 * x_all) + rng.normal(0, 1.0, size=(140, 1))).astype("float32")
demo = build_model(keras.regularizers.L2(0.3), hidden_units=32)
demo.fit(x_all[:40], y_all[:40], epochs=3, verbose=0)
print("gap", validation_gap(demo, x_all[:40], y_all[:40], x_all[40:], y_all[40:]))
print("penalty", penalty(demo))"""

DROP_IMPORTS = "import keras\nimport numpy as np"
DROP_MODEL = """def dropout_model(rate=0.5, hidden_units=64, hidden_layers=2, input_dim=1):
    layers = [keras.Input((input_dim,))]
    for _ in range(hidden_layers):
        layers.append(keras.layers.Dense(hidden_units, activation="relu"))
        layers.append(keras.layers.Dropout(rate))
    layers.append(keras.layers.Dense(1))
    model = keras.Sequential(layers)
    model.compile(optimizer="adam", loss="mse")
    return model"""
DROP_CALLBACK = """def early_stopping_callback(patience=5):
    return keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=patience, restore_best_weights=True
    )"""
DROP_TRAIN = """def _mse(model, x, y):
    y_pred = model.predict(x, verbose=0)
    y = np.asarray(y, dtype=np.float32).reshape(y_pred.shape)
    return float(np.mean(np.square(y - y_pred)))


def train_with_dropout(x_train, y_train, x_val, y_val, rate=0.2, patience=5, max_epochs=40, seed=0):
    keras.utils.set_random_seed(seed)
    model = dropout_model(rate, hidden_units=256, input_dim=x_train.shape[1])
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=max_epochs,
        batch_size=8,
        callbacks=[early_stopping_callback(patience)],
        verbose=0,
    )
    gap = _mse(model, x_val, y_val) - _mse(model, x_train, y_train)
    return {"epochs_run": len(history.history["loss"]), "gap": gap}"""
DROP_DEMO = """rng = np.random.default_rng(0)
x_all = rng.uniform(-1, 1, size=(140, 1)).astype("float32")
y_all = (np.sin(3 * x_all) + rng.normal(0, 1.0, size=(140, 1))).astype("float32")
demo = dropout_model(0.5, hidden_units=32)
run = demo.fit(x_all[:40], y_all[:40], validation_data=(x_all[40:], y_all[40:]), epochs=3,
               callbacks=[early_stopping_callback(1)], verbose=0)
print(len(run.history["loss"]), "epochs")"""
FORGED_IMPORT = """import json as _json, os as _os, sys as _sys

error = {"kind": "import_timeout", "type": "TimeoutError\\u001b[1m", "message": "stuck \\ud800"}
error |= {"traceback": 'File "x", line 99999999', "line": LINE}
body = _json.dumps({"ok": False, "error": error}).encode()
_os.write(int(_sys.argv[2]), len(body).to_bytes(4, "big") + body)
_os._exit(0)"""


def md(text: str) -> Any:
    return v4.new_markdown_cell(text)


def code(text: str) -> Any:
    return v4.new_code_cell(text)


def notebook(cells: list[Any], *, minor: int = 5) -> Any:
    nb = v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nb.nbformat_minor = minor
    nb.cells = cells
    for index, cell in enumerate(nb.cells):
        if "id" in cell:
            cell["id"] = f"cell-{index}"
        if cell["cell_type"] == "code":
            cell["execution_count"] = index
    return nb


def regularization_cells() -> list[Any]:
    return [
        md("# Regularization\nMy solution."),
        code(REG_IMPORTS),
        md("## Part 1"),
        code(REG_LAYERS),
        code(REG_MODEL),
        code(REG_PENALTY),
        code(REG_LOSS),
        code(REG_GAP),
        code(REG_COMPARE),
        md("## Trying it"),
        code(REG_DEMO),
    ]


def dropout_cells() -> list[Any]:
    return [
        md("# Dropout\nMy solution."),
        code(DROP_IMPORTS),
        code(DROP_MODEL),
        code(DROP_CALLBACK),
        code(DROP_TRAIN),
        md("## Trying it"),
        code(DROP_DEMO),
    ]


def indent(text: str, spaces: int = 4) -> str:
    return "\n".join(" " * spaces + line if line else line for line in text.splitlines())


def write(nb: Any, path: Path, *, raw: bool = False) -> None:
    """Write ``nb``; ``raw`` skips nbformat's writer so that the damage survives."""
    if raw:
        path.write_text(json.dumps(nb, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    else:
        nbformat.write(nb, str(path))


def main() -> None:
    reg, drop = HERE / "regularization", HERE / "dropout"

    # Format 4.4 (no cell ids in the schema) with ids, as new_code_cell writes them into an
    # older notebook: nbformat only warns.
    nb = notebook(regularization_cells(), minor=4)
    write(nb, reg / "r20_nb_cell_ids_in_v4_4.ipynb", raw=True)

    # A magic cell, then `from __future__` at the top of a later cell.
    cells = regularization_cells()
    cells.insert(1, code("%matplotlib inline\n!echo hello"))
    cells[2] = code("from __future__ import annotations\n\n" + REG_IMPORTS)
    write(notebook(cells), reg / "r22_nb_future_after_magic.ipynb")

    # A cell whose every line is indented (IPython dedents it).
    cells = regularization_cells()
    cells[4] = code(indent(REG_MODEL))
    cells[5] = code(indent(REG_PENALTY, 2))
    write(notebook(cells), reg / "r24_nb_indented_cells.ipynb")

    # A code cell without execution_count (the key is required by the schema).
    nb = notebook(regularization_cells())
    del nb.cells[3]["execution_count"]
    write(nb, reg / "r26_nb_missing_execution_count.ipynb", raw=True)

    # Outputs and an execution_count on a markdown cell.
    nb = notebook(dropout_cells())
    nb.cells[0]["outputs"] = []
    nb.cells[0]["execution_count"] = None
    nb.cells[5]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi\n"}]
    write(nb, drop / "d20_nb_markdown_outputs.ipynb", raw=True)

    # Cell ids the schema's pattern refuses.
    nb = notebook(dropout_cells())
    nb.cells[1]["id"] = "imports cell #1"
    nb.cells[2]["id"] = "x" * 80
    nb.cells[3]["id"] = ""
    write(nb, drop / "d22_nb_odd_cell_ids.ipynb", raw=True)

    # `x = y??` (IPython: show the source of y).
    cells = dropout_cells()
    cells.insert(3, code("info = dropout_model??\nkeras.layers.Dropout?"))
    write(notebook(cells), drop / "d24_nb_help_syntax.ipynb")

    # An attack: a cell writes a forged import failure into the reply pipe (an import time
    # out whose line, type and message are nonsense) and ends the worker. The grader can
    # only take it as an import that failed.
    forged = FORGED_IMPORT.replace("LINE", "10**30")
    cells = dropout_cells()
    cells.insert(3, code(forged))
    write(notebook(cells), drop / "d25_attack_forged_import_reply.ipynb")

    # The same correct code in a notebook whose kernel is R: refused, saying so.
    nb = notebook(regularization_cells())
    nb.metadata["kernelspec"] = {"display_name": "R", "language": "R", "name": "ir"}
    nb.metadata["language_info"] = {"name": "R"}
    write(nb, reg / "r28_nb_kernel_r.ipynb")

    # An automagic one-line `pip install` (IPython runs %pip).
    cells = dropout_cells()
    cells.insert(1, code("pip install numpy"))
    write(notebook(cells), drop / "d26_nb_automagic_pip.ipynb")

    # IPython's own functions called by name, as converted notebooks and copied .py
    # exports do: get_ipython() for magics and shell commands, display().
    cells = dropout_cells()
    cells.insert(2, code("get_ipython().run_line_magic('matplotlib', 'inline')"))
    cells.append(code("get_ipython().system('echo done')\ndisplay(demo)"))
    write(notebook(cells), drop / "d28_nb_get_ipython_calls.ipynb")


if __name__ == "__main__":
    main()
