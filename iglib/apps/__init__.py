"""Command-line programs built on the library.

- ``python -m iglib.apps.runner``: run notebooks headless (fast or full mode), keep full runs.
- ``python -m iglib.apps.at_scale``: IG over a whole image folder or question set, sharded,
  resumable, on one device or many (``torchrun``).
- ``python -m iglib.apps.slides``: a notebook as a lecture deck.
"""
