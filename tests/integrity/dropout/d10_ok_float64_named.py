# Named layers, explicit default initializers, float64 arithmetic for the gap, epochs from
# the length of the validation history.
import numpy as np
import tensorflow as tf


def dropout_model(rate=0.5, hidden_units=64, hidden_layers=2, input_dim=1):
    keras = tf.keras
    model = keras.Sequential(name="dropout_net")
    model.add(keras.layers.InputLayer(shape=(input_dim,), name="inputs"))
    for index in range(hidden_layers):
        model.add(
            keras.layers.Dense(
                hidden_units,
                activation=keras.activations.relu,
                kernel_initializer="glorot_uniform",
                bias_initializer="zeros",
                name=f"dense_{index}",
            )
        )
        model.add(keras.layers.Dropout(rate, name=f"drop_{index}"))
    model.add(keras.layers.Dense(1, activation="linear", name="out"))
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=1e-3), loss="mean_squared_error", metrics=["mae"])
    return model


def early_stopping_callback(patience=5):
    return tf.keras.callbacks.EarlyStopping("val_loss", patience=patience, restore_best_weights=True, verbose=0)


def train_with_dropout(x_train, y_train, x_val, y_val, rate=0.2, patience=5, max_epochs=40, seed=0):
    tf.keras.utils.set_random_seed(seed)
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

    def mse(x, y):
        p = model.predict(x, verbose=0).astype(np.float64)
        return np.mean((np.asarray(y, dtype=np.float64).reshape(p.shape) - p) ** 2)

    return {"epochs_run": np.int64(len(history.history["val_loss"])), "gap": np.float64(mse(x_val, y_val) - mse(x_train, y_train))}
