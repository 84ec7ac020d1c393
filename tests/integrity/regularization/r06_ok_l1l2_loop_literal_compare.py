# L1L2 everywhere, a loop of model.add, Adam and MeanSquaredError objects, and compare
# written to the contract's words: build_model() and build_model(L2(l2)), nothing else.
import keras
import numpy as np


def l2_dense(units, l2=0.01, activation="relu"):
    return keras.layers.Dense(units, activation=activation, kernel_regularizer=keras.regularizers.L1L2(l2=l2))


def l1_dense(units, l1=0.005, activation="relu"):
    return keras.layers.Dense(units, activation=activation, kernel_regularizer=keras.regularizers.L1L2(l1=l1))


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return keras.layers.Dense(units, activation=activation, kernel_regularizer=keras.regularizers.L1L2(l1, l2))


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    model = keras.Sequential()
    model.add(keras.Input((input_dim,)))
    for units, act, reg in [(hidden_units, "relu", regularizer), (1, None, None)]:
        model.add(keras.layers.Dense(units, activation=act, kernel_regularizer=reg))
    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.MeanSquaredError())
    return model


def penalty(model):
    result = 0.0
    for layer in model.layers:
        regularizer = getattr(layer, "kernel_regularizer", None)
        if regularizer is None:
            continue
        factors = regularizer.get_config()
        kernel = np.array(layer.get_weights()[0], dtype=np.float64)
        result += factors.get("l1", 0) * np.abs(kernel).sum() + factors.get("l2", 0) * (kernel**2).sum()
    return float(result)


def regularized_loss(model, x, y):
    prediction = model(keras.ops.convert_to_tensor(np.asarray(x, dtype="float32")))
    target = keras.ops.reshape(keras.ops.cast(y, "float32"), keras.ops.shape(prediction))
    loss = keras.ops.mean(keras.ops.square(target - prediction))
    for extra in model.losses:
        loss = loss + extra
    return loss


def validation_gap(model, x_train, y_train, x_val, y_val):
    errors = []
    for x, y in ((x_val, y_val), (x_train, y_train)):
        p = keras.ops.convert_to_numpy(model(x))
        errors.append(np.mean((np.asarray(y, "float32").reshape(p.shape) - p) ** 2))
    return float(errors[0] - errors[1])


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    results = {}
    for key, reg in (("no_reg", None), ("l2", keras.regularizers.L2(l2))):
        keras.utils.set_random_seed(seed)
        model = build_model() if reg is None else build_model(reg)
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        results[key] = validation_gap(model, x_train, y_train, x_val, y_val)
    return results
