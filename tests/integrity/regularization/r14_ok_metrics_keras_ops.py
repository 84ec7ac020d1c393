import keras
from keras import ops
import numpy as np


def l2_dense(units, l2=0.01, activation="relu"):
    return keras.layers.Dense(units, activation, kernel_regularizer=keras.regularizers.l2(l2))


def l1_dense(units, l1=0.005, activation="relu"):
    return keras.layers.Dense(units, activation, kernel_regularizer=keras.regularizers.l1(l1))


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return keras.layers.Dense(units, activation, kernel_regularizer=keras.regularizers.L1L2(l1=l1, l2=l2))


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    model = keras.Sequential([keras.Input((input_dim,))])
    model.add(keras.layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer))
    model.add(keras.layers.Dense(1))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.001),
        loss=keras.losses.MeanSquaredError(),
        metrics=["mse", keras.metrics.MeanAbsoluteError()],
    )
    return model


def penalty(model):
    total = 0.0
    for layer in model.layers:
        reg = getattr(layer, "kernel_regularizer", None)
        if reg is None:
            continue
        # The regularizer's attributes (None when it has no such factor; L1's is a tensor).
        w = ops.convert_to_numpy(layer.kernel).astype("float64")
        l1 = float(getattr(reg, "l1", None) or 0.0)
        l2 = float(getattr(reg, "l2", None) or 0.0)
        total += l1 * float(np.sum(np.abs(w))) + l2 * float(np.sum(w * w))
    return total


def regularized_loss(model, x, y):
    y_pred = model(ops.convert_to_tensor(x, dtype="float32"))
    y_true = ops.reshape(ops.convert_to_tensor(y, dtype="float32"), ops.shape(y_pred))
    loss = ops.mean(ops.square(ops.subtract(y_true, y_pred)))
    if model.losses:
        loss = ops.add(loss, ops.sum(ops.stack(model.losses)))
    return loss


def validation_gap(model, x_train, y_train, x_val, y_val):
    def data_mse(x, y):
        pred = ops.convert_to_numpy(model(ops.convert_to_tensor(x, dtype="float32")))
        return float(ops.convert_to_numpy(ops.mean(ops.square(np.reshape(y, pred.shape).astype("float32") - pred))))

    return data_mse(x_val, y_val) - data_mse(x_train, y_train)


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    gaps = {}
    for name, reg in [("no_reg", None), ("l2", keras.regularizers.L2(l2))]:
        keras.utils.set_random_seed(seed)
        model = build_model(reg, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        gaps[name] = float(validation_gap(model, x_train, y_train, x_val, y_val))
    return gaps
