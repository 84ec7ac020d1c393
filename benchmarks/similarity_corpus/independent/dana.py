import keras
import numpy as np
import tensorflow as tf
from keras import layers, regularizers


def _dense(units, activation, regularizer):
    """Shared builder for the three layer functions."""
    return layers.Dense(units, activation=activation, kernel_regularizer=regularizer)


def l2_dense(units, l2=0.01, activation="relu"):
    return _dense(units, activation, regularizers.L2(l2))


def l1_dense(units, l1=0.005, activation="relu"):
    return _dense(units, activation, regularizers.L1(l1))


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return _dense(units, activation, regularizers.L1L2(l1=l1, l2=l2))


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    stack = [
        keras.Input((input_dim,)),
        layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer),
        layers.Dense(1),
    ]
    model = keras.Sequential(stack)
    model.compile(optimizer="adam", loss="mse")
    return model


def _layer_penalty(layer):
    config = layer.kernel_regularizer.get_config()
    weights = np.asarray(layer.kernel, dtype=np.float64)
    return (
        config.get("l1", 0.0) * np.abs(weights).sum() + config.get("l2", 0.0) * (weights**2).sum()
    )


def penalty(model):
    regularized = [
        layer for layer in model.layers if getattr(layer, "kernel_regularizer", None) is not None
    ]
    return float(sum(_layer_penalty(layer) for layer in regularized))


def regularized_loss(model, x, y):
    predictions = model(x)
    targets = tf.reshape(tf.cast(y, tf.float32), tf.shape(predictions))
    total = tf.reduce_mean(tf.square(targets - predictions))
    return total + tf.add_n(model.losses) if model.losses else total


def validation_gap(model, x_train, y_train, x_val, y_val):
    errors = []
    for x, y in [(x_train, y_train), (x_val, y_val)]:
        predicted = np.asarray(model(x))
        expected = np.asarray(y, dtype=np.float32).reshape(predicted.shape)
        errors.append(np.mean((expected - predicted) ** 2))
    train_error, val_error = errors
    return float(val_error - train_error)


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    def run(regularizer):
        keras.utils.set_random_seed(seed)
        model = build_model(regularizer, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        return float(validation_gap(model, x_train, y_train, x_val, y_val))

    return {key: run(reg) for key, reg in (("no_reg", None), ("l2", regularizers.L2(l2)))}
