# Regularizers through keras.regularizers.get, `from keras import ...` style, a helper that
# walks nested models, penalty with np.linalg.norm, and literal compare with positional
# regularizer only.
import numpy as np
import tensorflow as tf
from keras import Input, Sequential, layers, regularizers
import keras


def l2_dense(units, l2=0.01, activation="relu"):
    reg = regularizers.get({"class_name": "L2", "config": {"l2": l2}})
    return layers.Dense(units, activation=activation, kernel_regularizer=reg)


def l1_dense(units, l1=0.005, activation="relu"):
    return layers.Dense(units, activation=activation, kernel_regularizer=regularizers.get({"class_name": "L1", "config": {"l1": l1}}))


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return layers.Dense(
        units=units,
        activation=activation,
        kernel_regularizer=regularizers.get({"class_name": "L1L2", "config": {"l1": l1, "l2": l2}}),
    )


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    net = Sequential([Input(shape=(input_dim,)), layers.Dense(hidden_units, "relu", kernel_regularizer=regularizer), layers.Dense(units=1)])
    net.compile("adam", "mse")
    return net


def _all_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)
        else:
            yield layer


def penalty(model):
    total = 0.0
    for layer in _all_layers(model):
        reg = getattr(layer, "kernel_regularizer", None)
        if reg is not None:
            c = reg.get_config()
            w = np.asarray(layer.kernel.numpy(), dtype=np.float64).ravel()
            total += c.get("l1", 0.0) * np.linalg.norm(w, ord=1) + c.get("l2", 0.0) * np.linalg.norm(w) ** 2
    return float(total)


def regularized_loss(model, x, y):
    y_pred = model(x)
    y_true = tf.reshape(tf.cast(y, tf.float32), tf.shape(y_pred))
    mse = keras.losses.MeanSquaredError()(y_true, y_pred)
    return mse + tf.add_n(model.losses) if len(model.losses) > 0 else mse


def validation_gap(model, x_train, y_train, x_val, y_val):
    train_pred = model.predict(x_train, verbose=0).ravel()
    val_pred = model.predict(x_val, verbose=0).ravel()
    train_mse = np.mean((np.ravel(y_train) - train_pred) ** 2)
    val_mse = np.mean((np.ravel(y_val) - val_pred) ** 2)
    return float(val_mse - train_mse)


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    out = {}
    for name, reg in [("no_reg", None), ("l2", keras.regularizers.L2(l2))]:
        keras.utils.set_random_seed(seed)
        m = build_model(reg)
        m.fit(x_train, y_train, epochs=epochs, verbose=0)
        out[name] = validation_gap(m, x_train, y_train, x_val, y_val)
    return out
