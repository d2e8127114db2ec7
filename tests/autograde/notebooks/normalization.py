#!/usr/bin/env python
# coding: utf-8

# # Question 1: Batch and Layer Normalization

# In[1]:


get_ipython().system('pip install -q tensorflow==2.9')
get_ipython().run_line_magic('matplotlib', 'inline')


# In[2]:


import numpy as np
import tensorflow as tf
from tensorflow.keras import layers
np.random.seed(0)
X = np.random.rand(5, 5)
EPS = 1e-3


# In[3]:


def batch_norm(x, eps=EPS):
    mean = x.mean(axis=0)
    var = x.var(axis=0)
    return (x - mean) / np.sqrt(var + eps)


def layer_norm(x, eps=EPS):
    mean = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def show(name, m):
    print(name)
    print(np.round(m, 3))


# In[4]:


show('batch norm', batch_norm(X))
bn = layers.BatchNormalization(epsilon=EPS)
show('keras', bn(X, training=True).numpy())
get_ipython().run_cell_magic('time', '', 'ln = layers.LayerNormalization(epsilon=EPS)\nshow("keras ln", ln(X).numpy())\n')


# In[ ]:




