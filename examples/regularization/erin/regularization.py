# Erin -- regularization assignment
import numpy as np
import tensorflow as tf
import keras
from keras import regularizers


def l2_dense(units, l2=0.01, activation="relu"):
    return keras.layers.Dense(units, activation=activation,
                              kernel_regularizer=regularizers.L2(l2))


def l1_dense(units, l1=0.005, activation="relu"):
    return keras.layers.Dense(units, activation=activation,
                              bias_regularizer=regularizers.L1(l1))


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return keras.layers.Dense(units, activation=activation,
                              kernel_regularizer=regularizers.L1L2(l1, l2))


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    model = keras.Sequential([
        keras.Input(shape=(input_dim,)),
        keras.layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer="adam", loss="mse")
    return model


def penalty(model):
    result = 0.0
    for layer in model.layers:
        if not hasattr(layer, "kernel_regularizer") or layer.kernel_regularizer is None:
            continue
        config = layer.kernel_regularizer.get_config()
        kernel = np.asarray(layer.get_weights()[0])
        l1 = config.get("l1", 0.0)
        l2 = config.get("l2", 0.0)
        result += l1 * np.abs(kernel).sum() + l2 * np.square(kernel).sum()
    return float(result)


def regularized_loss(model, x, y):
    predictions = model(x)
    targets = tf.reshape(tf.convert_to_tensor(y, dtype=tf.float32), tf.shape(predictions))
    loss = tf.reduce_mean(tf.square(targets - predictions))
    if model.losses:
        loss += tf.add_n(model.losses)
    return loss


def validation_gap(model, x_train, y_train, x_val, y_val):
    def data_mse(x, y):
        p = np.asarray(model(x))
        return np.mean((np.asarray(y, dtype=np.float32).reshape(p.shape) - p) ** 2)
    return float(data_mse(x_val, y_val) - data_mse(x_train, y_train))


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    res = {}
    for label, reg in [("no_reg", None), ("l2", regularizers.L2(l2))]:
        keras.utils.set_random_seed(seed)
        model = build_model(reg, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        res[label] = validation_gap(model, x_train, y_train, x_val, y_val)
    return res
