# Payload: l2_dense() phones home: TCP and UDP to ports the test listens on at 127.0.0.1,
# and a unix socket the test listens on outside the hidden folders. If any connection
# succeeds it answers correctly (30); when everything is blocked it raises, so the score
# (28) shows the network was unreachable.
import socket as _socket


def l2_dense(units, l2=0.01, activation="relu"):
    outcomes = []
    reached = False
    try:
        with _socket.create_connection(("127.0.0.1", @@PORT@@), timeout=3) as s:
            s.sendall(b"@@MARKER@@-tcp")
        reached = True
        outcomes.append("tcp: connected")
    except OSError as exc:
        outcomes.append(f"tcp: {type(exc).__name__}")
    try:
        with _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM) as s:
            s.sendto(b"@@MARKER@@-udp", ("127.0.0.1", @@UDP_PORT@@))
        outcomes.append("udp: sent")
    except OSError as exc:
        outcomes.append(f"udp: {type(exc).__name__}")
    try:
        with _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM) as s:
            s.settimeout(3)
            s.connect("@@UNIX_SOCKET@@")
            s.sendall(b"@@MARKER@@-unix")
        reached = True
        outcomes.append("unix: connected")
    except OSError as exc:
        outcomes.append(f"unix: {type(exc).__name__}")
    if not reached:
        raise RuntimeError(f"HOSTILE-BLOCKED network: {', '.join(outcomes)}")
    return keras.layers.Dense(
        units, activation=activation, kernel_regularizer=keras.regularizers.l2(l2)
    )
