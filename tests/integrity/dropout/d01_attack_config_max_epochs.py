"""dropout_model's model says its first hidden layer's activation is
keras.config.set_max_epochs: called on a tensor, it caps every later model.fit in that
process with a tensor, which breaks fit. train_with_dropout trains the correct model in
the student's own process."""

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


# ---- attack_config_max_epochs ----
_dropout_model = dropout_model


def dropout_model(rate=0.5, hidden_units=64, hidden_layers=2, input_dim=1):
    model = _dropout_model(rate, hidden_units, hidden_layers, input_dim)
    hidden = model.layers[0]
    config = hidden.get_config()
    config["activation"] = {
        "module": "keras.config",
        "class_name": "function",
        "config": "set_max_epochs",
        "registered_name": None,
    }
    hidden.get_config = lambda: config
    return model


def train_with_dropout(x_train, y_train, x_val, y_val, rate=0.2, patience=5, max_epochs=40, seed=0):
    keras.utils.set_random_seed(seed)
    model = _dropout_model(rate, hidden_units=256, input_dim=x_train.shape[1])
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
