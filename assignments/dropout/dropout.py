# %% [markdown]
# # Dropout and early stopping: two more ways to keep a network from overfitting
#
# L1 and L2 regularization add a penalty on the weights to the loss. This assignment is
# about the two other regularizers you will use all the time, which leave the loss alone:
#
# * **dropout** makes training harder on purpose, by switching off random units;
# * **early stopping** ends training when the model stops getting better on data it does
#   not train on.
#
# You build a network with dropout after every hidden layer, an early-stopping callback,
# and a function that trains with both. Read from top to bottom: each part explains an
# idea and then asks you to implement one function. Run the cell below first: it imports
# what the examples and your functions use.

# %%
import keras
import numpy as np

# %% [markdown]
# ## Your task
#
# Implement every function below, keeping the names and signatures exactly as given.
# You may import `keras` (or `tensorflow.keras`), `tensorflow` and `numpy`. Replace each
# `raise NotImplementedError` with your code.
#
# The grader imports your work as a module and calls these functions with its own
# arguments. Code outside the functions runs on every import, so keep experiments in
# cells like the examples below: tagged `skip-grading`, with the code under
# `if __name__ == "__main__":`.

# %% [markdown]
# ## Part 1: dropout
#
# ### What it is
#
# A `Dropout(rate)` layer sits between two layers. While the network trains, at every
# step it sets a random fraction `rate` of its inputs (the previous layer's outputs) to
# zero, a new random choice each step, and multiplies the ones it keeps by
# `1 / (1 - rate)`, so that their sum stays the same on average. Every step therefore
# trains a different "thinned" network. No unit can count on another one being there, so
# the network cannot build the fragile, co-adapted combinations of units that memorize
# the noise of a small training set: it has to learn features that work on their own.
#
# When the network is *used* (`model.predict(x)`, `model.evaluate(x, y)`, `model(x)`),
# dropout is off: every unit takes part, and thanks to the scaling during training
# nothing needs rescaling. Keras switches it for you: `fit()` runs the layers in training
# mode, everything else in inference mode.
#
# ### When to use it
#
# * the training loss is much lower than the validation loss (the model overfits),
#   typically a large fully connected network on a small data set;
# * after hidden layers: rates of 0.2 to 0.5 are usual starting points. Too high and the
#   network underfits (it cannot even fit the training data);
# * never after the output layer, and rarely on the inputs (that throws away input
#   features, not hidden units);
# * it combines well with L2 and early stopping. Training takes more epochs with
#   dropout, since every step only trains part of the network.
#
# ### Syntax
#
# ```python
# keras.layers.Dropout(0.3)   # drops 30% of the previous layer's outputs while training
# ```
#
# In a Sequential model, the Dropout layer goes right after the layer whose outputs it
# drops:
#
# ```python
# model = keras.Sequential([
#     keras.Input((10,)),
#     keras.layers.Dense(128, activation="relu"),
#     keras.layers.Dropout(0.3),
#     keras.layers.Dense(1),
# ])
# ```
#
# and in the functional API it is called on that layer's output:
#
# ```python
# inputs = keras.Input((10,))
# hidden = keras.layers.Dense(128, activation="relu")(inputs)
# hidden = keras.layers.Dropout(0.3)(hidden)
# model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
# ```
#
# Do not write `keras.layers.Dropout(0.3)(hidden, training=True)`: that keeps dropout on
# whenever the model is called as `model(x)`, so its predictions become random.
#
# The cell below runs one Dropout layer on a row of ones, once in training mode and once
# in inference mode. Run it a few times: the zeros move, the survivors are 2.0 (that is,
# 1 / (1 - 0.5)), and in inference mode nothing changes.

# %% tags=["skip-grading"]
if __name__ == "__main__":
    layer = keras.layers.Dropout(0.5)
    ones = np.ones((1, 10), dtype="float32")
    print("training: ", keras.ops.convert_to_numpy(layer(ones, training=True)))
    print("inference:", keras.ops.convert_to_numpy(layer(ones, training=False)))


# %%
def dropout_model(rate=0.5, hidden_units=64, hidden_layers=2, input_dim=1):
    """Build and compile a regression network with dropout after every hidden layer.

    Layers, in this order:

    1. ``keras.Input((input_dim,))`` (use an Input, not ``input_shape=``);
    2. ``hidden_layers`` times: ``Dense(hidden_units, activation="relu")``
       followed by ``Dropout(rate)`` (use the ``rate`` argument, not a fixed
       number);
    3. ``Dense(1)``: the output layer, with no activation and no dropout after it.

    No other layers, and no dropout on the inputs.  So ``dropout_model()`` is
    Input -> Dense(64, relu) -> Dropout(0.5) -> Dense(64, relu) -> Dropout(0.5)
    -> Dense(1), and ``dropout_model(0.2, hidden_units=16, hidden_layers=1,
    input_dim=3)`` is Input((3,)) -> Dense(16, relu) -> Dropout(0.2) -> Dense(1).

    Compile it with ``optimizer="adam"`` and ``loss="mse"`` and return it.
    Either the Sequential or the functional API is fine; leave switching dropout
    on and off to Keras (never pass ``training=True`` to a Dropout layer).
    """
    raise NotImplementedError


