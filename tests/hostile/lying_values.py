# Payload: answers that lie about themselves.
# - penalty(): a float subclass whose == always says True, holding a wrong number;
# - validation_gap(): an object whose __float__, __array__, item() and == give alice's right
#   gap, but which is not a number (compare() returns these too, through validation_gap);
# - regularized_loss(): an ndarray subclass whose buffer holds 0 while __float__, __array__,
#   item() and == claim alice's right loss.
# The grading process reads the data that crossed the wire, never the liar's methods:
# penalty (5), validation_gap (3), compare (3) and regularized_loss (4) lose their checks: 15.
class _LyingEqualFloat(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = float.__hash__


def penalty(model):
    return _LyingEqualFloat(12345.0)


class _LyingNumber:
    def __init__(self, value):
        self.value = value

    def __float__(self):
        return self.value

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.value, dtype=dtype)

    def item(self):
        return self.value

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


_alice_gap = validation_gap


def validation_gap(model, x_train, y_train, x_val, y_val):
    return _LyingNumber(_alice_gap(model, x_train, y_train, x_val, y_val))


class _LyingArray(np.ndarray):
    right = 0.0

    def __float__(self):
        return self.right

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.right, dtype=dtype)

    def item(self, *args):
        return self.right

    def __eq__(self, other):
        return np.True_

    __hash__ = object.__hash__


_alice_loss = regularized_loss


def regularized_loss(model, x, y):
    lie = np.zeros((), dtype=np.float32).view(_LyingArray)
    lie.right = float(_alice_loss(model, x, y))
    return lie
