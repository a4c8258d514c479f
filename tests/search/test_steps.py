"""Loop steps: retraining triggers ("auto" schedule, new best, Crystal-LSBO threshold)."""

import numpy as np
import pytest

from sklearn_lravae.search import LatentBayesSearch

# scripted objective values; the initial values are [1, 2, 3]
VALUES = [1.0, 3.5, 2.0, 4.0, 4.0, 0.5]
#: new bests (above every value before): 3.5 and the first 4.0 (a tie is not new)
NEW_BEST = [False, True, False, True, False, False]


class Scripted:
    """Returns VALUES in turn, whatever the object."""

    def __init__(self):
        self.values = iter(VALUES)

    def __call__(self, x):
        return next(self.values)


def _search(vae, X0, train=None, **kw):
    s = LatentBayesSearch(vae, Scripted(), n_calls=len(VALUES), retrain_epochs=1, random_state=0)
    return s.set_params(**kw).fit(X0, y=[1.0, 2.0, 3.0], train_objects=train)


def _rounds_after(triggers):
    """retrain_round of each evaluation when the VAE is retrained right after each trigger."""
    return [int(n) for n in np.concatenate([[0], np.cumsum(triggers)[:-1]])]


def test_new_best_trigger_retrains_exactly_at_each_new_best(digits_vae, digits):
    X0, train = digits[0][:3], digits[0][100:200]
    s = _search(digits_vae, X0, train, retrain_every=None, retrain_on_best=True)
    assert [h["value"] for h in s.history_] == VALUES
    assert s.n_retrain_rounds_ == sum(NEW_BEST) == 2
    assert [h["retrain_round"] for h in s.history_] == _rounds_after(NEW_BEST)
    assert s.estimator_.n_iter_ == digits_vae.n_iter_ + 2  # one epoch per retraining
    # it is a trigger of its own: without train_objects it retrains just the same
    alone = _search(digits_vae, X0, retrain_every=None, retrain_on_best=True)
    assert [h["retrain_round"] for h in alone.history_] == _rounds_after(NEW_BEST)


def test_auto_retraining_follows_train_objects(digits_vae, digits):
    X0, train = digits[0][:3], digits[0][100:200]
    on = _search(digits_vae, X0, train)  # defaults: retrain_every="auto", retrain_on_best="auto"
    assert (on.retrain_every_, on.retrain_on_best_) == (50, True)
    assert [h["retrain_round"] for h in on.history_] == _rounds_after(NEW_BEST)
    off = _search(digits_vae, X0)
    assert (off.retrain_every_, off.retrain_on_best_) == (None, False)
    assert off.n_retrain_rounds_ == 0 and off.estimator_.n_iter_ == digits_vae.n_iter_
    # an explicit schedule is that schedule alone
    every = _search(digits_vae, X0, train, retrain_every=3)
    assert (every.retrain_every_, every.retrain_on_best_) == (3, False)
    assert [h["retrain_round"] for h in every.history_] == [0, 0, 0, 1, 1, 1]
    # retrain_on_best=False keeps only the every-50 schedule (nothing in 6 calls)
    assert _search(digits_vae, X0, train, retrain_on_best=False).n_retrain_rounds_ == 0


def test_crystal_lsbo_threshold_is_quantile_one(digits_vae, digits):
    """retrain_quantile=1: retrain whenever a value beats the best *initial* value (3)."""
    s = _search(digits_vae, digits[0][:3], retrain_every=None, retrain_quantile=1.0)
    beats = [v > 3.0 for v in VALUES]
    assert s.n_retrain_rounds_ == sum(beats) == 3
    assert [h["retrain_round"] for h in s.history_] == _rounds_after(beats)


def test_new_best_trigger_survives_resume(digits_vae, digits, tmp_path):
    """The trigger flag is state: a run stopped after a new best retrains on resume as before."""
    X0, train = digits[0][:3], digits[0][100:200]
    full = _search(digits_vae, X0, train)
    ck = tmp_path / "ck"
    part = LatentBayesSearch(
        digits_vae, Scripted(), n_calls=2, retrain_epochs=1, random_state=0, checkpoint=ck
    ).fit(X0, y=[1.0, 2.0, 3.0], train_objects=train)
    assert part.n_retrain_rounds_ == 1
    scripted = Scripted()
    for _ in range(2):
        next(scripted.values)  # the first two values were evaluated before the stop
    resumed = LatentBayesSearch(
        digits_vae, scripted, n_calls=len(VALUES), retrain_epochs=1, random_state=0, checkpoint=ck
    ).fit(X0, y=[1.0, 2.0, 3.0], train_objects=train, resume=True)
    assert [h["retrain_round"] for h in resumed.history_] == [
        h["retrain_round"] for h in full.history_
    ]
    np.testing.assert_allclose(resumed.latents_, full.latents_, atol=1e-6)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"retrain_every": "sometimes"}, "retrain_every"),
        ({"retrain_on_best": "yes"}, "retrain_on_best"),
        ({"retrain_quantile": 1.5}, "retrain_quantile"),
    ],
)
def test_bad_retraining_parameters(digits_vae, digits, distance, params, match):
    with pytest.raises(ValueError, match=match):
        LatentBayesSearch(digits_vae, distance, n_calls=1, **params).fit(digits[0][:3])


@pytest.mark.parametrize("lre_decode", ["auto", "mean"])
def test_retraining_a_selfies_vae_uses_its_own_lre_decode(lre_decode):
    """Retraining goes through the estimator's LRE setting (auto: straight-through argmax)."""
    from sklearn.pipeline import make_pipeline

    from sklearn_lravae import LRAVAETransformer
    from sklearn_lravae.chem import SelfiesVectorizer, qed
    from sklearn_lravae.datasets import load_qm9

    smiles = list(load_qm9(n_samples=300, random_state=0))
    vae = LRAVAETransformer(
        4,
        likelihood="categorical",
        hidden_layer_sizes=(32,),
        max_epochs=2,
        lre_decode=lre_decode,
        random_state=0,
    )
    pipe = make_pipeline(SelfiesVectorizer(), vae).fit(smiles)
    s = LatentBayesSearch(
        pipe, qed, vectorized=True, n_calls=4, batch_size=2, retrain_every=2, random_state=0
    ).fit(smiles[:6], qed(smiles[:6]), train_objects=smiles[:100])
    assert s.n_retrain_rounds_ == 2
    retrained = s.estimator_[-1]
    assert retrained.lre_decode == lre_decode and retrained.n_iter_ == 2 + 2 * 3
    assert np.isfinite(retrained.net_.history[-1, "train_lre"])
