"""Dropout assignment, with a quick try-out pasted at the bottom (no seed, no __main__)."""

import keras
import numpy as np


def dropout_model(rate=0.5, hidden_units=64, hidden_layers=2, input_dim=1):
    layers = [keras.Input((input_dim,))]
    for _ in range(hidden_layers):
        layers += [keras.layers.Dense(hidden_units, activation="relu"), keras.layers.Dropout(rate)]
    model = keras.Sequential(layers + [keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def early_stopping_callback(patience=5):
    return keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)


def mse(net, x, y):
    return float(np.mean((net.predict(x, verbose=0) - np.reshape(y, (-1, 1))) ** 2))


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
    return {"epochs_run": len(history.history["loss"]), "gap": mse(model, x_val, y_val) - mse(model, x_train, y_train)}


rng = np.random.default_rng(0)
x_all = rng.uniform(-1, 1, size=(540, 1)).astype("float32")
y_all = (np.sin(3 * x_all) + rng.normal(0, 1.0, size=(540, 1))).astype("float32")
x_fit, y_fit, x_new, y_new = x_all[:40], y_all[:40], x_all[40:], y_all[40:]

for label, rate, callbacks in [
    ("neither", 0.0, []),
    ("both", 0.5, [early_stopping_callback(2)]),
]:
    demo = dropout_model(rate)
    demo.optimizer.learning_rate.assign(0.01)
    run = demo.fit(
        np.tile(x_fit, (20, 1)),
        np.tile(y_fit, (20, 1)),
        batch_size=40,
        epochs=3,
        shuffle=False,
        validation_data=(x_new, y_new),
        callbacks=callbacks,
        verbose=0,
    )
    print(f"{label}: {len(run.history['loss'])} epochs, gap {mse(demo, x_new, y_new) - mse(demo, x_fit, y_fit):.3f}")
