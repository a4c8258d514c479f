"""Fixtures shared by the tests of ``sklearn_lravae.search``."""

import numpy as np
import pytest

from sklearn_lravae import LRAVAETransformer


class Distance:
    """Objective: negative squared distance of the decoded image to a target image.

    A module-level class (not a closure) so that loky / dask workers can unpickle it.
    """

    def __init__(self, target):
        self.target = target

    def __call__(self, x):
        return -float(np.sum((np.asarray(x) - self.target) ** 2))


@pytest.fixture(scope="session")
def digits_vae(digits):
    """A 4-D Bernoulli VAE trained on the digits' training split (20 epochs)."""
    vae = LRAVAETransformer(
        4, likelihood="bernoulli", hidden_layer_sizes=(64,), max_epochs=20, random_state=0
    )
    return vae.fit(digits[0])


@pytest.fixture(scope="session")
def target(digits):
    """The image the searches try to reproduce (the first test digit)."""
    return digits[1][0]


@pytest.fixture(scope="session")
def distance(target):
    """``Distance(target)``: higher is closer to the target image."""
    return Distance(target)
