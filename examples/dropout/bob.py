import tensorflow as tf
from tensorflow import keras


def dropout_model(rate=0.5, hidden_units=64, hidden_layers=2, input_dim=1):
    inputs = keras.Input(shape=(input_dim,))
    x = inputs
    for i in range(hidden_layers):
        x = keras.layers.Dense(hidden_units, activation="relu", name=f"hidden_{i}")(x)
        x = keras.layers.Dropout(rate=rate, name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(1, name="output")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.MeanSquaredError())
    return model


def early_stopping_callback(patience=5):
    return keras.callbacks.EarlyStopping(
        restore_best_weights=True, patience=patience, monitor="val_loss", mode="min"
    )


def _data_mse(model, x, y):
    # training=False: dropout off, as in predict.
    predictions = model(tf.constant(x, dtype=tf.float32), training=False)
    targets = tf.reshape(tf.cast(y, tf.float32), tf.shape(predictions))
    return float(tf.reduce_mean(tf.square(targets - predictions)))


def train_with_dropout(x_train, y_train, x_val, y_val, rate=0.2, patience=5, max_epochs=40, seed=0):
    keras.utils.set_random_seed(seed)
    model = dropout_model(rate, hidden_units=256, input_dim=x_train.shape[1])
    stopper = early_stopping_callback(patience)
    history = model.fit(
        x_train,
        y_train,
        batch_size=8,
        epochs=max_epochs,
        verbose=0,
        callbacks=[stopper],
        validation_data=(x_val, y_val),
    )
    return {
        "epochs_run": len(history.epoch),
        "gap": _data_mse(model, x_val, y_val) - _data_mse(model, x_train, y_train),
    }
