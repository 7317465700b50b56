"""MMM domain: the ``mmm_fit`` graph asset and its blocking ``mmm_converged`` check."""
