# The gap from model.evaluate over one batch (the compiled loss is the MSE and a dropout
# model has no penalty, so it is the same number as predict's MSE), an EarlyStopping with
# mode="min" and verbose=1, `from keras import layers`, and the epochs from val_loss.
import keras
from keras import layers


def dropout_model(rate=0.5, hidden_units=64, hidden_layers=2, input_dim=1):
    stack = [layers.Input(shape=(input_dim,))]
    for _ in range(hidden_layers):
        stack.extend([layers.Dense(hidden_units, activation="relu"), layers.Dropout(rate)])
    model = keras.Sequential(stack + [layers.Dense(1)])
    model.compile(optimizer="adam", loss="mean_squared_error")
    return model


def early_stopping_callback(patience=5):
    return keras.callbacks.EarlyStopping(monitor="val_loss", mode="min", patience=patience, restore_best_weights=True, verbose=1)


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
    val_mse = model.evaluate(x_val, y_val, batch_size=len(x_val), verbose=0)
    train_mse = model.evaluate(x_train, y_train, batch_size=len(x_train), verbose=0)
    return {"epochs_run": len(history.history["val_loss"]), "gap": float(val_mse - train_mse)}
