# Payload: the worker is untrusted, so it can send any config it likes. Patch its converter
# to add a StringLookup layer whose vocabulary is a host file (a FIFO the test watches) to
# build_model's answer. Rebuilding it must not make the grading process open that file (a
# FIFO without writer would hang it, /dev/zero fill its memory); Keras's safe mode, which
# the grader always uses, refuses vocabulary files. Every build_model check fails (9): 21.
import grader.sandbox.convert as _convert

_real_config = _convert.Converter._config


def _config_with_file_layer(self, obj):
    config = _real_config(self, obj)
    if config.get("class_name") == "Sequential":
        config["config"]["layers"].append(
            {
                "module": "keras.layers",
                "class_name": "StringLookup",
                "config": {"name": "vocabulary_file", "vocabulary": "@@FIFO@@"},
                "registered_name": None,
            }
        )
    return config


_convert.Converter._config = _config_with_file_layer
