# Payload: allocate memory at import until the address-space limit stops it. The worker
# runs out of memory, not the grading process: import_error, 0.
_hog = []
while True:
    _hog.append(bytearray(64 << 20))
