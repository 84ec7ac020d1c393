# frank - regularization.py
from tensorflow import keras
import tensorflow as tf
import numpy as np


def l2_dense(units, l2=0.01, activation="relu"):
    return keras.layers.Dense(units, activation=activation,
                              kernel_regularizer=keras.regularizers.l2(l2))


def l1_dense(units, l1=0.005, activation="relu"):
    return keras.layers.Dense(units, activation=activation,
                              kernel_regularizer=keras.regularizers.l1(l1))


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return keras.layers.Dense(units, activation=activation,
                              kernel_regularizer=keras.regularizers.l1_l2(l1=l1, l2=l2))


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    model = keras.Sequential([
        keras.Input((input_dim,)),
        keras.layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer="adam", loss="mse")
    return model


def penalty(model):
    total = 0.0
    for layer in model.layers:
        r = getattr(layer, "kernel_regularizer", None)
        if r is None:
            continue
        cfg = r.get_config()
        w = layer.kernel.numpy()
        total += cfg.get("l1", 0.0) * np.sum(np.abs(w))
        total += cfg.get("l2", 0.0) * np.sum(w * w)
    return float(total)


def regularized_loss(model, x, y):
    y_pred = model(x)
    y_true = tf.reshape(tf.cast(y, tf.float32), tf.shape(y_pred))
    return tf.reduce_mean(tf.square(y_true - y_pred))


def validation_gap(model, x_train, y_train, x_val, y_val):
    p_train = model.predict(x_train, verbose=0).reshape(-1)
    p_val = model.predict(x_val, verbose=0).reshape(-1)
    train_mse = np.mean((np.reshape(y_train, -1) - p_train) ** 2)
    val_mse = np.mean((np.reshape(y_val, -1) - p_val) ** 2)
    return float(val_mse - train_mse)


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    gaps = {}
    for name, reg in [("no_reg", None), ("l2", keras.regularizers.L2(l2))]:
        keras.utils.set_random_seed(seed)
        model = build_model(reg, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        gaps[name] = validation_gap(model, x_train, y_train, x_val, y_val)
    return gaps
