# Everything measured in float64: inputs cast up, MSE in double precision, numpy scalars
# returned, tf.keras spelled out in full.
import numpy as np
import tensorflow as tf


def l2_dense(units, l2=0.01, activation="relu"):
    return tf.keras.layers.Dense(units, activation=activation, kernel_regularizer=tf.keras.regularizers.L2(float(l2)))


def l1_dense(units, l1=0.005, activation="relu"):
    return tf.keras.layers.Dense(units, activation=activation, kernel_regularizer=tf.keras.regularizers.L1(np.float64(l1)))


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return tf.keras.layers.Dense(units, activation=activation, kernel_regularizer=tf.keras.regularizers.L1L2(l1=float(l1), l2=float(l2)))


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    model = tf.keras.Sequential(
        [
            tf.keras.Input((input_dim,)),
            tf.keras.layers.Dense(hidden_units, activation=tf.keras.activations.relu, kernel_regularizer=regularizer),
            tf.keras.layers.Dense(1, activation="linear"),
        ]
    )
    model.compile(optimizer="Adam", loss="mean_squared_error")
    return model


def penalty(model):
    total = np.float64(0.0)
    for layer in model.layers:
        reg = getattr(layer, "kernel_regularizer", None)
        if reg is None:
            continue
        cfg = reg.get_config()
        w = np.asarray(layer.kernel, dtype=np.float64)
        total += np.float64(cfg.get("l1", 0.0)) * np.abs(w).sum()
        total += np.float64(cfg.get("l2", 0.0)) * (w**2).sum()
    return float(total)


def regularized_loss(model, x, y):
    x = tf.cast(tf.constant(np.asarray(x, dtype=np.float64)), tf.float32)
    y_pred = model(x)
    y = tf.reshape(tf.cast(tf.constant(np.asarray(y, dtype=np.float64)), tf.float32), tf.shape(y_pred))
    loss = tf.reduce_mean((y - y_pred) ** 2)
    if model.losses:
        loss += tf.add_n(model.losses)
    return loss


def validation_gap(model, x_train, y_train, x_val, y_val):
    def mse(x, y):
        pred = model.predict(np.asarray(x, dtype=np.float64), verbose=0).astype(np.float64)
        target = np.asarray(y, dtype=np.float64).reshape(pred.shape)
        return np.mean((target - pred) ** 2)

    return np.float64(mse(x_val, y_val) - mse(x_train, y_train))


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    result = {}
    for name, reg in [("no_reg", None), ("l2", tf.keras.regularizers.L2(l2))]:
        tf.keras.utils.set_random_seed(seed)
        model = build_model(reg, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        result[name] = validation_gap(model, x_train, y_train, x_val, y_val)
    return result
