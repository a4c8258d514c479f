import numpy as np
import pytest
import torch
from scipy import stats

from sklearn_lravae.reference import (
    GaussianMixtureReference,
    MixtureReference,
    NormalReference,
    check_reference,
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_normal_moments_and_log_prob():
    ref = NormalReference(loc=[1.0, -1.0], scale=[0.5, 2.0])
    z = ref.sample(20000, 2, generator=gen()).numpy()
    np.testing.assert_allclose(z.mean(0), [1.0, -1.0], atol=0.05)
    np.testing.assert_allclose(z.std(0), [0.5, 2.0], rtol=0.03)
    pts = np.array([[0.0, 0.0], [1.0, 2.0]])
    expected = stats.norm(1, 0.5).logpdf(pts[:, 0]) + stats.norm(-1, 2).logpdf(pts[:, 1])
    np.testing.assert_allclose(ref.log_prob(pts), expected)


def test_sampling_is_reproducible():
    ref = GaussianMixtureReference(np.eye(3), scale=0.3)
    np.testing.assert_array_equal(ref.sample(5, 3, gen(1)), ref.sample(5, 3, gen(1)))


def test_mixture_weights_select_components():
    ref = GaussianMixtureReference([[10.0, 0.0], [-10.0, 0.0]], scale=0.1, weights=[0.9, 0.1])
    z = ref.sample(5000, 2, generator=gen()).numpy()
    assert 0.87 < np.mean(z[:, 0] > 0) < 0.93
    # log_prob is a proper mixture density
    pt = np.array([[10.0, 0.0]])
    expected = np.log(0.9) + stats.multivariate_normal([10, 0], 0.01 * np.eye(2)).logpdf(pt)
    np.testing.assert_allclose(ref.log_prob(pt), expected, rtol=1e-6)


def test_mixture_of_references():
    ref = MixtureReference([GaussianMixtureReference([[5.0, 5.0]], scale=0.1), 1.0], [0.25, 0.75])
    z = ref.sample(4000, 2, generator=gen()).numpy()
    assert 0.22 < np.mean(z[:, 0] > 3.5) < 0.28
    pts = np.array([[0.0, 0.0], [5.0, 5.0]])
    expected = np.logaddexp(
        np.log(0.25) + GaussianMixtureReference([[5.0, 5.0]], scale=0.1).log_prob(pts),
        np.log(0.75) + NormalReference(scale=1.0).log_prob(pts),
    )
    np.testing.assert_allclose(ref.log_prob(pts), expected)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: NormalReference(scale=0.0), "scale must be positive"),
        (lambda: NormalReference(scale=[1.0, -1.0]), "scale must be positive"),
        (lambda: GaussianMixtureReference(np.zeros(3)), "2-D"),
        (lambda: GaussianMixtureReference(np.zeros((2, 2)), weights=[1, -1]), "weights"),
        (lambda: GaussianMixtureReference([[np.nan, 0.0]]), "finite"),
        (lambda: MixtureReference([]), "non-empty"),
        (lambda: check_reference(-1.0), "positive"),
    ],
)
def test_invalid_references(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_check_reference_types():
    assert isinstance(check_reference(2), NormalReference)
    with pytest.raises(TypeError, match="sample"):
        check_reference("broad")
    with pytest.raises(ValueError, match="n_components=3"):
        NormalReference(loc=[0.0, 0.0]).sample(4, 3)


def test_checkpoint_state_round_trip_is_json_and_exact():
    import json

    from sklearn_lravae.reference import reference_from_state, reference_to_state

    ref = MixtureReference(
        [
            GaussianMixtureReference(np.arange(6.0).reshape(3, 2), scale=0.3, weights=[1, 2, 3]),
            NormalReference(loc=[0.5, -0.5], scale=2.0),
        ],
        weights=[0.25, 0.75],
    )
    state = json.loads(json.dumps(reference_to_state(ref)))
    back = reference_from_state(state)
    Z = np.random.RandomState(0).normal(size=(50, 2))
    np.testing.assert_allclose(back.log_prob(Z), ref.log_prob(Z))
    np.testing.assert_allclose(back.sample(7, 2, gen(3)), ref.sample(7, 2, gen(3)))
    assert reference_from_state(reference_to_state(2.0)) == 2.0
    assert reference_to_state(object()) is None
    with pytest.raises(ValueError, match="unknown reference class 'os.system'"):
        reference_from_state({"class": "os.system", "params": {}})
