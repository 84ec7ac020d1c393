# Carol
# regularization.py

import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers, regularizers


def l2_dense(units, l2=0.01, activation="relu"):
    return layers.Dense(units, activation=activation,
                        kernel_regularizer=regularizers.l1(l2))


def l1_dense(units, l1=0.005, activation="relu"):
    return layers.Dense(units, activation=activation,
                        kernel_regularizer=regularizers.l1(l1))


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return layers.Dense(units, activation=activation,
                        kernel_regularizer=regularizers.l1_l2(l1=l1, l2=l2))


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    model = keras.Sequential([
        keras.Input((input_dim,)),
        layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer),
        layers.Dense(1),
    ])
    model.compile(optimizer="adam", loss="mse")
    return model


def penalty(model):
    p = 0.0
    for layer in model.layers:
        if getattr(layer, "kernel_regularizer", None) is None:
            continue
        factors = layer.kernel_regularizer.get_config()
        w = layer.kernel.numpy()
        p += factors.get("l1", 0.0) * np.abs(w).sum()
        p += factors.get("l2", 0.0) * (w ** 2).sum()
    return float(p)


def regularized_loss(model, x, y):
    out = model(x)
    y = tf.cast(tf.reshape(y, (-1, 1)), tf.float32)
    mse = tf.reduce_mean(tf.square(y - out))
    if len(model.losses) > 0:
        mse += tf.add_n(model.losses)
    return mse


def validation_gap(model, x_train, y_train, x_val, y_val):
    def mse(x, y):
        pred = model(x).numpy().ravel()
        return np.mean((np.ravel(y) - pred) ** 2)
    return float(mse(x_val, y_val) - mse(x_train, y_train))


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    gaps = {}
    keras.utils.set_random_seed(seed)
    m = build_model(None, input_dim=x_train.shape[1])
    m.fit(x_train, y_train, epochs=epochs, verbose=0)
    gaps["no_reg"] = validation_gap(m, x_train, y_train, x_val, y_val)
    keras.utils.set_random_seed(seed)
    m = build_model(regularizers.L2(l2), input_dim=x_train.shape[1])
    m.fit(x_train, y_train, epochs=epochs, verbose=0)
    gaps["l2"] = validation_gap(m, x_train, y_train, x_val, y_val)
    return gaps
