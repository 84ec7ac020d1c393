# %% [markdown]
# # Regularization: keeping a network from memorizing its training data
#
# In this assignment you build L1, L2 and L1_L2-regularized Keras layers and models,
# compute the regularization penalty by hand, write a loss that includes it, and measure
# the validation gap it shrinks. Read from top to bottom: each part explains an idea and
# then asks you to implement one or more functions. Run the cell below first: it imports
# what the examples and your functions use.


# %%
import keras
import numpy as np
import tensorflow as tf

# %% [markdown]
# ## Overfitting, and what regularization adds to the loss
#
# A network with many weights can fit its training set almost perfectly and still do
# badly on data it has never seen: it has *overfit*, learning the noise in the training
# examples instead of the underlying pattern. Regularization fights this by adding a
# penalty on the size of the weights to the loss that training minimizes:
#
# ```text
# total loss = data loss (e.g. MSE) + regularization penalty
# ```
#
# Large weights now cost something, so the optimizer prefers simpler models that only
# use big weights where they really pay off in data loss.
#
# ### When to reach for it
#
# * the training loss is much lower than the validation loss (overfitting);
# * the data set is small;
# * the network is large compared with the amount of data.


# %% [markdown]
# ## The three kinds Keras offers
#
# * **L1**, `keras.regularizers.l1(0.01)`: penalty `l1 * sum(|W|)`. It pushes weights
#   all the way to zero, giving *sparse* weights (a built-in kind of feature selection).
# * **L2**, `keras.regularizers.l2(0.01)`: penalty `l2 * sum(W**2)`, also called
#   *weight decay*. It shrinks all weights towards zero but rarely makes them exactly
#   zero. This is the most common choice.
# * **L1_L2**, `keras.regularizers.l1_l2(l1=0.01, l2=0.01)`: both penalties added
#   together.
#
# ### The syntax in Keras 3
#
# In Keras 3 the classes are `keras.regularizers.L1`, `L2` and `L1L2`; the lower-case
# names `l1`, `l2` and `l1_l2` are aliases for them. You attach a regularizer to a
# layer's weight matrix (its *kernel*) when you create it, with `kernel_regularizer`
# (`bias_regularizer` and `activity_regularizer` exist too, but this assignment is only
# about `kernel_regularizer`). The cell below makes one layer of each kind and prints
# the factors each regularizer holds; run it to see them.


# %% tags=["skip-grading"]
if __name__ == "__main__":
    examples = {
        "L2": keras.layers.Dense(
            64, activation="relu", kernel_regularizer=keras.regularizers.l2(0.01)
        ),
        "L1": keras.layers.Dense(
            64, activation="relu", kernel_regularizer=keras.regularizers.l1(0.01)
        ),
        "L1_L2": keras.layers.Dense(
            64, activation="relu", kernel_regularizer=keras.regularizers.l1_l2(l1=0.01, l2=0.01)
        ),
    }
    for kind, layer in examples.items():
        print(kind, type(layer.kernel_regularizer).__name__, layer.kernel_regularizer.get_config())


# %% [markdown]
# ## Your task
#
# Implement every function below, keeping the names and signatures exactly as given.
# You may import `keras` (or `tensorflow.keras`), `tensorflow` and `numpy`. Replace each
# `raise NotImplementedError` with your code.
#
# The grader imports your work as a module and calls these functions with its own
# arguments. Code outside the functions runs on every import, so keep experiments in
# cells like the example above: tagged `skip-grading`, with the code under
# `if __name__ == "__main__":`.


# %% [markdown]
# ## Part 1: regularized layers
#
# One function per kind of regularizer. Each returns a new `keras.layers.Dense` layer
# (not a model) whose kernel carries the regularizer, with the strength taken from its
# argument.


# %%
def l2_dense(units, l2=0.01, activation="relu"):
    """Return a Dense layer whose kernel has an L2 regularizer.

    The layer is ``keras.layers.Dense(units, activation=activation)`` with
    ``kernel_regularizer`` set to an L2 regularizer of strength ``l2`` (use the
    ``l2`` argument, not a hard-coded value).  The penalty it adds to the loss
    is ``l2 * sum(kernel**2)``.  Do not regularize the bias.

    Example: ``l2_dense(32, l2=0.001)`` is a 32-unit relu layer with penalty
    ``0.001 * sum(W**2)``.
    """
    raise NotImplementedError


