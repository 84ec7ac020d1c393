"""Lone surrogates, NUL and ANSI escapes: dropout_model raises with them in its message,
early_stopping_callback's monitor and mode carry them. train_with_dropout builds its
network itself and is right; so are the callback's patience and restore_best_weights."""

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


# ---- attack_surrogates ----
_dropout_model = dropout_model
print("\x1b[1mBOLD\x1b[0m NUL:\x00 bell:\x07")


def dropout_model(rate=0.5, hidden_units=64, hidden_layers=2, input_dim=1):
    raise RuntimeError("\ud800\x00\x1b[1mno model\x1b[0m\udcff")


def early_stopping_callback(patience=5):
    callback = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    callback.monitor = "val_loss\ud800\x00\x1b[1m"
    callback.mode = "\udcff"
    return callback


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
