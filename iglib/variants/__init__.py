"""Integrated Gradients off the straight line, and beyond first order.

- :mod:`~iglib.variants.guided_ig`: Guided IG (Kapishnikov et al. 2021), a path that moves the
  features with the smallest gradients first.
- :mod:`~iglib.variants.blur_ig`: Blur IG (Xu et al. 2020), the path through the Gaussian
  scale-space, from a blurred image to the image.
- :mod:`~iglib.variants.integrated_hessians`: Integrated Hessians (Janizek et al. 2021), the
  interaction of every pair of features; each row sums to that feature's IG.

Each builds on the core (:mod:`iglib.paths`, :mod:`iglib.forward`, :mod:`iglib.quadrature`) and
nothing above it.
"""
