# Payload: compare() asks for a huge numpy array, then fills memory until it runs out, and
# lets the MemoryError escape. Only compare's checks fail.
def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    try:
        np.ones((1 << 40,), dtype=np.uint8)
    except MemoryError:
        pass
    hog = []
    while True:
        hog.append(bytearray(64 << 20))
