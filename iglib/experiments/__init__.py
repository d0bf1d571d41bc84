"""The paper's experiments: the networks, their data, and what is computed on them.

- :mod:`~iglib.experiments.imagenet`: EfficientNet-Lite0 (ImageNet) and the paper's images.
- :mod:`~iglib.experiments.text`: question classification and English-German translation.
"""
