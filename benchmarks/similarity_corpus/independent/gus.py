##############################################################################
# Regularization homework
# Gus - section B
##############################################################################

# I import keras directly (Keras 3), tensorflow for the loss and numpy for the
# hand-computed penalty.
import keras
import numpy as np
import tensorflow as tf


# ---------------------------------------------------------------------------
# Part 1: layers
# ---------------------------------------------------------------------------
def l2_dense(units, l2=0.01, activation="relu"):
    # Build the L2 regularizer from the argument (NOT a fixed 0.01!)
    regularizer = keras.regularizers.L2(l2=l2)
    # Attach it to the kernel only; the bias gets nothing.
    dense_layer = keras.layers.Dense(
        units,
        activation=activation,
        kernel_regularizer=regularizer,
    )
    return dense_layer


def l1_dense(units, l1=0.005, activation="relu"):
    # Same thing with L1 -> sparse weights
    regularizer = keras.regularizers.L1(l1=l1)
    dense_layer = keras.layers.Dense(
        units,
        activation=activation,
        kernel_regularizer=regularizer,
    )
    return dense_layer


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    # One combined regularizer (not two separate ones)
    regularizer = keras.regularizers.L1L2(l1=l1, l2=l2)
    dense_layer = keras.layers.Dense(
        units,
        activation=activation,
        kernel_regularizer=regularizer,
    )
    return dense_layer


# ---------------------------------------------------------------------------
# Part 2: model
# ---------------------------------------------------------------------------
def build_model(regularizer=None, hidden_units=64, input_dim=1):
    model = keras.models.Sequential()
    # Input first (the assignment says to use keras.Input, not input_shape=)
    model.add(keras.Input(shape=(input_dim,)))
    # Hidden layer, regularized (or not, when regularizer is None)
    model.add(
        keras.layers.Dense(
            hidden_units,
            activation="relu",
            kernel_regularizer=regularizer,
        )
    )
    # Output layer: plain linear unit for regression
    model.add(keras.layers.Dense(1))
    # Adam + mean squared error
    model.compile(optimizer="adam", loss="mse")
    return model


# ---------------------------------------------------------------------------
# Part 3: penalty by hand
# ---------------------------------------------------------------------------
def penalty(model):
    total_penalty = 0.0
    # loop over ALL layers, several may be regularized
    for current_layer in model.layers:
        # Input layers have no kernel_regularizer attribute at all
        current_reg = getattr(current_layer, "kernel_regularizer", None)
        if current_reg is None:
            continue
        reg_config = current_reg.get_config()
        # missing key = factor 0
        l1_factor = reg_config.get("l1", 0.0)
        l2_factor = reg_config.get("l2", 0.0)
        kernel_values = np.array(current_layer.kernel)
        l1_part = l1_factor * np.sum(np.abs(kernel_values))
        l2_part = l2_factor * np.sum(np.square(kernel_values))
        total_penalty = total_penalty + l1_part + l2_part
    return float(total_penalty)


# ---------------------------------------------------------------------------
# Part 4: loss
# ---------------------------------------------------------------------------
def regularized_loss(model, x, y):
    # forward pass (NOT predict, that would break the gradient)
    prediction = model(x)
    # y may be (n,) or (n, 1) and float64 -> make it look like the prediction
    y_float = tf.cast(y, tf.float32)
    y_shaped = tf.reshape(y_float, tf.shape(prediction))
    # data loss
    mse_loss = tf.reduce_mean(tf.square(y_shaped - prediction))
    # regularization loss (a tensor, so the gradient flows)
    if len(model.losses) > 0:
        reg_loss = tf.add_n(model.losses)
        return mse_loss + reg_loss
    else:
        return mse_loss


# ---------------------------------------------------------------------------
# Part 5: validation gap
# ---------------------------------------------------------------------------
def validation_gap(model, x_train, y_train, x_val, y_val):
    # predictions on both sets
    train_prediction = np.array(model(x_train))
    val_prediction = np.array(model(x_val))
    # reshape targets so we don't broadcast to (n, n)
    y_train_shaped = np.array(y_train).reshape(train_prediction.shape)
    y_val_shaped = np.array(y_val).reshape(val_prediction.shape)
    # plain MSE, no penalty
    train_mse = np.mean(np.square(y_train_shaped - train_prediction))
    val_mse = np.mean(np.square(y_val_shaped - val_prediction))
    return float(val_mse - train_mse)


# ---------------------------------------------------------------------------
# Part 6: comparison
# ---------------------------------------------------------------------------
def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    gap_results = {}
    settings = [("no_reg", None), ("l2", keras.regularizers.L2(l2))]
    for setting_name, setting_reg in settings:
        # same seed for both runs so only the regularizer differs
        keras.utils.set_random_seed(seed)
        model = build_model(setting_reg, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        gap_results[setting_name] = float(validation_gap(model, x_train, y_train, x_val, y_val))
    return gap_results
