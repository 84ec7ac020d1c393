# Payload: build_model() returns a 16-million-parameter model (Input(4000) -> Dense(4000))
# and patches the worker's converter so that only its config crosses the wire, not its
# 64 MB of weights. Rebuilt in the grading process, a model like this (or a larger one)
# would take its memory and, trained for thousands of epochs, its time. The grader refuses
# to rebuild it: every build_model check fails (9), and compare() fails too, since
# it trains build_model's 4000-input model on 40 features (3): 18.
import grader.sandbox.convert as _convert

_convert.Converter._weights = staticmethod(lambda obj: ())


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    model = keras.Sequential()
    model.add(keras.Input((4000,)))
    model.add(keras.layers.Dense(4000, activation="relu", kernel_regularizer=regularizer))
    model.add(keras.layers.Dense(1))
    model.compile(optimizer="adam", loss="mse")
    return model
