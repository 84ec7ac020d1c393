"""The grader's own "does regularization shrink the validation gap" experiment.

Runs in the trusted grading process on a Keras model rebuilt from a student's (or the
reference's) config. Everything that could make the outcome depend on the student's process
is fixed here: the data (seeded numpy, ``grader.checks.data``), the initial weights (seeded
numpy Glorot draw), the dropout masks (seeded from the same seed), the optimizer (a fresh
Adam) and the loop (full-batch, compiled, in training mode). Only the architecture and the
regularizers and dropout layers the model carries decide the result, so a student's model
and the reference give the same numbers when they are the same model.

The settings (epochs, learning rate, seeds) and the tolerances a verdict uses are each
assignment's, calibrated for it in its ``_calibrated.py``.

The gap is measured on the *data* loss (MSE of predictions), never on Keras' ``loss``, which
includes the penalty on both sides.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from grader.checks.data import Dataset
from grader.checks.rebuild import model_spec

__all__ = [
    "Curves",
    "GapOutcome",
    "data_mse",
    "gap_experiment",
    "reinitialize",
    "train",
]


@dataclass(frozen=True)
class Curves:
    """Data MSE recorded during training; ``epochs[i]`` epochs had run at point ``i``."""

    epochs: tuple[int, ...]
    train_mse: tuple[float, ...]
    val_mse: tuple[float, ...]


@dataclass(frozen=True)
class GapOutcome:
    """Final data losses of one training run and the validation gap between them."""

    gap: float
    train_mse: float
    val_mse: float
    curves: Curves


def _dense_layers(model: keras.Model) -> Iterator[keras.layers.Dense]:
    # Descend into nested models; a Sequential and a functional model list the same Dense
    # layers in the same order (the functional one only adds an InputLayer).
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _dense_layers(layer)
        elif isinstance(layer, keras.layers.Dense):
            yield layer


def _random_layers(model: keras.Model) -> Iterator[keras.layers.Layer]:
    # Layers that draw random numbers when training (Dropout, GaussianNoise...), in order.
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _random_layers(layer)
        elif isinstance(getattr(layer, "seed_generator", None), keras.random.SeedGenerator):
            yield layer


def reinitialize(model: keras.Model, seed: int) -> None:
    """Give every Dense kernel a seeded numpy Glorot-uniform draw and every bias zeros, and
    every random layer (Dropout) a seeded sequence of masks.

    Layers are drawn in order from one generator, so the weights depend only on the
    architecture and ``seed``, not on Keras' seed state in whichever process built the model.
    The masks come from a second generator, so adding Dropout layers changes no weight; a
    Dropout layer's own ``seed`` argument is overridden, as the initializers are.
    """
    rng = np.random.default_rng(seed)
    for layer in _dense_layers(model):
        fan_in, fan_out = layer.kernel.shape
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        layer.kernel.assign(rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32))
        if layer.bias is not None:
            layer.bias.assign(np.zeros(layer.bias.shape, dtype=np.float32))
    masks = np.random.default_rng([seed, 1])
    for layer in _random_layers(model):
        state = layer.seed_generator.state
        state.assign(np.array([masks.integers(1, 2**31), 0], dtype=state.dtype))


def data_mse(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error of the predictions: the data loss, without any penalty."""
    y_pred = keras.ops.convert_to_numpy(model(np.asarray(x, dtype=np.float32), training=False))
    y_true = np.asarray(y, dtype=np.float32).reshape(y_pred.shape)
    return float(np.mean(np.square(y_true.astype(np.float64) - y_pred.astype(np.float64))))


