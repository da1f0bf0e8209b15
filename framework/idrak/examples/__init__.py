"""Runnable examples: ``python -m idrak.examples.NAME``.

- ``fashion_mnist``: an MLP or a small CNN on Fashion-MNIST with Config, Runner and Experiment.
- ``names``: character-level language models on a names file (bigram counts, then an MLP).
- ``linear_regression``: the smallest end-to-end example (one Linear layer, SGD).

Each module has a ``main(argv)`` that returns its results, so tests can run it in-process.
"""
