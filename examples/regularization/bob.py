"""Regularization homework -- Bob."""
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
    inputs = keras.Input((input_dim,))
    hidden = layers.Dense(hidden_units, activation="relu",
                          kernel_regularizer=regularizer)(inputs)
    outputs = layers.Dense(1)(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    return model


def penalty(model):
    # functional models also list the InputLayer, it has no kernel_regularizer
    terms = []
    for layer in model.layers:
        reg = getattr(layer, "kernel_regularizer", None)
        if reg is not None:
            cfg = reg.get_config()
            k = tf.convert_to_tensor(layer.kernel)
            terms.append(cfg.get("l1", 0.0) * tf.reduce_sum(tf.abs(k))
                         + cfg.get("l2", 0.0) * tf.reduce_sum(tf.square(k)))
    if not terms:
        return 0.0
    return float(tf.add_n(terms))


_mse = keras.losses.MeanSquaredError()


def regularized_loss(model, x, y):
    y_pred = model(x)
    y_true = tf.reshape(tf.cast(y, tf.float32), tf.shape(y_pred))
    loss = _mse(y_true, y_pred)
    if model.losses:
        loss = loss + tf.add_n(model.losses)
    return loss


def _data_mse(model, x, y):
    p = model.predict(x, verbose=0)
    y = np.asarray(y, dtype="float32").reshape(p.shape)
    return np.mean(np.square(y - p))


def validation_gap(model, x_train, y_train, x_val, y_val):
    return float(_data_mse(model, x_val, y_val) - _data_mse(model, x_train, y_train))


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    keras.utils.set_random_seed(seed)
    plain = build_model(None, input_dim=x_train.shape[1])
    plain.fit(x_train, y_train, epochs=epochs, verbose=0)
    gap_plain = validation_gap(plain, x_train, y_train, x_val, y_val)

    keras.utils.set_random_seed(seed)
    reg = build_model(regularizers.L2(l2), input_dim=x_train.shape[1])
    reg.fit(x_train, y_train, epochs=epochs, verbose=0)
    gap_reg = validation_gap(reg, x_train, y_train, x_val, y_val)

    return {"no_reg": gap_plain, "l2": gap_reg}
