# Judy W.
# Regularization assignment

import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers, regularizers


def l2_dense(units, l2=0.01, activation="relu"):
    return layers.Dense(units, activation=activation, kernel_regularizer=regularizers.L2(l2))


def l1_dense(units, l1=0.005, activation="relu"):
    return layers.Dense(units, activation=activation, kernel_regularizer=regularizers.L1(l1))


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return layers.Dense(units, activation=activation,
                        kernel_regularizer=regularizers.L1L2(l1=l1, l2=l2))


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    model = keras.Sequential([
        keras.Input((input_dim,)),
        layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer),
        layers.Dense(1),
    ])
    model.compile(optimizer="adam", loss="mse")
    return model


def penalty(model):
    total = 0.0
    for layer in model.layers:
        reg = getattr(layer, "kernel_regularizer", None)
        if reg is None:
            continue
        factors = reg.get_config()
        w = layer.kernel.numpy()
        total += factors.get("l1", 0.0) * np.sum(np.abs(w))
        total += factors.get("l2", 0.0) * np.sum(np.square(w))
    return float(total)


def regularized_loss(model, x, y):
    y_pred = model(x)
    y_true = tf.reshape(tf.cast(y, tf.float32), tf.shape(y_pred))
    mse = tf.reduce_mean(tf.square(y_true - y_pred))
    # reuse penalty() from above instead of computing it twice
    return mse + tf.constant(penalty(model), dtype=tf.float32)


def validation_gap(model, x_train, y_train, x_val, y_val):
    def mse(x, y):
        pred = model.predict(x, verbose=0)
        return float(np.mean((np.asarray(y).reshape(pred.shape) - pred) ** 2))
    return mse(x_val, y_val) - mse(x_train, y_train)


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    out = {}
    for key, reg in [("no_reg", None), ("l2", regularizers.L2(l2))]:
        keras.utils.set_random_seed(seed)
        model = build_model(reg, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        out[key] = validation_gap(model, x_train, y_train, x_val, y_val)
    return out