# %%
def l1_dense(units, l1=0.005, activation="relu"):
    """Return a Dense layer whose kernel has an L1 regularizer.

    Same as ``l2_dense`` but with an L1 regularizer of strength ``l1`` on the
    kernel (``kernel_regularizer``, not ``bias_regularizer``).  The penalty is
    ``l1 * sum(|kernel|)``; it tends to drive weights to exactly zero.
    """
    raise NotImplementedError


# %%
def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    """Return a Dense layer whose kernel has a combined L1L2 regularizer.

    Same as ``l2_dense`` but the kernel regularizer is a single combined L1L2
    regularizer with factors ``l1`` and ``l2``, so the penalty is
    ``l1 * sum(|kernel|) + l2 * sum(kernel**2)``.
    """
    raise NotImplementedError


# %% [markdown]
# ## Part 2: a small regression network
#
# The same network with or without a regularizer on its hidden layer: the model the
# comparison at the end trains twice.


# %%
def build_model(regularizer=None, hidden_units=64, input_dim=1):
    """Build and compile a small regression network.

    Architecture, in this order:

    1. ``keras.Input((input_dim,))`` (use an Input, not ``input_shape=``);
    2. ``Dense(hidden_units, activation="relu", kernel_regularizer=regularizer)``;
    3. ``Dense(1)``: no activation and no regularizer.

    Compile it with ``optimizer="adam"`` and ``loss="mse"`` and return it.
    When ``regularizer`` is None the model must contain no regularizer at all
    (so ``model.losses`` is empty).  Either the Sequential or the functional
    API is fine.
    """
    raise NotImplementedError


# %% [markdown]
# ## Part 3: the penalty by hand
#
# Keras adds the penalties for you during `fit()`: every layer's penalty appears in
# `model.losses` and is added to the data loss. Here you compute the same number
# yourself, from the regularizers' factors and the kernels' weights.


# %%
def penalty(model):
    """Compute the model's regularization penalty by hand, as a Python float.

    Go through every layer of the model.  For each layer whose
    ``kernel_regularizer`` is not None, read its strength factors from
    ``layer.kernel_regularizer.get_config()`` (a dict with key ``"l1"`` for L1,
    ``"l2"`` for L2, and both for L1L2; a missing key means a factor of 0) and
    add ``l1 * sum(|W|) + l2 * sum(W**2)``, where ``W`` is that layer's kernel
    (``layer.kernel``, converted to a numpy array).  Return the total as a
    float; a model without regularizers gives 0.0.

    Do not assume a single hidden layer: the grader also uses models with
    several regularized layers of different kinds (L1, L2 and L1L2).  Your
    answer must match what Keras itself adds, ``float(sum(model.losses))``,
    to within 1e-5 relative error, but compute it yourself with numpy rather
    than reading ``model.losses``.
    """
    raise NotImplementedError


# %% [markdown]
# ## Part 4: the training objective
#
# The loss a custom training loop would minimize: the data loss plus the penalty, as a
# tensor whose gradient reaches every weight.


# %%
def regularized_loss(model, x, y):
    """Return the training objective: data loss plus regularization penalty.

    This is the quantity a custom training loop passes to
    ``tf.GradientTape``: ``mean((y - model(x))**2)`` plus the sum of
    ``model.losses`` (the penalties Keras computes from the current weights;
    add nothing if the list is empty).  Return it as a scalar TensorFlow
    tensor.

    Rules:
    * call ``model(x)`` directly, not ``model.predict(x)``: predict returns
      numpy arrays and breaks the gradient;
    * the penalty must stay a tensor computed from the weights (such as
      ``tf.add_n(model.losses)``), not a constant number, so that its
      gradient reaches the weights too;
    * ``y`` may be a numpy array of shape ``(n,)`` or ``(n, 1)`` and of any
      float dtype: cast it to float32 and reshape it to the shape of the
      model output before subtracting (otherwise broadcasting gives an
      ``(n, n)`` matrix and a wrong value).

    For a compiled model the value equals ``model.evaluate(x, y)``.
    """
    raise NotImplementedError


# %% [markdown]
# ## Part 5: measuring overfitting
#
# The validation gap, validation loss minus training loss, measures how much better the
# model does on the data it was trained on than on new data.


