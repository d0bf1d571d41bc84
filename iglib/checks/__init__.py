"""Checks an attribution can be put to.

- :mod:`~iglib.checks.axioms`: the paper's axioms as executable checks, run on any method.
- :mod:`~iglib.checks.evaluation`: faithfulness (deletion and insertion curves, their areas),
  and comparing two maps (rank correlation, top-k overlap, a call counter).
- :mod:`~iglib.checks.sanity`: the model-randomisation sanity check (Adebayo et al. 2018).
- :mod:`~iglib.checks.roar`: remove and retrain (Hooker et al. 2019).

They call the core and the methods; nothing below them imports them.
"""
