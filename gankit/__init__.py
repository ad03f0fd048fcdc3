"""gankit: a study kit of Generative Adversarial Networks on MNIST (TensorFlow 2 / Keras 3).

The package is split by what training needs; see docs/design.md for the tour.
"""

__version__ = "0.1.0"
