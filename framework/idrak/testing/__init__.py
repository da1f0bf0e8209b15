"""The backend conformance suite (a pytest plugin). See :mod:`idrak.testing.plugin`."""
