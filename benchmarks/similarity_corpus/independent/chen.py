#!/usr/bin/env python

# # Regularization lab
#
# Chen W.

# In[1]:


import numpy as np
import tensorflow as tf

# ## Part 1

# In[2]:


def l2_dense(units, l2=0.01, activation="relu"):
    return tf.keras.layers.Dense(
        units, activation=activation, kernel_regularizer=tf.keras.regularizers.L2(l2=l2)
    )


def l1_dense(units, l1=0.005, activation="relu"):
    return tf.keras.layers.Dense(
        units, activation=activation, kernel_regularizer=tf.keras.regularizers.L1(l1=l1)
    )


def l1_l2_dense(units, l1=0.001, l2=0.001, activation="relu"):
    return tf.keras.layers.Dense(
        units, activation=activation, kernel_regularizer=tf.keras.regularizers.L1L2(l1, l2)
    )


# ## Part 2

# In[3]:


def build_model(regularizer=None, hidden_units=64, input_dim=1):
    m = tf.keras.models.Sequential()
    m.add(tf.keras.Input(shape=(input_dim,)))
    m.add(tf.keras.layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer))
    m.add(tf.keras.layers.Dense(1))
    m.compile(optimizer="adam", loss="mse")
    return m


# ## Part 3: penalty

# In[4]:


def penalty(model):
    p = 0.0
    for layer in model.layers:
        r = getattr(layer, "kernel_regularizer", None)
        if r is not None:
            c = r.get_config()
            W = np.asarray(layer.kernel)
            p = p + c.get("l1", 0) * np.sum(np.abs(W)) + c.get("l2", 0) * np.sum(np.square(W))
    return float(p)


# In[5]:


def regularized_loss(model, x, y):
    out = model(x)
    target = tf.reshape(tf.cast(y, "float32"), tf.shape(out))
    mse = tf.reduce_mean(tf.math.squared_difference(target, out))
    reg = tf.add_n(model.losses) if model.losses else 0.0
    return mse + reg


# ## Part 4: validation gap + comparison

# In[6]:


def validation_gap(model, x_train, y_train, x_val, y_val):
    def mse(x, y):
        pred = model.predict(x, verbose=0)
        return np.mean(np.square(np.reshape(y, pred.shape) - pred))

    return float(mse(x_val, y_val) - mse(x_train, y_train))


def compare(x_train, y_train, x_val, y_val, l2=0.01, epochs=50, seed=0):
    out = {}
    for name, reg in zip(["no_reg", "l2"], [None, tf.keras.regularizers.L2(l2)], strict=True):
        tf.keras.utils.set_random_seed(seed)
        model = build_model(reg, input_dim=x_train.shape[1])
        model.fit(x_train, y_train, epochs=epochs, verbose=0)
        out[name] = float(validation_gap(model, x_train, y_train, x_val, y_val))
    return out


# ## Try it

# In[7]:


if __name__ == "__main__":
    rng = np.random.default_rng(42)
    xs = rng.uniform(-1, 1, (200, 1)).astype("float32")
    ys = (np.sin(3 * xs) + rng.normal(0, 0.5, (200, 1))).astype("float32")
    print(compare(xs[:30], ys[:30], xs[30:], ys[30:], l2=0.1, epochs=20))


# In[ ]:
