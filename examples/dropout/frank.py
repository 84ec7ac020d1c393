"""Dropout and early stopping."""

import keras
import numpy as np


def dropout_model(rate=0.5, hidden_units=64, hidden_layers=2, input_dim=1):
    model = keras.Sequential()
    model.add(keras.Input((input_dim,)))
    for _ in range(hidden_layers):
        model.add(keras.layers.Dense(hidden_units, activation="relu"))
        model.add(keras.layers.Dropout(rate))
    model.add(keras.layers.Dense(1))
    model.compile(optimizer="adam", loss="mse")
    return model


def early_stopping_callback(patience=5):
    return keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience)


def mse(model, x, y):
    predictions = model.predict(x, verbose=0)
    return float(np.mean((np.reshape(y, predictions.shape) - predictions) ** 2))


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
    epochs_run = len(history.history["loss"])
    gap = mse(model, x_val, y_val) - mse(model, x_train, y_train)
    return {"epochs_run": epochs_run, "gap": gap}
