import numpy as np
import tensorflow as tf

K = tf.keras


def l2_dense(units, l2=0.01, activation="relu"):
    return K.layers.Dense(units, activation, kernel_regularizer=K.regularizers.L1L2(l2=l2))


def l1_dense(units, l1=0.005, activation="relu"):
    return K.layers.Dense(units, activation, kernel_regularizer=K.regularizers.L1L2(l1=l1))


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return K.layers.Dense(units, activation, kernel_regularizer=K.regularizers.L1L2(l1, l2))


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    inp = K.Input((input_dim,))
    h = K.layers.Dense(hidden_units, "relu", kernel_regularizer=regularizer)(inp)
    out = K.layers.Dense(1)(h)
    model = K.Model(inp, out)
    model.compile("adam", "mse")
    return model


def penalty(model):
    def one(layer):
        reg = getattr(layer, "kernel_regularizer", None)
        if reg is None:
            return 0.0
        f = reg.get_config()
        w = np.asarray(layer.kernel)
        return f.get("l1", 0.0) * np.abs(w).sum() + f.get("l2", 0.0) * np.square(w).sum()

    return float(sum(one(layer) for layer in model.layers))


def regularized_loss(model, x, y):
    p = model(x)
    d = tf.reshape(tf.cast(y, tf.float32), tf.shape(p)) - p
    return tf.reduce_mean(d * d) + (tf.add_n(model.losses) if model.losses else 0.0)


def validation_gap(model, x_train, y_train, x_val, y_val):
    def err(x, y):
        p = model.predict(x, verbose=0)
        return np.mean((np.reshape(y, p.shape) - p) ** 2)

    return float(err(x_val, y_val) - err(x_train, y_train))


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    gaps = {}
    for k, r in zip(("no_reg", "l2"), (None, K.regularizers.L2(l2)), strict=True):
        K.utils.set_random_seed(seed)
        m = build_model(r, input_dim=x_train.shape[1])
        m.fit(x_train, y_train, epochs=epochs, verbose=0)
        gaps[k] = float(validation_gap(m, x_train, y_train, x_val, y_val))
    return gaps
