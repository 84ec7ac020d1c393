# %% [markdown]
# # Learning rates: optimizers, warm-up and a sweep
#
# The learning rate is the one setting that decides whether a network learns at all.
# Too small and the loss barely moves; too large and it jumps about or diverges. In this
# assignment you build a model whose optimizer and learning rate are arguments, write the
# warm-up + cosine schedule that most modern training uses, and run a small learning-rate
# sweep to see the effect for yourself.
#
# Implement every function below, keeping its name and signature exactly as given, and
# replace each `raise NotImplementedError` with your code. The grader imports your work
# as a module and calls these functions with its own arguments.

# %%
import keras
import numpy as np

# %% [markdown]
# ## Part 1: a regressor with a chosen optimizer
#
# `keras.optimizers.SGD(learning_rate=0.05)` is plain gradient descent with step size
# 0.05; `Adam` and `RMSprop` adapt the step per weight but still scale it by their
# `learning_rate`. Passing the string `"sgd"` to `compile` gives SGD with its *default*
# learning rate, which is not what is asked here.


# %%
def build_regressor(input_dim=1, hidden=32, optimizer="sgd", learning_rate=0.01):
    """Return a compiled Keras regression model.

    Layers, in this order: ``keras.Input((input_dim,))``, ``Dense(hidden,
    activation="relu")``, ``Dense(1)`` (linear).

    Compile it with loss ``"mse"`` and an optimizer object of the class named by
    ``optimizer``: ``"sgd"`` -> ``keras.optimizers.SGD``, ``"adam"`` ->
    ``keras.optimizers.Adam``, ``"rmsprop"`` -> ``keras.optimizers.RMSprop``, each made
    with ``learning_rate=learning_rate`` and no other setting. Any other name raises
    ``ValueError``.
    """
    raise NotImplementedError


# %% tags=["skip-grading"]
if __name__ == "__main__":
    m = build_regressor(3, 16, "adam", 0.002)
    print(type(m.optimizer).__name__, float(m.optimizer.learning_rate))

# %% [markdown]
# ## Part 2: linear warm-up, then cosine decay
#
# For the first `warmup_steps` steps the learning rate climbs linearly to `base_lr`;
# after that it follows half a cosine wave from `base_lr` down towards 0 at
# `total_steps`. Write it with numpy (no Keras schedule objects).


# %%
def warmup_cosine(total_steps, base_lr=0.1, warmup_steps=5):
    """Return the learning rate of every step ``s = 0 .. total_steps - 1`` as a 1-D
    numpy array of ``total_steps`` floats:

    - for ``s < warmup_steps``: ``base_lr * (s + 1) / warmup_steps``;
    - otherwise: ``base_lr * 0.5 * (1 + cos(pi * (s - warmup_steps) / (total_steps -
      warmup_steps)))``.

    ``0 <= warmup_steps < total_steps``; ``warmup_steps = 0`` means no warm-up.
    """
    raise NotImplementedError


# %% tags=["skip-grading"]
if __name__ == "__main__":
    print(np.round(warmup_cosine(12, 0.1, 3), 4))

# %% [markdown]
# ## Part 3: a learning-rate sweep
#
# Train the same network (same initial weights) with several learning rates of plain SGD
# and compare where each one ends. To compare learning rates, and nothing else, every
# run must start from the same seed.


# %%
def lr_sweep(x_train, y_train, x_val, y_val, learning_rates, epochs=30, seed=0):
    """Train one model per learning rate and report how each ended.

    For each ``lr`` in ``learning_rates``, in order:

    1. ``keras.utils.set_random_seed(seed)``
    2. ``model = build_regressor(x_train.shape[1], 32, "sgd", lr)``
    3. ``history = model.fit(x_train, y_train, validation_data=(x_val, y_val),``
       ``epochs=epochs, batch_size=len(x_train), shuffle=False, verbose=0)``

    Return a dict:

    - ``"train_loss"``: the last ``history.history["loss"]`` of each run (a list of
      floats, one per learning rate, in order);
    - ``"val_loss"``: the last ``history.history["val_loss"]`` of each run, likewise;
    - ``"val_curves"``: each run's whole ``history.history["val_loss"]`` (a list of
      ``epochs`` floats per learning rate);
    - ``"best"``: the learning rate whose last validation loss is the lowest.
    """
    raise NotImplementedError


# %% tags=["skip-grading"]
if __name__ == "__main__":
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (60, 1)).astype("float32")
    y = np.sin(3 * x) + 0.1 * rng.normal(size=x.shape).astype("float32")
    print(lr_sweep(x[:40], y[:40], x[40:], y[40:], [0.001, 0.01, 0.1], epochs=20)["best"])
