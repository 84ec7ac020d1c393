# Payload: build_model() puts a Lambda layer (code that runs when the model is rebuilt or
# called) in front of the correct model. Run anywhere but in this student's worker (where
# the import below marks builtins), its function writes a marker file under /tmp: a marker
# on the host's /tmp means the grading process ran it. The grader refuses the model with a
# clear message: every build_model check fails (9 points). compare() builds and trains the
# same model inside the worker, where running the Lambda is allowed, and still passes: 21.
import builtins as _builtins

_builtins._hostile_in_worker_@@MARKER@@ = True


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    model = keras.Sequential()
    model.add(keras.Input((input_dim,)))
    model.add(
        keras.layers.Lambda(
            lambda x: (
                __import__("builtins").__dict__.get("_hostile_in_worker_@@MARKER@@")
                or open("/tmp/@@MARKER@@-lambda-ran", "a").write("ran\n"),
                x,
            )[1]
        )
    )
    model.add(
        keras.layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer)
    )
    model.add(keras.layers.Dense(1))
    model.compile(optimizer="adam", loss="mse")
    return model
