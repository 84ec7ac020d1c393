# Regularization assignment
# Author: Eli
#
# Notes to self: penalty = l1*sum|W| + l2*sum W^2, summed over every regularized layer.

import numpy as np
import tensorflow as tf
from tensorflow import keras

# which regularizer class goes with which kind
REGULARIZERS = {
    "l1": lambda l1=0.0, l2=0.0: keras.regularizers.L1(l1),
    "l2": lambda l1=0.0, l2=0.0: keras.regularizers.L2(l2),
    "l1_l2": lambda l1=0.0, l2=0.0: keras.regularizers.L1L2(l1=l1, l2=l2),
}


def make_layer(kind, units, activation, **factors):
    regularizer = REGULARIZERS[kind](**factors)
    return keras.layers.Dense(units, activation=activation, kernel_regularizer=regularizer)


def l2_dense(units, l2=0.01, activation="relu"):
    return make_layer("l2", units, activation, l2=l2)


def l1_dense(units, l1=0.005, activation="relu"):
    return make_layer("l1", units, activation, l1=l1)


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return make_layer("l1_l2", units, activation, l1=l1, l2=l2)


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    x_in = keras.Input((input_dim,))
    h = keras.layers.Dense(hidden_units, "relu", kernel_regularizer=regularizer)(x_in)
    y_out = keras.layers.Dense(1)(h)
    model = keras.Model(x_in, y_out)
    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.MeanSquaredError())
    return model


def penalty(model):
    total = 0.0
    for layer in model.layers:
        try:
            regularizer = layer.kernel_regularizer
        except AttributeError:
            regularizer = None
        if regularizer:
            factors = regularizer.get_config()
            kernel = np.array(layer.kernel)
            total += factors.get("l1", 0.0) * np.abs(kernel).sum()
            total += factors.get("l2", 0.0) * (kernel * kernel).sum()
    return float(total)


def regularized_loss(model, x, y):
    y_pred = model(x)
    y_true = tf.cast(tf.convert_to_tensor(y), tf.float32)
    y_true = tf.reshape(y_true, tf.shape(y_pred))
    mse = tf.reduce_mean(tf.square(y_true - y_pred))
    if not model.losses:
        return mse
    return tf.add(mse, tf.add_n(model.losses))


def mean_squared_error(model, x, y):
    y_pred = model.predict(x, verbose=0)
    y_true = np.reshape(np.asarray(y, dtype=np.float32), y_pred.shape)
    return np.mean(np.square(y_true - y_pred))


def validation_gap(model, x_train, y_train, x_val, y_val):
    train_loss = mean_squared_error(model, x_train, y_train)
    val_loss = mean_squared_error(model, x_val, y_val)
    gap = val_loss - train_loss
    return float(gap)


def train_and_measure(regularizer, x_train, y_train, x_val, y_val, epochs, seed):
    keras.utils.set_random_seed(seed)
    model = build_model(regularizer, input_dim=x_train.shape[1])
    model.fit(x_train, y_train, epochs=epochs, verbose=0)
    return validation_gap(model, x_train, y_train, x_val, y_val)


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    no_reg = train_and_measure(None, x_train, y_train, x_val, y_val, epochs, seed)
    with_l2 = train_and_measure(
        keras.regularizers.L2(l2), x_train, y_train, x_val, y_val, epochs, seed
    )
    return {"no_reg": float(no_reg), "l2": float(with_l2)}
