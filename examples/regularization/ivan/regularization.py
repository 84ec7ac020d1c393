# Ivan Petrov - regularization
import numpy as np
import tensorflow as tf
from tensorflow.keras import Input, Model, Sequential, layers, regularizers, utils


def l2_dense(units, l2=0.01, activation="relu"):
    return layers.Dense(units, activation=activation, kernel_regularizer=regularizers.l2(l2))


def l1_dense(units, l1=0.005, activation="relu"):
    return layers.Dense(units, activation=activation, kernel_regularizer=regularizers.l1(l1))


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return layers.Dense(units, activation=activation,
                        kernel_regularizer=regularizers.l1_l2(l1=l1, l2=l2))


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    model = Sequential([
        Input((input_dim,)),
        layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer),
        layers.Dense(1),
    ])
    model.compile(optimizer="adam", loss="mse")
    return model


def penalty(model):
    total = 0.0
    for layer in model.layers:
        reg = getattr(layer, "kernel_regularizer", None)
        if reg is None
            continue
        cfg = reg.get_config()
        w = np.array(layer.kernel)
        total += cfg.get("l1", 0.0) * np.abs(w).sum() + cfg.get("l2", 0.0) * np.square(w).sum()
    return float(total)


def regularized_loss(model, x, y):
    out = model(x)
    y = tf.reshape(tf.cast(y, tf.float32), tf.shape(out))
    loss = tf.reduce_mean(tf.square(y - out))
    if model.losses:
        loss = loss + tf.add_n(model.losses)
    return loss


def validation_gap(model, x_train, y_train, x_val, y_val):
    def mse(x, y):
        p = model.predict(x, verbose=0)
        return np.mean((np.reshape(y, p.shape) - p) ** 2)
    return float(mse(x_val, y_val) - mse(x_train, y_train))


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    gaps = {}
    for name, reg in [("no_reg", None), ("l2", regularizers.L2(l2))]:
        utils.set_random_seed(seed)
        model = build_model(reg, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        gaps[name] = validation_gap(model, x_train, y_train, x_val, y_val)
    return gaps
