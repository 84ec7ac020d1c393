# Regularization, written with `from tensorflow import keras`, lower-case aliases,
# the functional API, extra metrics and TensorFlow ops for the penalty.
import numpy as np
import tensorflow as tf
from tensorflow import keras


def l2_dense(units, l2=0.01, activation="relu"):
    return keras.layers.Dense(units, activation=activation, kernel_regularizer=keras.regularizers.l2(l2))


def l1_dense(units, l1=0.005, activation="relu"):
    return keras.layers.Dense(units, activation=activation, kernel_regularizer=keras.regularizers.l1(l1))


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return keras.layers.Dense(
        units, activation=activation, kernel_regularizer=keras.regularizers.l1_l2(l1=l1, l2=l2)
    )


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    inputs = keras.Input(shape=(input_dim,))
    hidden = keras.layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer)(inputs)
    outputs = keras.layers.Dense(1)(hidden)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="adam", loss="mse", metrics=["mse"])
    return model


def penalty(model):
    total = tf.constant(0.0, dtype=tf.float64)
    for layer in model.layers:
        if not hasattr(layer, "kernel_regularizer") or layer.kernel_regularizer is None:
            continue
        cfg = layer.kernel_regularizer.get_config()
        w = tf.cast(tf.convert_to_tensor(layer.kernel), tf.float64)
        total += cfg.get("l1", 0.0) * tf.reduce_sum(tf.abs(w))
        total += cfg.get("l2", 0.0) * tf.reduce_sum(tf.square(w))
    return float(total.numpy())


def regularized_loss(model, x, y):
    pred = model(tf.constant(x, dtype=tf.float32))
    target = tf.reshape(tf.cast(y, tf.float32), tf.shape(pred))
    data = tf.reduce_mean(tf.square(target - pred))
    return data + tf.add_n(model.losses) if model.losses else data


def validation_gap(model, x_train, y_train, x_val, y_val):
    def mse(x, y):
        pred = model.predict(x, verbose=0)
        return float(np.mean((np.reshape(y, pred.shape) - pred) ** 2))

    return mse(x_val, y_val) - mse(x_train, y_train)


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    keras.utils.set_random_seed(seed)
    plain = build_model(input_dim=x_train.shape[1])
    plain.fit(x_train, y_train, epochs=epochs, verbose=0)
    gap_plain = validation_gap(plain, x_train, y_train, x_val, y_val)

    keras.utils.set_random_seed(seed)
    reg = build_model(keras.regularizers.L2(l2), input_dim=x_train.shape[1])
    reg.fit(x_train, y_train, epochs=epochs, verbose=0)
    gap_reg = validation_gap(reg, x_train, y_train, x_val, y_val)
    return {"no_reg": gap_plain, "l2": gap_reg}
