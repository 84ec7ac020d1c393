# Grace
import keras
import numpy as np
import tensorflow as tf


def l2_dense(units, l2=0.01, activation="relu"):
    return keras.layers.Dense(units, activation=activation,
                              kernel_regularizer=keras.regularizers.L2(l2))


def l1_dense(units, l1=0.005, activation="relu"):
    return keras.layers.Dense(units, activation=activation,
                              kernel_regularizer=keras.regularizers.L1(l1))


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return keras.layers.Dense(units, activation=activation,
                              kernel_regularizer=keras.regularizers.L1L2(l1=l1, l2=l2))


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    inputs = keras.Input((input_dim,))
    h = keras.layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer)(inputs)
    outputs = keras.layers.Dense(1)(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    return model


def penalty(model):
    total = 0.0
    for layer in model.layers:
        reg = getattr(layer, "kernel_regularizer", None)
        if reg is not None:
            cfg = reg.get_config()
            w = keras.ops.convert_to_numpy(layer.kernel)
            total += cfg.get("l1", 0.0) * np.abs(w).sum() + cfg.get("l2", 0.0) * (w ** 2).sum()
    return float(total)


def regularized_loss(model, x, y):
    pred = model(x)
    y = tf.reshape(tf.cast(y, tf.float32), tf.shape(pred))
    loss = tf.reduce_mean(tf.square(y - pred))
    if model.losses:
        loss = loss + tf.add_n(model.losses)
    return loss


def validation_gap(model, x_train, y_train, x_val, y_val):
    val_loss = model.evaluate(x_val, y_val, verbose=0)
    train_pred = model.predict(x_train, verbose=0)
    train_loss = np.mean((train_pred - y_train) ** 2)
    return float(val_loss - train_loss)


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    result = {}
    for name, reg in [("no_reg", None), ("l2", keras.regularizers.L2(l2))]:
        keras.utils.set_random_seed(seed)
        model = build_model(reg, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        result[name] = validation_gap(model, x_train, y_train, x_val, y_val)
    return result
