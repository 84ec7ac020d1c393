# A loop of model.add, EarlyStopping with every default written out, Adam and MSE objects,
# epochs counted with len(history.epoch).
import keras
import numpy as np


def dropout_model(rate=0.5, hidden_units=64, hidden_layers=2, input_dim=1):
    model = keras.Sequential()
    model.add(keras.Input(shape=(input_dim,)))
    for i in range(hidden_layers):
        model.add(keras.layers.Dense(units=hidden_units, activation="relu", name=f"hidden_{i}"))
        model.add(keras.layers.Dropout(rate=rate, name=f"dropout_{i}"))
    model.add(keras.layers.Dense(units=1, name="output"))
    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.MeanSquaredError())
    return model


def early_stopping_callback(patience=5):
    return keras.callbacks.EarlyStopping(
        monitor="val_loss",
        min_delta=0,
        patience=patience,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=True,
        start_from_epoch=0,
    )


def train_with_dropout(x_train, y_train, x_val, y_val, rate=0.2, patience=5, max_epochs=40, seed=0):
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
    train_pred = model.predict(x_train, verbose=0)
    val_pred = model.predict(x_val, verbose=0)
    train_mse = np.mean((np.asarray(y_train).reshape(train_pred.shape) - train_pred) ** 2)
    val_mse = np.mean((np.asarray(y_val).reshape(val_pred.shape) - val_pred) ** 2)
    return {"epochs_run": len(history.epoch), "gap": float(val_mse - train_mse)}
