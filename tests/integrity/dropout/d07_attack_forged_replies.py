"""A patched worker: dropout_model and early_stopping_callback write malformed replies
into the reply pipe in place of their answers (a model whose config and weights are
nonsense, a callback whose settings are not scalars). train_with_dropout is right."""

import keras
import numpy as np


def dropout_model(rate=0.5, hidden_units=64, hidden_layers=2, input_dim=1):
    layers = [keras.Input((input_dim,))]
    for _ in range(hidden_layers):
        layers.append(keras.layers.Dense(hidden_units, activation="relu"))
        layers.append(keras.layers.Dropout(rate))
    layers.append(keras.layers.Dense(1))
    model = keras.Sequential(layers)
    model.compile(optimizer="adam", loss="mse")
    return model


def early_stopping_callback(patience=5):
    return keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)


def _mse(model, x, y):
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
    return {"epochs_run": len(history.history["loss"]), "gap": gap}


# ---- attack_forged_replies ----
import json as _json
import os as _os
import sys as _sys

import grader.sandbox.wire as _wire


def _forge(body):
    """Write ``body`` (bytes) into the reply pipe as this call's reply, and drop the genuine
    reply the worker sends next, so that the grader reads only the forged one."""
    _os.write(int(_sys.argv[2]), len(body).to_bytes(4, "big") + body)
    genuine = _wire.write_message

    def drop_once(stream, message):
        _wire.write_message = genuine

    _wire.write_message = drop_once


def _forge_json(reply):
    _forge(_json.dumps(reply).encode())


_dropout_model = dropout_model


def dropout_model(rate=0.5, hidden_units=64, hidden_layers=2, input_dim=1):
    weight = {"$nd": {"dtype": "float32", "shape": [3, 1000000], "data": ""}}
    _forge_json(
        {
            "ok": True,
            "value": {"$keras": {"kind": "model", "config": {"class_name": 5, "config": [None]}, "weights": [weight]}},
            "gradients": None,
        }
    )


def early_stopping_callback(patience=5):
    settings = {"monitor": {"nested": 1}, "patience": [patience]}
    config = {"module": "keras.callbacks", "class_name": "EarlyStopping", "config": settings}
    _forge_json({"ok": True, "value": {"$keras": {"kind": "callback", "config": config, "weights": []}}, "gradients": None})


def _stopping(patience):
    return keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)


def train_with_dropout(x_train, y_train, x_val, y_val, rate=0.2, patience=5, max_epochs=40, seed=0):
    keras.utils.set_random_seed(seed)
    model = _dropout_model(rate, hidden_units=256, input_dim=x_train.shape[1])
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=max_epochs,
        batch_size=8,
        callbacks=[_stopping(patience)],
        verbose=0,
    )
    gap = _mse(model, x_val, y_val) - _mse(model, x_train, y_train)
    return {"epochs_run": len(history.history["loss"]), "gap": gap}
