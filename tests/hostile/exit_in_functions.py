# Payload: l2_dense() kills its worker with os._exit(0), l1_dense() raises SystemExit.
# Only those two functions' checks fail; every other call gets a fresh worker.
import os as _os
import sys as _sys


def l2_dense(units, l2=0.01, activation="relu"):
    _os._exit(0)


def l1_dense(units, l1=0.005, activation="relu"):
    _sys.exit(0)
