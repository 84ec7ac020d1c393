# mallory - regularization hw
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
    model = keras.Sequential([
        keras.Input((input_dim,)),
        keras.layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer="adam", loss="mse")
    return model


def penalty(model):
    hidden = model.layers[0]  # the regularized Dense layer
    if hidden.kernel_regularizer is None:
        return 0.0
    cfg = hidden.kernel_regularizer.get_config()
    w = keras.ops.convert_to_numpy(hidden.kernel)
    return float(cfg.get("l1", 0.0) * np.sum(np.abs(w)) + cfg.get("l2", 0.0) * np.sum(w ** 2))


def regularized_loss(model, x, y):
    pred = model(x)
    target = tf.reshape(tf.cast(y, tf.float32), tf.shape(pred))
    loss = tf.reduce_mean(tf.square(target - pred))
    if model.losses:
        loss = loss + tf.add_n(model.losses)
    return loss


def validation_gap(model, x_train, y_train, x_val, y_val):
    preds_tr = keras.ops.convert_to_numpy(model(x_train))
    preds_va = keras.ops.convert_to_numpy(model(x_val))
    mse_tr = np.mean((np.reshape(y_train, preds_tr.shape) - preds_tr) ** 2)
    mse_va = np.mean((np.reshape(y_val, preds_va.shape) - preds_va) ** 2)
    return float(mse_va - mse_tr)


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    res = {}
    for name, reg in [("no_reg", None), ("l2", keras.regularizers.L2(l2))]:
        keras.utils.set_random_seed(seed)
        model = build_model(reg, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        res[name] = validation_gap(model, x_train, y_train, x_val, y_val)
    return res
