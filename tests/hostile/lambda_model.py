# Payload: build_model() puts a Lambda layer (code that runs when the model is rebuilt or
# called) in front of the correct model. Its function writes a marker file under /tmp: in
# the worker that is the sandbox's private /tmp, so a marker on the host's /tmp would mean
# the grading process ran it. The grader refuses the model with a clear message: every
# build_model check fails (9 points). compare() builds and trains the same model inside
# the worker, where running the Lambda is allowed, and still passes: 21.
def build_model(regularizer=None, hidden_units=64, input_dim=1):
    model = keras.Sequential()
    model.add(keras.Input((input_dim,)))
    model.add(
        keras.layers.Lambda(
            lambda x: (open("/tmp/@@MARKER@@-lambda-ran", "a").write("ran\n"), x)[1]
        )
    )
    model.add(
        keras.layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer)
    )
    model.add(keras.layers.Dense(1))
    model.compile(optimizer="adam", loss="mse")
    return model
