# Alice - regularization assignment
import keras
import numpy as np
import tensorflow as tf


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
    model = keras.Sequential()
    model.add(keras.Input((input_dim,)))
    model.add(keras.layers.Dense(hidden_units, activation="relu",
                                 kernel_regularizer=regularizer))
    model.add(keras.layers.Dense(1))
    model.compile(optimizer="adam", loss="mse")
    return model


def penalty(model):
    total = 0.0
    for layer in model.layers:
        reg = getattr(layer, "kernel_regularizer", None)
        if reg is None:
            continue
        cfg = reg.get_config()
        W = np.array(layer.kernel)
        if "l1" in cfg:
            total += cfg["l1"] * np.sum(np.abs(W))
        if "l2" in cfg:
            total += cfg["l2"] * np.sum(W ** 2)
    return float(total)


def regularized_loss(model, x, y):
    pred = model(x)
    y = tf.reshape(tf.cast(y, tf.float32), pred.shape)
    loss = tf.reduce_mean(tf.square(y - pred))
    for l in model.losses:
        loss = loss + l
    return loss


def validation_gap(model, x_train, y_train, x_val, y_val):
    pred_train = model.predict(x_train, verbose=0)
    pred_val = model.predict(x_val, verbose=0)
    train_mse = np.mean((np.reshape(y_train, pred_train.shape) - pred_train) ** 2)
    val_mse = np.mean((np.reshape(y_val, pred_val.shape) - pred_val) ** 2)
    return float(val_mse - train_mse)


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    results = {}
    for name, reg in [("no_reg", None), ("l2", keras.regularizers.L2(l2))]:
        keras.utils.set_random_seed(seed)
        model = build_model(reg, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        results[name] = validation_gap(model, x_train, y_train, x_val, y_val)
    return results
