"""Write the notebook fixtures of tests/autograde/test_notebooks.py (run: python make_fixtures.py).

They imitate what students of the Keras course handed in from Colab in 2022: ``!pip install``, Google
Drive mounted at the top, ``%matplotlib inline``, datasets loaded and models trained at top level,
``tuner.search(...)``, prints and plots, helper functions with their own names next to the asked ones,
a cell with a syntax error, and ``.py`` files exported by Colab and by nbconvert. The test checks that
the committed files are what this script writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat import v3, v4

HERE = Path(__file__).resolve().parent

COLAB_METADATA = {
    "colab": {"provenance": [], "collapsed_sections": []},
    "kernelspec": {"name": "python3", "display_name": "Python 3"},
    "language_info": {"name": "python"},
    "accelerator": "GPU",
}


def _notebook(cells: list[tuple[str, str]], colab_name: str, outputs: dict[int, str] | None = None):
    """A v4 notebook from ``(kind, source)`` pairs with deterministic cell ids; ``outputs`` maps a cell
    index (from 0) to the text it printed."""
    nb_cells = []
    for i, (kind, source) in enumerate(cells):
        cell = v4.new_markdown_cell(source) if kind == "md" else v4.new_code_cell(source)
        cell.id = f"c{i:02d}"
        if kind == "code" and outputs and i in outputs:
            cell.outputs = [v4.new_output("stream", name="stdout", text=outputs[i])]
            cell.execution_count = i
        nb_cells.append(cell)
    metadata = {**COLAB_METADATA, "colab": {**COLAB_METADATA["colab"], "name": colab_name}}
    return v4.new_notebook(cells=nb_cells, metadata=metadata, nbformat_minor=5)


FASHION_TUNER = [  # hw14.q4, named Q4.ipynb; only its title cell says which homework
    ("md", "# HW14 - Q4\nHyper-parameter tuning on Fashion-MNIST with keras-tuner"),
    ("code", "!pip install -q -U keras-tuner\n!nvidia-smi"),
    ("code", "from google.colab import drive\ndrive.mount('/content/drive')"),
    ("code", "import numpy as np\nimport matplotlib.pyplot as plt\nimport tensorflow as tf\n"
             "from tensorflow import keras\nimport keras_tuner as kt\n%matplotlib inline"),
    ("code", "(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()\n"
             "x_train = x_train.astype('float32') / 255.0\nx_test = x_test.astype('float32') / 255.0\n"
             "print(x_train.shape, x_test.shape)"),
    ("code", "class_names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',\n"
             "               'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']\n"
             "EPOCHS = 50\nLEARNING_RATES = [1e-4, 5e-4, 1e-3, 5e-3, 1e-2]\nINPUT_SHAPE = x_train.shape[1:]"),
    ("md", "## Baseline"),
    ("code", "def build_baseline(units=128):\n    model = keras.Sequential([\n"
             "        keras.layers.Flatten(input_shape=(28, 28)),\n"
             "        keras.layers.Dense(units, activation='relu'),\n        keras.layers.Dense(10)\n    ])\n"
             "    model.compile(optimizer='adam',\n"
             "                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),\n"
             "                  metrics=['accuracy'])\n    return model\n\n"
             "baseline = build_baseline()\n"
             "history = baseline.fit(x_train, y_train, epochs=EPOCHS, validation_split=0.2)"),
    ("md", "## Tuning the hidden layer and the learning rate"),
    ("code", "def build_model(hp):\n    model = keras.Sequential()\n"
             "    model.add(keras.layers.Flatten(input_shape=(28, 28)))\n"
             "    hp_units = hp.Int('units', min_value=16, max_value=512, step=16)\n"
             "    model.add(keras.layers.Dense(units=hp_units, activation='relu'))\n"
             "    model.add(keras.layers.Dense(10))\n"
             "    hp_learning_rate = hp.Choice('learning_rate', values=LEARNING_RATES)\n"
             "    model.compile(optimizer=keras.optimizers.Adam(learning_rate=hp_learning_rate),\n"
             "                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),\n"
             "                  metrics=['accuracy'])\n    return model"),
    ("code", "tuner = kt.BayesianOptimization(build_model, objective='val_accuracy', max_trials=3,\n"
             "                                directory='/content/drive/MyDrive/hw14', project_name='q4')\n"
             "stop_early = tf.keras.callbacks.EarlyStopping(monitor='val_loss', patience=5)\n"
             "tuner.search(x_train, y_train, epochs=EPOCHS, validation_split=0.2, callbacks=[stop_early])"),
    ("code", "best_hps = tuner.get_best_hyperparameters(num_trials=1)[0]\n"
             "print(f\"best units: {best_hps.get('units')}, lr: {best_hps.get('learning_rate')}\"\n"
             "model = tuner.hypermodel.build(best_hps)"),
    ("code", "%%time\nhistory = model.fit(x_train, y_train, epochs=EPOCHS, validation_split=0.2)"),
    ("code", "def plot_history(history):\n    plt.figure(figsize=(10, 4))\n"
             "    plt.plot(history.history['accuracy'], label='train')\n"
             "    plt.plot(history.history['val_accuracy'], label='validation')\n"
             "    plt.legend()\n    plt.show()\n\nplot_history(history)"),
    ("code", "test_loss, test_acc = model.evaluate(x_test, y_test, verbose=2)\nprint('Test accuracy:', test_acc)"),
]

CIFAR_TUNER = [  # hw6.q4, named HW6_Q4_Ali_Rezaei.ipynb
    ("md", "# Keras Tuner on CIFAR-10"),
    ("code", "!pip install keras-tuner --upgrade"),
    ("code", "import tensorflow as tf\nfrom tensorflow import keras\nfrom tensorflow.keras import layers\n"
             "import keras_tuner\nfrom sklearn.metrics import classification_report, confusion_matrix\n"
             "import seaborn as sns"),
    ("code", "(x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()\n"
             "x_train, x_test = x_train / 255.0, x_test / 255.0"),
    ("code", "def conv_block(x, filters, pooling, dropout):\n    for _ in range(2):\n"
             "        x = layers.Conv2D(filters, 3, padding='same')(x)\n"
             "        x = layers.BatchNormalization()(x)\n        x = layers.ReLU()(x)\n"
             "    x = layers.MaxPooling2D()(x) if pooling == 'max' else layers.AveragePooling2D()(x)\n"
             "    return layers.Dropout(dropout)(x)\n\n\n"
             "def build_model(hp):\n    inputs = keras.Input(shape=(32, 32, 3))\n    x = inputs\n"
             "    for i in range(hp.Int('conv_blocks', 3, 5)):\n"
             "        x = conv_block(x, hp.Int(f'filters_{i}', 32, 128, step=32),\n"
             "                       hp.Choice(f'pooling_{i}', ['max', 'avg']), hp.Choice('dropout', [0.3, 0.4, 0.5]))\n"
             "    x = layers.GlobalAveragePooling2D()(x)\n"
             "    x = layers.Dense(hp.Int('units', 64, 256, step=32), activation='relu')(x)\n"
             "    outputs = layers.Dense(10, activation='softmax')(x)\n    model = keras.Model(inputs, outputs)\n"
             "    model.compile(keras.optimizers.Adam(hp.Choice('lr', [1e-2, 1e-3, 1e-4])),\n"
             "                  'sparse_categorical_crossentropy', metrics=['accuracy'])\n    return model"),
    ("code", "tuner = keras_tuner.RandomSearch(build_model, objective='val_accuracy', max_trials=5)\n"
             "tuner.search(x_train, y_train, epochs=5, validation_data=(x_test, y_test),\n"
             "             callbacks=[keras.callbacks.EarlyStopping(patience=2)])\ntuner.results_summary()"),
    ("code", "best = tuner.get_best_models(1)[0]\ny_pred = best.predict(x_test).argmax(axis=1)\n"
             "print(classification_report(y_test, y_pred))\n"
             "sns.heatmap(confusion_matrix(y_test, y_pred), annot=True, fmt='d')"),
]

HW14_ALL = [  # hw14 q1..q4 in one notebook
    ("md", "# Homework 14\nAll four questions."),
    ("code", "!pip install -q keras-tuner gensim\nfrom google.colab import files\nuploaded = files.upload()"),
    ("code", "import numpy as np\nimport tensorflow as tf\nfrom tensorflow import keras\n"
             "from tensorflow.keras import layers\nimport gensim.downloader as api\n%load_ext tensorboard"),
    ("md", "## Q1 - GloVe"),
    ("code", "glove = api.load('glove-wiki-gigaword-100')\n\n"
             "def cosine_distance(u, v):\n    return 1 - np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))\n\n"
             "def analogy(model, a, b, c, topn=1):\n"
             "    return model.most_similar(positive=[a, b], negative=[c], topn=topn)\n\n"
             "for w in ['john', 'iran', 'laptop']:\n    print(w, glove.most_similar(w, topn=10))"),
    ("md", "## Q2 - Triplet loss"),
    ("code", "MARGIN = 0.4\n\ndef build_embedding_net(input_shape=(28, 28, 1)):\n"
             "    return keras.Sequential([layers.Conv2D(32, 3, activation='relu', input_shape=input_shape),\n"
             "                             layers.Flatten(), layers.Dense(10)])\n\n"
             "def triplet_loss(anchor, positive, negative, margin=MARGIN):\n"
             "    d_pos = tf.reduce_sum(tf.square(anchor - positive), axis=-1)\n"
             "    d_neg = tf.reduce_sum(tf.square(anchor - negative), axis=-1)\n"
             "    return tf.maximum(d_pos - d_neg + margin, 0.0)"),
    ("md", "## Q3 - ResNet on DermaMNIST"),
    ("code", "def build_resnet14(input_shape=(28, 28, 3), num_classes=7):\n"
             "    inputs = keras.Input(input_shape)\n    x = layers.Conv2D(16, 3, padding='same')(inputs)\n"
             "    x = layers.GlobalAveragePooling2D()(x)\n"
             "    return keras.Model(inputs, layers.Dense(num_classes, activation='softmax')(x))\n\n"
             "def class_weights(labels):\n    counts = np.bincount(labels)\n"
             "    return {i: len(labels) / (len(counts) * c) for i, c in enumerate(counts)}"),
    ("md", "## Q4 - Keras Tuner"),
    ("code", "def build_model(hp):\n    model = keras.Sequential([layers.Flatten(input_shape=(28, 28)),\n"
             "        layers.Dense(hp.Int('units', 16, 512, step=16), activation='relu'), layers.Dense(10)])\n"
             "    model.compile(keras.optimizers.Adam(hp.Choice('lr', [1e-4, 5e-4, 1e-3, 5e-3, 1e-2])),\n"
             "                  keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=['accuracy'])\n"
             "    return model"),
]

UNNAMED_TUNER = [  # build_model and nothing that says which homework: truly ambiguous
    ("md", "# Keras Tuner"),
    ("code", "import keras_tuner as kt\nfrom tensorflow import keras"),
    ("code", "def build_model(hp):\n    model = keras.Sequential([keras.layers.Flatten(),\n"
             "        keras.layers.Dense(hp.Int('units', 32, 256, step=32), activation='relu'),\n"
             "        keras.layers.Dense(10, activation='softmax')])\n"
             "    model.compile('adam', 'sparse_categorical_crossentropy', metrics=['accuracy'])\n    return model"),
    ("code", "tuner = kt.RandomSearch(build_model, 'val_accuracy', max_trials=2)\ntuner.search_space_summary()"),
]

# nbconvert --to script of an hw6.q1 notebook: markers, get_ipython() calls, markdown as comments
NBCONVERT_EXPORT = '''#!/usr/bin/env python
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
get_ipython().run_cell_magic('time', '', 'ln = layers.LayerNormalization(epsilon=EPS)\\nshow("keras ln", ln(X).numpy())\\n')


# In[ ]:




'''

# Colab's File > Download > .py of an hw14.q4 notebook: shell lines and magics stay as they were
COLAB_EXPORT = '''# -*- coding: utf-8 -*-
"""HW14_Q4.ipynb

