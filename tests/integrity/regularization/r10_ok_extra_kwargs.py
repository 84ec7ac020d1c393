# Extra keyword arguments everywhere: names, explicit default initializers, use_bias,
# a named Input and model, keyword-only calls.
import keras
import numpy as np
import tensorflow as tf


def l2_dense(units, l2=0.01, activation="relu"):
    return keras.layers.Dense(
        units=units,
        activation=activation,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=keras.regularizers.L2(l2=l2),
        bias_regularizer=None,
        name=None,
    )


def l1_dense(units, l1=0.005, activation="relu"):
    return keras.layers.Dense(units, activation=activation, kernel_regularizer=keras.regularizers.L1(l1=l1), activity_regularizer=None)


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return keras.layers.Dense(units, activation=activation, kernel_regularizer=keras.regularizers.L1L2(l1=l1, l2=l2), dtype="float32")


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    model = keras.Sequential(
        [
            keras.Input(shape=(input_dim,), name="features"),
            keras.layers.Dense(
                hidden_units,
                activation="relu",
                kernel_regularizer=regularizer,
                kernel_initializer=keras.initializers.GlorotUniform(),
                bias_initializer="zeros",
                name="hidden",
            ),
            keras.layers.Dense(1, activation=None, name="output"),
        ],
        name="regression_net",
    )
    model.compile(optimizer="adam", loss="mse", metrics=[])
    return model


def penalty(model):
    total = 0.0
    for layer in model.layers:
        reg = layer.kernel_regularizer if isinstance(layer, keras.layers.Dense) else None
        if reg is None:
            continue
        cfg = reg.get_config()
        kernel = layer.get_weights()[0].astype("float64")
        if "l1" in cfg:
            total += cfg["l1"] * np.abs(kernel).sum()
        if "l2" in cfg:
            total += cfg["l2"] * np.square(kernel).sum()
    return float(total)


def regularized_loss(model, x, y):
    pred = model(tf.convert_to_tensor(x, dtype=tf.float32), training=False)
    y = tf.reshape(tf.cast(y, tf.float32), tf.shape(pred))
    return tf.reduce_mean(tf.math.squared_difference(y, pred)) + tf.reduce_sum(model.losses)


def validation_gap(model, x_train, y_train, x_val, y_val):
    def mse(x, y):
        p = np.asarray(model(tf.constant(x, dtype=tf.float32), training=False))
        return np.mean(np.square(np.asarray(y, dtype=np.float32).reshape(p.shape) - p))

    return float(mse(x_val, y_val) - mse(x_train, y_train))


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    gaps = {}
    for name, reg in [("no_reg", None), ("l2", keras.regularizers.L2(l2))]:
        keras.utils.set_random_seed(seed)
        model = build_model(regularizer=reg, hidden_units=64, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        gaps[name] = validation_gap(model, x_train, y_train, x_val, y_val)
    return gaps
