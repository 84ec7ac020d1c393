# Dave's submission for the regularization lab
import keras
from keras import layers
import numpy as np
import tensorflow as tf


def l2_dense(units, l2=0.01, activation="relu"):
    return layers.Dense(units, activation=activation,
                        kernel_regularizer=keras.regularizers.l2(0.01))


def l1_dense(units, l1=0.005, activation="relu"):
    return layers.Dense(units, activation=activation,
                        kernel_regularizer=keras.regularizers.l1(l1))


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return layers.Dense(units, activation=activation,
                        kernel_regularizer=keras.regularizers.l1_l2(l1=l1, l2=l2))


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    inp = keras.Input((input_dim,))
    x = layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer)(inp)
    out = layers.Dense(1)(x)
    model = keras.Model(inputs=inp, outputs=out)
    model.compile(optimizer="adam", loss="mse")
    return model


def penalty(model):
    total = 0.0
    for layer in model.layers:
        reg = getattr(layer, "kernel_regularizer", None)
        if reg:
            c = reg.get_config()
            W = keras.ops.convert_to_numpy(layer.kernel)
            total += c.get("l1", 0) * np.sum(np.abs(W)) + c.get("l2", 0) * np.sum(np.square(W))
    return float(total)


def regularized_loss(model, x, y):
    y_hat = model(x)
    y = tf.reshape(tf.cast(y, "float32"), tf.shape(y_hat))
    data_loss = tf.reduce_mean(tf.square(y - y_hat))
    reg_loss = tf.add_n(model.losses) if model.losses else 0.0
    return data_loss + reg_loss


def validation_gap(model, x_train, y_train, x_val, y_val):
    tr = model.predict(x_train, verbose=0)
    va = model.predict(x_val, verbose=0)
    mse_tr = np.mean((tr - np.reshape(y_train, tr.shape)) ** 2)
    mse_va = np.mean((va - np.reshape(y_val, va.shape)) ** 2)
    return float(mse_va - mse_tr)


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    out = {}
    for key, reg in (("no_reg", None), ("l2", keras.regularizers.l2(l2))):
        keras.utils.set_random_seed(seed)
        model = build_model(reg, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        out[key] = validation_gap(model, x_train, y_train, x_val, y_val)
    return out
