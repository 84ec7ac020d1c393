"""A hand-made try at lr_schedules. Compiles with the optimizer's name only, so the learning rate
is Keras' default."""

import keras
import numpy as np

OPTIMIZERS = {
    "sgd": keras.optimizers.SGD,
    "adam": keras.optimizers.Adam,
    "rmsprop": keras.optimizers.RMSprop,
}


def build_regressor(input_dim=1, hidden=32, optimizer="sgd", learning_rate=0.01):
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}")
    model = keras.Sequential(
        [
            keras.Input((input_dim,)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=optimizer, loss="mse")
    return model


def warmup_cosine(total_steps, base_lr=0.1, warmup_steps=5):
    steps = np.arange(total_steps, dtype=np.float64)
    progress = (steps - warmup_steps) / (total_steps - warmup_steps)
    cosine = base_lr * 0.5 * (1.0 + np.cos(np.pi * progress))
    if warmup_steps == 0:
        return cosine
    warmup = base_lr * (steps + 1.0) / warmup_steps
    return np.where(steps < warmup_steps, warmup, cosine)


def lr_sweep(x_train, y_train, x_val, y_val, learning_rates, epochs=30, seed=0):
    histories = []
    for lr in learning_rates:
        keras.utils.set_random_seed(seed)
        model = build_regressor(x_train.shape[1], 32, "sgd", lr)
        history = model.fit(
            x_train,
            y_train,
            validation_data=(x_val, y_val),
            epochs=epochs,
            batch_size=len(x_train),
            shuffle=False,
            verbose=0,
        )
        histories.append(history.history)
    val_final = [float(h["val_loss"][-1]) for h in histories]
    return {
        "train_loss": [float(h["loss"][-1]) for h in histories],
        "val_loss": val_final,
        "val_curves": [[float(v) for v in h["val_loss"]] for h in histories],
        "best": float(learning_rates[int(np.argmin(val_final))]),
    }
