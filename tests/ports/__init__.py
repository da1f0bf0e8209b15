"""Small programs in the style of well-known PyTorch examples, written against ``torch``; each
has exactly one ``import torch`` line, which ``tests/test_ports.py`` swaps for
``import idrak as torch`` to run the same program on idrak and compare."""