def train(
    model: keras.Model,
    data: Dataset,
    *,
    epochs: int,
    learning_rate: float,
    record_every: int,
) -> Curves:
    """Full-batch Adam on MSE plus the model's own penalties; returns the data-MSE curves.

    A compiled loop instead of ``model.fit`` (about 11x slower here), and a fresh optimizer,
    so the model's compile state (if any) plays no part.
    """
    if epochs < 0 or record_every < 1:
        raise ValueError(
            f"train() needs epochs >= 0 and record_every >= 1; got epochs={epochs}, "
            f"record_every={record_every}."
        )
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    variables = model.trainable_variables
    optimizer.build(variables)
    x = tf.constant(data.x_train, dtype=tf.float32)
    y = tf.constant(data.y_train, dtype=tf.float32)
    x_val = tf.constant(data.x_val, dtype=tf.float32)
    y_val = tf.constant(data.y_val, dtype=tf.float32)

    def mse(inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        y_pred = tf.cast(model(inputs, training=False), tf.float64)
        return tf.reduce_mean(tf.square(tf.cast(targets, tf.float64) - y_pred))

    def run_steps(steps: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        # One call runs `steps` epochs in-graph: Python is visited once per recorded point.
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                y_pred = model(x, training=True)
                loss = tf.reduce_mean(tf.square(y - y_pred))
                # model.losses is recomputed from the current weights on every read.
                penalties = model.losses
                if penalties:
                    loss = loss + tf.add_n(penalties)
            grads = tape.gradient(loss, variables)
            optimizer.apply_gradients(zip(grads, variables, strict=True))
        # The curves' points in the same call: evaluating eagerly instead costs about
        # 4 ms a point, as much as 60 epochs of training.
        return mse(x, y), mse(x_val, y_val)

    # `steps` is a tensor, so the chunk sizes share one trace (the last chunk may be shorter).
    run: Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]] = tf.function(
        run_steps, reduce_retracing=True
    )

    done = 0
    points = [0]
    train_curve = [data_mse(model, data.x_train, data.y_train)]
    val_curve = [data_mse(model, data.x_val, data.y_val)]
    while done < epochs:
        steps = min(record_every, epochs - done)
        train_mse, val_mse = run(tf.constant(steps, dtype=tf.int32))
        done += steps
        points.append(done)
        if done < epochs:
            train_curve.append(float(train_mse))
            val_curve.append(float(val_mse))
    if epochs > 0:
        # The final point, on which verdicts rest, exactly as data_mse() measures it.
        train_curve.append(data_mse(model, data.x_train, data.y_train))
        val_curve.append(data_mse(model, data.x_val, data.y_val))
    return Curves(tuple(points), tuple(train_curve), tuple(val_curve))


def gap_experiment(
    model: keras.Model,
    data: Dataset,
    *,
    epochs: int,
    learning_rate: float,
    seed: int,
    record_every: int,
) -> GapOutcome:
    """Reinitialize ``model`` (in place), train it, and measure val MSE minus train MSE.

    The outcome depends only on the model's config, its weights after reinitializing,
    the data and the settings, so it is kept per process under a digest of those: a
    student whose model is the reference's (most of a class) costs no training at all.
    """
    reinitialize(model, seed)
    key = _experiment_key(model, data, (epochs, learning_rate, seed, record_every))
    if key not in _EXPERIMENTS:
        curves = train(
            model, data, epochs=epochs, learning_rate=learning_rate, record_every=record_every
        )
        train_mse, val_mse = curves.train_mse[-1], curves.val_mse[-1]
        _EXPERIMENTS[key] = GapOutcome(val_mse - train_mse, train_mse, val_mse, curves)
    return _EXPERIMENTS[key]


_EXPERIMENTS: dict[str, GapOutcome] = {}


def _architecture(model: keras.Model) -> str:
    """What the model is, for the memo key: the grader's spec of a rebuilt model (layer
    kinds, units, activations, factors, rates, in order); for a model built otherwise,
    every layer's class and config without its name. Names are dropped, never replaced:
    a layer named "tanh" cannot be confused with the tanh activation."""
    spec = model_spec(model)
    if spec is not None:
        return "spec:" + spec.architecture_key()

    def layers(outer: keras.Model) -> Iterator[keras.layers.Layer]:
        for layer in outer.layers:
            if isinstance(layer, keras.Model):
                yield from layers(layer)
            else:
                yield layer

    described = [
        [f"{type(layer).__module__}.{type(layer).__qualname__}", layer.get_config()]
        for layer in layers(model)
    ]
    for _, config in described:
        config.pop("name", None)
    return "live:" + json.dumps(described, sort_keys=True, default=repr)


def _experiment_key(model: keras.Model, data: Dataset, settings: tuple[object, ...]) -> str:
    digest = hashlib.sha256(_architecture(model).encode())
    digest.update(repr(settings).encode())
    # Every weight and seed state, not only the ones reinitialize() drew: a layer it
    # leaves alone keeps the weights the model came with.
    arrays = (data.x_train, data.y_train, data.x_val, data.y_val)
    for array in (*arrays, *(np.asarray(v.numpy()) for v in model.weights)):
        value = np.ascontiguousarray(array)
        digest.update(f"{value.dtype.str}{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()
