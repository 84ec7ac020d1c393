# keras taken from tensorflow (keras = tf.keras), functional API with a named output,
# penalty via model.get_layer, compare as a dict comprehension over a helper, fit's
# defaults (batch_size=32, shuffle=True) written out.
import numpy as np
import tensorflow as tf

keras = tf.keras


def l2_dense(units, l2=0.01, activation="relu"):
    return keras.layers.Dense(units, activation=activation, kernel_regularizer=keras.regularizers.L2(l2=l2))


def l1_dense(units, l1=0.005, activation="relu"):
    return keras.layers.Dense(units, activation=activation, kernel_regularizer=keras.regularizers.L1(l1=l1))


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return keras.layers.Dense(units, activation=activation, kernel_regularizer=keras.regularizers.l1_l2(l1, l2))


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    x = keras.Input((input_dim,), name="x")
    h = keras.layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer, name="h")(x)
    y = keras.layers.Dense(1, name="y")(h)
    model = keras.Model(x, y, name="net")
    model.compile(optimizer="adam", loss="mse", metrics=[keras.metrics.MeanSquaredError()])
    return model


def penalty(model):
    total = 0.0
    for name in [layer.name for layer in model.layers]:
        layer = model.get_layer(name)
        reg = getattr(layer, "kernel_regularizer", None)
        if reg is None:
            continue
        factors = {"l1": 0.0, "l2": 0.0, **reg.get_config()}
        w = np.asarray(layer.kernel.numpy(), dtype=np.float64)
        total += factors["l1"] * np.abs(w).sum() + factors["l2"] * np.square(w).sum()
    return float(total)


def regularized_loss(model, x, y):
    pred = model(tf.convert_to_tensor(x, tf.float32))
    target = tf.reshape(tf.convert_to_tensor(y, tf.float32), tf.shape(pred))
    return tf.reduce_mean(tf.square(target - pred)) + sum(model.losses, tf.constant(0.0))


def validation_gap(model, x_train, y_train, x_val, y_val):
    def mse(x, y):
        pred = model(np.asarray(x, np.float32), training=False).numpy()
        return np.square(np.asarray(y, np.float32).reshape(pred.shape) - pred).mean()

    return float(mse(x_val, y_val)) - float(mse(x_train, y_train))


def _gap_of(reg, data, epochs, seed):
    x_train, y_train, x_val, y_val = data
    keras.utils.set_random_seed(seed)
    model = build_model(reg, input_dim=x_train.shape[1])
    model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=0, shuffle=True)
    return validation_gap(model, x_train, y_train, x_val, y_val)


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    data = (x_train, y_train, x_val, y_val)
    regs = {"no_reg": None, "l2": keras.regularizers.L2(l2)}
    return {key: _gap_of(reg, data, epochs, seed) for key, reg in regs.items()}