# %% [markdown]
# ## Part 2: early stopping
#
# ### What it is
#
# A network that overfits gets better on its training data epoch after epoch, while its
# loss on validation data (data it never trains on) first falls, then stops falling and
# starts to rise. The best model is the one from the epoch where the validation loss was
# lowest. Early stopping watches the validation loss after every epoch and ends training
# once it has not improved for `patience` epochs in a row. With
# `restore_best_weights=True` it puts back the weights of the best epoch when training
# ends; without it, the model keeps the weights of the last epoch, `patience` epochs past
# the best one.
#
# ### When to use it
#
# * whenever you can set some data aside for validation: it chooses the number of epochs
#   for you, so you can give `fit` a generous `epochs` and let it stop;
# * watch the *validation* loss, `"val_loss"`: the training loss keeps falling while the
#   model overfits, so it cannot tell when to stop. `fit` reports `val_loss` only when you
#   give it `validation_data=(x_val, y_val)` (or `validation_split`);
# * `patience` trades time for safety: validation losses wobble from epoch to epoch, so a
#   patience of 1 stops at the first wobble; 5 to 10 is usual.
#
# ### Syntax
#
# Early stopping is a *callback*: an object `fit` calls at the end of every epoch.
#
# ```python
# stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
# history = model.fit(x, y, validation_data=(x_val, y_val), epochs=500, callbacks=[stop])
# len(history.history["loss"])   # the number of epochs that actually ran
# ```


# %%
def early_stopping_callback(patience=5):
    """Return a ``keras.callbacks.EarlyStopping`` callback that

    * watches the validation loss (``monitor="val_loss"``);
    * stops training after ``patience`` epochs without improvement (use the
      ``patience`` argument);
    * restores the weights of the best epoch when training ends
      (``restore_best_weights=True``).

    Leave every other setting (``min_delta``, ``mode``, ``baseline``,
    ``start_from_epoch``) at its default.
    """
    raise NotImplementedError


# %% [markdown]
# ## Part 3: training with both
#
# Put the two together: train a dropout network with `fit`, early stopping watching the
# validation loss, and report how long training ran and the validation gap of the model
# it left (validation MSE minus training MSE: how much better the model does on the data
# it trained on than on new data).


# %%
def train_with_dropout(x_train, y_train, x_val, y_val, rate=0.2, patience=5, max_epochs=40, seed=0):
    """Train a dropout network with early stopping; return the epochs it ran and its gap.

    Do exactly::

        keras.utils.set_random_seed(seed)
        model = dropout_model(rate, hidden_units=256, input_dim=x_train.shape[1])
        history = model.fit(
            x_train,
            y_train,
            validation_data=(x_val, y_val),
            epochs=max_epochs,
            batch_size=8,
            callbacks=[early_stopping_callback(patience)],
            verbose=0,
        )

    (pass no other arguments), so that your numbers reproduce the reference
    solution's.  Then return ``{"epochs_run": epochs_run, "gap": gap}``:

    * ``epochs_run``, an int: the number of epochs that ran,
      ``len(history.history["loss"])`` (``max_epochs`` when early stopping never
      ended training);
    * ``gap``, a Python float: the validation MSE minus the training MSE of the
      model as ``fit`` left it (with the best epoch's weights restored).  Compute
      each MSE as ``mean((y - predictions)**2)`` from
      ``model.predict(x, verbose=0)``, which runs with dropout off, reshaping
      ``y`` to the predictions' shape.  Do not take it from ``history``: the
      training loss there was measured with dropout on.
    """
    raise NotImplementedError


# %% [markdown]
# ## Try it: dropout, early stopping, both, or neither
#
# Once your three functions work, run the cell below. It makes a small, noisy data set
# (40 points of a sine curve plus a lot of noise, and 500 points to validate on) and
# trains the same network four ways: without dropout or early stopping, with dropout
# only, with early stopping only, and with both. For each it prints how many epochs ran,
# the validation MSE (lower is better) and the validation gap.
#
# To be quick, the cell raises Adam's learning rate to 0.01 and repeats the 40 points 20
# times, so each epoch runs 20 full-batch steps; it takes about 20 seconds. Expect
# something like this: without either, the network memorizes the noise (gap about 0.7,
# validation MSE about 1.28); dropout slows that down (gap about 0.5, validation MSE about
# 1.17); early stopping ends training after a few epochs, with the lowest validation MSE
# (about 1.04, with or without dropout). The noise is so strong here that the best model
# comes very early: with dropout, the validation loss takes a little longer to bottom out,
# so early stopping waits a little longer too. Try other rates and patiences.

# %% tags=["skip-grading"]
if __name__ == "__main__":
    rng = np.random.default_rng(0)
    x_all = rng.uniform(-1, 1, size=(540, 1)).astype("float32")
    y_all = (np.sin(3 * x_all) + rng.normal(0, 1.0, size=(540, 1))).astype("float32")
    x_fit, y_fit, x_new, y_new = x_all[:40], y_all[:40], x_all[40:], y_all[40:]

    def mse(net, x, y):
        return float(np.mean((net.predict(x, verbose=0) - y) ** 2))

    for label, rate, callbacks in [
        ("neither", 0.0, []),
        ("dropout 0.5", 0.5, []),
        ("early stopping", 0.0, [early_stopping_callback(5)]),
        ("both", 0.5, [early_stopping_callback(5)]),
    ]:
        keras.utils.set_random_seed(1)
        demo = dropout_model(rate)
        demo.optimizer.learning_rate.assign(0.01)
        run = demo.fit(
            np.tile(x_fit, (20, 1)),
            np.tile(y_fit, (20, 1)),
            batch_size=40,
            epochs=50,
            shuffle=False,
            validation_data=(x_new, y_new),
            callbacks=callbacks,
            verbose=0,
        )
        val = mse(demo, x_new, y_new)
        gap = val - mse(demo, x_fit, y_fit)
        print(
            f"{label}: {len(run.history['loss'])} epochs, validation MSE {val:.3f}, gap {gap:.3f}"
        )
