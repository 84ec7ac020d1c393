# Payload: build_model() returns the right layers, compiled, but never built: no Input, so
# the model has no input shape and no weights. Not the contract's model, and the grader
# cannot inspect it: every build_model check fails with a message, none is a grader error
# (which would leave them out of the score). compare() trains the model in the worker,
# where fit() builds it, and passes: 21.
def build_model(regularizer=None, hidden_units=64, input_dim=1):
    model = keras.Sequential(
        [
            keras.layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    return model