Automatically generated by Colaboratory.

Original file is located at
    https://colab.research.google.com/drive/1Xq2hZ0example

# HW14 - Q4 (keras-tuner, Fashion-MNIST)
"""

!pip install -q -U keras-tuner

from google.colab import drive
drive.mount('/content/drive')

import tensorflow as tf
from tensorflow import keras
import keras_tuner as kt
import matplotlib.pyplot as plt
%matplotlib inline

(img_train, label_train), (img_test, label_test) = keras.datasets.fashion_mnist.load_data()
img_train = img_train.astype('float32') / 255.0

"""## Model builder"""

def build_model(hp):
  model = keras.Sequential()
  model.add(keras.layers.Flatten(input_shape=(28, 28)))
  model.add(keras.layers.Dense(units=hp.Int('units', min_value=16, max_value=512, step=16), activation='relu'))
  model.add(keras.layers.Dense(10))
  model.compile(optimizer=keras.optimizers.Adam(learning_rate=hp.Choice('learning_rate', values=[1e-2, 1e-3, 1e-4])),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=['accuracy'])
  return model

tuner = kt.BayesianOptimization(build_model, objective='val_accuracy', max_trials=3)

tuner.search(img_train, label_train, epochs=50, validation_split=0.2); print("done")

"""## Results"""

