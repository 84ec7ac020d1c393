# Payload: an infinite loop at import. The import time limit ends it: import_error, 0.
while True:
    pass
