"""Numbers too large for a float: penalty returns 10**400 (an int), validation_gap
float("inf"), regularized_loss an infinite tensor. Those functions, and compare (which
returns validation_gap's values), are wrong; the layers and build_model are right."""

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


# ---- attack_overflow ----
def penalty(model):
    return 10**400


def validation_gap(model, x_train, y_train, x_val, y_val):
    return float("inf")


_regularized_loss = regularized_loss


def regularized_loss(model, x, y):
    return _regularized_loss(model, x, y) * 1e30 * 1e30
