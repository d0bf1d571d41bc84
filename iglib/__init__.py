"""iglib: Integrated Gradients you can run (Sundararajan, Taly and Yan, ICML 2017)."""
