"""Regularization assignment, with the tutorial's sample run pasted at the bottom."""

import keras
import numpy as np
import tensorflow as tf


def l2_dense(units, l2=0.01, activation="relu"):
    return keras.layers.Dense(
        units, activation=activation, kernel_regularizer=keras.regularizers.L2(l2)
    )


def l1_dense(units, l1=0.005, activation="relu"):
    return keras.layers.Dense(
        units, activation=activation, kernel_regularizer=keras.regularizers.L1(l1)
    )


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return keras.layers.Dense(
        units, activation=activation, kernel_regularizer=keras.regularizers.L1L2(l1=l1, l2=l2)
    )


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    model = keras.Sequential(
        [
            keras.Input((input_dim,)),
            keras.layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    return model


def penalty(model):
    total = 0.0
    for layer in model.layers:
        reg = getattr(layer, "kernel_regularizer", None)
        if reg is None:
            continue
        config = reg.get_config()
        w = keras.ops.convert_to_numpy(layer.kernel).astype(np.float64)
        total += config.get("l1", 0.0) * np.sum(np.abs(w))
        total += config.get("l2", 0.0) * np.sum(np.square(w))
    return float(total)


def regularized_loss(model, x, y):
    y_pred = model(tf.convert_to_tensor(x, dtype=tf.float32))
    y = tf.reshape(tf.cast(y, tf.float32), tf.shape(y_pred))
    loss = tf.reduce_mean(tf.square(y - y_pred))
    if model.losses:
        loss = loss + tf.add_n(model.losses)
    return loss


def _mse(model, x, y):
    y_pred = keras.ops.convert_to_numpy(model(np.asarray(x, dtype=np.float32)))
    y = np.asarray(y, dtype=np.float32).reshape(y_pred.shape)
    return float(np.mean(np.square(y - y_pred)))


def validation_gap(model, x_train, y_train, x_val, y_val):
    return _mse(model, x_val, y_val) - _mse(model, x_train, y_train)


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    gaps = {}
    for name, reg in [("no_reg", None), ("l2", keras.regularizers.L2(l2))]:
        keras.utils.set_random_seed(seed)
        model = build_model(reg, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        gaps[name] = validation_gap(model, x_train, y_train, x_val, y_val)
    return gaps


# Trying it out, as in the tutorial (pasted at the end of the file, no seed, no __main__).
rng = np.random.default_rng(0)
x_all = rng.uniform(-1, 1, size=(540, 1)).astype("float32")
y_all = (np.sin(3 * x_all) + rng.normal(0, 1.0, size=(540, 1))).astype("float32")
x_fit, y_fit, x_new, y_new = x_all[:40], y_all[:40], x_all[40:], y_all[40:]

for label, reg in [
    ("without regularization", None),
    ("with L2(0.3)", keras.regularizers.L2(0.3)),
]:
    demo = build_model(reg, hidden_units=256)
    demo.optimizer.learning_rate.assign(0.03)
    demo.fit(
        np.tile(x_fit, (100, 1)),
        np.tile(y_fit, (100, 1)),
        batch_size=40,
        epochs=2,
        shuffle=False,
        verbose=0,
    )
    print(f"{label}: validation gap {validation_gap(demo, x_fit, y_fit, x_new, y_new):.3f}")
