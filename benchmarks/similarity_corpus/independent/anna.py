"""Regularization assignment - Anna's solution."""

import keras
import numpy as np
import tensorflow as tf


def l2_dense(units, l2=0.01, activation="relu"):
    # L2 only on the kernel, the bias stays unregularized
    return keras.layers.Dense(
        units, activation=activation, kernel_regularizer=keras.regularizers.L2(l2)
    )


def l1_dense(units, l1=0.005, activation="relu"):
    return keras.layers.Dense(
        units, activation=activation, kernel_regularizer=keras.regularizers.L1(l1)
    )


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return keras.layers.Dense(
        units,
        activation=activation,
        kernel_regularizer=keras.regularizers.L1L2(l1=l1, l2=l2),
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
        l1 = config.get("l1", 0.0)
        l2 = config.get("l2", 0.0)
        w = np.array(layer.kernel)
        total += l1 * np.sum(np.abs(w)) + l2 * np.sum(w**2)
    return float(total)


def regularized_loss(model, x, y):
    pred = model(x)
    y = tf.reshape(tf.cast(y, tf.float32), tf.shape(pred))
    loss = tf.reduce_mean(tf.square(y - pred))
    if model.losses:
        loss = loss + tf.add_n(model.losses)
    return loss


def _mse(model, x, y):
    pred = model.predict(x, verbose=0)
    y = np.asarray(y, dtype="float32").reshape(pred.shape)
    return float(np.mean((y - pred) ** 2))


def validation_gap(model, x_train, y_train, x_val, y_val):
    return _mse(model, x_val, y_val) - _mse(model, x_train, y_train)


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    gaps = []
    for regularizer in [None, keras.regularizers.L2(l2)]:
        keras.utils.set_random_seed(seed)
        model = build_model(regularizer, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        gaps.append(validation_gap(model, x_train, y_train, x_val, y_val))
    return {"no_reg": float(gaps[0]), "l2": float(gaps[1])}
