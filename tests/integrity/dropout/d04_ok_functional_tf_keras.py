# Functional API (Dropout called with training=None, the default), `from tensorflow import
# keras`, extra metrics, epochs counted from the callback's stopped_epoch.
import numpy as np
import tensorflow as tf
from tensorflow import keras


def dropout_model(rate=0.5, hidden_units=64, hidden_layers=2, input_dim=1):
    inputs = keras.Input(shape=(input_dim,))
    x = inputs
    for _ in range(hidden_layers):
        x = keras.layers.Dense(hidden_units, activation="relu")(x)
        x = keras.layers.Dropout(rate)(x, training=None)  # None: Keras decides (the default)
    outputs = keras.layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", metrics=["mse"])
    return model


def early_stopping_callback(patience=5):
    return keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)


def train_with_dropout(x_train, y_train, x_val, y_val, rate=0.2, patience=5, max_epochs=40, seed=0):
    keras.utils.set_random_seed(seed)
    model = dropout_model(rate, hidden_units=256, input_dim=x_train.shape[1])
    stopper = early_stopping_callback(patience)
    model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=max_epochs,
        batch_size=8,
        callbacks=[stopper],
        verbose=0,
    )
    epochs_run = stopper.stopped_epoch + 1 if stopper.stopped_epoch > 0 else max_epochs

    def mse(x, y):
        pred = model(tf.constant(x, dtype=tf.float32), training=False).numpy()
        return float(np.mean((np.reshape(y, pred.shape) - pred) ** 2))

    return {"epochs_run": int(epochs_run), "gap": mse(x_val, y_val) - mse(x_train, y_train)}
