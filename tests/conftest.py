import numpy as np
import pytest
from sklearn.datasets import load_digits


@pytest.fixture(scope="session")
def digits():
    """Digits scaled to [0, 1], split into train / test (fixed)."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return X[:1400], X[1400:], y[:1400], y[1400:]


@pytest.fixture
def rng():
    return np.random.RandomState(0)
