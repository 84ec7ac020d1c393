# %% [markdown]
# # Regularization: keeping a network from memorizing its training data
#
# Fatima's submission.

# %%
import keras
import numpy as np
import tensorflow as tf
from keras.regularizers import l1, l1_l2, l2

# %% [markdown]
# ## Part 1: regularized layers


# %%
def l2_dense(units, l2=0.01, activation="relu"):
    """Return a Dense layer whose kernel has an L2 regularizer."""
    # the argument shadows the imported l2(), so go through the module
    return keras.layers.Dense(
        units, activation=activation, kernel_regularizer=keras.regularizers.l2(l2)
    )


# %%
def l1_dense(units, l1=0.005, activation="relu"):
    """Return a Dense layer whose kernel has an L1 regularizer."""
    return keras.layers.Dense(
        units, activation=activation, kernel_regularizer=keras.regularizers.l1(l1)
    )


# %%
def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    """Return a Dense layer whose kernel has a combined L1L2 regularizer."""
    return keras.layers.Dense(units, activation=activation, kernel_regularizer=l1_l2(l1, l2))


# %% [markdown]
# ## Part 2: a small regression network


# %%
def build_model(regularizer=None, hidden_units=64, input_dim=1):
    """Build and compile a small regression network."""
    model = keras.models.Sequential()
    model.add(keras.layers.Input(shape=(input_dim,)))
    model.add(
        keras.layers.Dense(units=hidden_units, activation="relu", kernel_regularizer=regularizer)
    )
    model.add(keras.layers.Dense(units=1))
    model.compile(optimizer="adam", loss="mse")
    return model


# %% [markdown]
# ## Part 3: the penalty by hand


# %%
def penalty(model):
    """Compute the model's regularization penalty by hand, as a Python float."""
    s = 0.0
    for layer in model.layers:
        if not hasattr(layer, "kernel_regularizer") or layer.kernel_regularizer is None:
            continue
        factors = layer.kernel_regularizer.get_config()
        k = layer.kernel.numpy()
        a = factors.get("l1", 0.0)
        b = factors.get("l2", 0.0)
        s += a * np.sum(np.abs(k)) + b * np.sum(k**2)
    return float(s)


# %% [markdown]
# ## Part 4: the training objective


# %%
def regularized_loss(model, x, y):
    """Return the training objective: data loss plus regularization penalty."""
    yp = model(x)
    yt = tf.reshape(tf.cast(y, tf.float32), yp.shape)
    data = keras.ops.mean(keras.ops.square(yt - yp))
    if len(model.losses) > 0:
        data = data + tf.add_n(model.losses)
    return data


# %% [markdown]
# ## Part 5: measuring overfitting


# %%
def validation_gap(model, x_train, y_train, x_val, y_val):
    """Return validation MSE minus training MSE, as a Python float."""
    p_train = model.predict(x_train, verbose=0)
    p_val = model.predict(x_val, verbose=0)
    mse_train = ((y_train.reshape(p_train.shape) - p_train) ** 2).mean()
    mse_val = ((y_val.reshape(p_val.shape) - p_val) ** 2).mean()
    return float(mse_val - mse_train)


# %% [markdown]
# ## Part 6: with and without L2


# %%
def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    """Train the same network with and without L2 regularization and compare."""
    results = {}
    for key, reg in (("no_reg", None), ("l2", keras.regularizers.L2(l2))):
        keras.utils.set_random_seed(seed)
        model = build_model(reg, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        results[key] = float(validation_gap(model, x_train, y_train, x_val, y_val))
    return results


# %% tags=["skip-grading"]
if __name__ == "__main__":
    print(l2_dense(8).kernel_regularizer.get_config())
    print(l1(0.1).get_config(), l2(0.1).get_config())