# %%
def validation_gap(model, x_train, y_train, x_val, y_val):
    """Return validation MSE minus training MSE, as a Python float.

    Both MSEs are the data loss only, ``mean((y - prediction)**2)`` of the
    model's predictions, with no regularization penalty, whatever loss the
    model was compiled with (the grader also passes models compiled with
    other losses).  Do not use ``model.evaluate()``: it reports the compiled
    loss, and in Keras 3 that loss *includes* the penalty.  Compute the
    predictions (``model(x)`` or ``model.predict(x, verbose=0)``) and the MSE
    yourself, taking care that ``y`` has the same shape as the predictions.

    A large positive gap means the model does much better on the data it was
    trained on than on new data: it is overfitting.
    """
    raise NotImplementedError


# %% [markdown]
# ## Part 6: with and without L2
#
# Train the same network twice, once without and once with L2, and compare their gaps.


# %%
def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    """Train the same network with and without L2 regularization and compare.

    For each regularizer in ``[None, keras.regularizers.L2(l2)]``, in that
    order, do exactly::

        keras.utils.set_random_seed(seed)
        model = build_model(regularizer, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        gap = validation_gap(model, x_train, y_train, x_val, y_val)

    (default ``hidden_units``, ``input_dim`` taken from ``x_train.shape[1]``,
    Keras's default batch size of 32 with shuffling; pass no other arguments
    to ``fit``), so that your numbers reproduce the reference solution's.
    The grader calls ``compare`` with one-feature data, as in the sample
    below, where ``build_model(regularizer)`` (``input_dim`` left at its
    default of 1) is the same model: either way is fine.

    Return ``{"no_reg": gap_without, "l2": gap_with_l2}`` with both values as
    Python floats.  On small, noisy data sets the L2 model usually shows the
    smaller gap.
    """
    raise NotImplementedError


# %% [markdown]
# ## Try it: a sample comparison
#
# Once `build_model` and `validation_gap` work, run the cell below. It makes a small,
# noisy data set (40 points of a sine curve plus noise), trains the same wide network
# without and with L2, and prints both validation gaps. The unregularized network
# memorizes the noise, so its gap is clearly larger (about 0.6 against 0.2).
#
# To be quick, the cell raises Adam's learning rate to 0.03 and repeats the 40 points
# 100 times, so each epoch runs 100 full-batch steps: 2000 steps take seconds, where
# `fit`'s defaults would need minutes to overfit.


# %% tags=["skip-grading"]
if __name__ == "__main__":
    rng = np.random.default_rng(0)
    x_all = rng.uniform(-1, 1, size=(540, 1)).astype("float32")
    y_all = (np.sin(3 * x_all) + rng.normal(0, 1.0, size=(540, 1))).astype("float32")
    x_fit, y_fit, x_new, y_new = x_all[:40], y_all[:40], x_all[40:], y_all[40:]

    for label, reg in [
        ("without regularization", None),
        ("with L2(0.3)", keras.regularizers.L2(0.3)),
    ]:
        keras.utils.set_random_seed(1)
        demo = build_model(reg, hidden_units=256)
        demo.optimizer.learning_rate.assign(0.03)
        demo.fit(
            np.tile(x_fit, (100, 1)),
            np.tile(y_fit, (100, 1)),
            batch_size=40,
            epochs=20,
            shuffle=False,
            verbose=0,
        )
        print(f"{label}: validation gap {validation_gap(demo, x_fit, y_fit, x_new, y_new):.3f}")


# %% [markdown]
# ## Choosing the strength
#
# The strength (0.01 in the examples above) is a hyperparameter. Values around 0.01 or
# 0.001 are typical starting points. Too little does nothing; too much makes the penalty
# dominate the loss, so the network cannot learn the pattern at all and *underfits* (both
# training and validation loss stay high). Tune it by watching the validation loss.
#
# The best value depends on the data and the network: the sample comparison, 40 noisy
# points and 256 hidden units, needs a strong 0.3. Try 0.01, 0.1, 0.3 and 3.0 there. At
# 3.0 the gap is smallest of all, yet the network underfits: it barely follows the sine
# curve, so its validation loss is higher than at 0.3. Choose the strength by the
# validation loss, not by the gap alone.
