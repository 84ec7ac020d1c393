# Payload: enormous answers. l2_dense() returns a 10^8-element array (100 MB of bytes),
# l1_dense() a list nested 100 000 deep, l1_l2_dense() a 200 MB string. Each is refused as
# an answer the grader cannot read, or runs the worker out of memory on the way: those
# three functions lose their checks (6): 24.
def l2_dense(units, l2=0.01, activation="relu"):
    return np.zeros(10**8, dtype=np.uint8)


def l1_dense(units, l1=0.005, activation="relu"):
    nested = []
    for _ in range(100_000):
        nested = [nested]
    return nested


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return "x" * 200_000_000