best_hps = tuner.get_best_hyperparameters(num_trials=1)[0]
files = !ls /content/drive/MyDrive
for f in files:
  !echo {f}
'''


def _v3_normalization():
    """An hw6.q1 notebook in format 3 (an old Jupyter), with a heading cell and a worksheet."""
    cells = [
        v3.new_heading_cell("HW6 - Q1: normalization", level=1),
        v3.new_code_cell(input="import numpy as np\n%matplotlib inline"),
        v3.new_code_cell(input="def batch_norm(x, eps=1e-3):\n    return (x - x.mean(0)) / np.sqrt(x.var(0) + eps)\n"),
        v3.new_code_cell(input="print(batch_norm(np.eye(5)))"),
    ]
    return v3.new_notebook(worksheets=[v3.new_worksheet(cells=cells)], metadata=v3.new_metadata(name="normalization"))


def build(out: Path) -> list[Path]:
    """Write every fixture into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, cells, colab_name, outputs in (
        ("Q4.ipynb", FASHION_TUNER, "Q4.ipynb", {4: "(60000, 28, 28) (10000, 28, 28)\n"}),
        ("HW6_Q4_Ali_Rezaei.ipynb", CIFAR_TUNER, "Copy of tuner.ipynb", None),
        ("HW14.ipynb", HW14_ALL, "HW14.ipynb", None),
        ("model.ipynb", UNNAMED_TUNER, "model.ipynb", None),
    ):
        path = out / name
        path.write_text(nbformat.writes(_notebook(cells, colab_name, outputs)) + "\n", encoding="utf-8")
        written.append(path)
    path = out / "normalization_v3.ipynb"
    path.write_text(v3.writes_json(_v3_normalization()) + "\n", encoding="utf-8")
    written.append(path)
    for name, text in (("normalization.py", NBCONVERT_EXPORT), ("HW14_Q4.py", COLAB_EXPORT)):
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(p)
