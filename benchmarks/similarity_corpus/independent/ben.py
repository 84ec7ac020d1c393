# Ben K. -- Week 6 homework: regularization
import numpy as np
import tensorflow as tf
from tensorflow import keras


def l2_dense(units, l2=0.01, activation="relu"):
    reg = keras.regularizers.l2(l2)
    layer = keras.layers.Dense(units=units, activation=activation, kernel_regularizer=reg)
    return layer


def l1_dense(units, l1=0.005, activation="relu"):
    reg = keras.regularizers.l1(l1)
    layer = keras.layers.Dense(units=units, activation=activation, kernel_regularizer=reg)
    return layer


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    reg = keras.regularizers.l1_l2(l1=l1, l2=l2)
    layer = keras.layers.Dense(units=units, activation=activation, kernel_regularizer=reg)
    return layer


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    # functional API
    inputs = keras.Input(shape=(input_dim,))
    hidden = keras.layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer)(
        inputs
    )
    outputs = keras.layers.Dense(1)(hidden)
    net = keras.Model(inputs=inputs, outputs=outputs)
    net.compile(optimizer="adam", loss="mse")
    return net


def penalty(model):
    result = 0.0
    for lyr in model.layers:
        if not hasattr(lyr, "kernel_regularizer"):
            continue  # e.g. the InputLayer of a functional model
        if lyr.kernel_regularizer is None:
            continue
        cfg = lyr.kernel_regularizer.get_config()
        kernel = lyr.kernel.numpy()
        if "l1" in cfg:
            result += cfg["l1"] * np.abs(kernel).sum()
        if "l2" in cfg:
            result += cfg["l2"] * np.square(kernel).sum()
    return float(result)


def regularized_loss(model, x, y):
    y_hat = model(x)
    y_true = tf.cast(y, dtype=tf.float32)
    y_true = tf.reshape(y_true, y_hat.shape)
    data_loss = tf.reduce_mean((y_true - y_hat) ** 2)
    if len(model.losses) == 0:
        return data_loss
    return data_loss + tf.add_n(model.losses)


def validation_gap(model, x_train, y_train, x_val, y_val):
    train_pred = model(x_train).numpy()
    val_pred = model(x_val).numpy()
    train_mse = np.mean((np.reshape(y_train, train_pred.shape) - train_pred) ** 2)
    val_mse = np.mean((np.reshape(y_val, val_pred.shape) - val_pred) ** 2)
    return float(val_mse - train_mse)


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    keras.utils.set_random_seed(seed)
    plain = build_model(None, input_dim=x_train.shape[1])
    plain.fit(x_train, y_train, epochs=epochs, verbose=0)
    gap_plain = validation_gap(plain, x_train, y_train, x_val, y_val)

    keras.utils.set_random_seed(seed)
    ridge = build_model(keras.regularizers.L2(l2), input_dim=x_train.shape[1])
    ridge.fit(x_train, y_train, epochs=epochs, verbose=0)
    gap_ridge = validation_gap(ridge, x_train, y_train, x_val, y_val)

    return {"no_reg": float(gap_plain), "l2": float(gap_ridge)}
