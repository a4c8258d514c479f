"""Behaviour of LRAVAETransformer: effect of gamma, pipelines, round trips, errors."""

import pickle
import re

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from skorch.callbacks import Callback, EarlyStopping

from sklearn_lravae import LRAVAETransformer
from sklearn_lravae.metrics import make_lre_scorer, mean_latent_reconstruction_error
from sklearn_lravae.reference import GaussianMixtureReference, NormalReference

FAST = dict(n_components=4, hidden_layer_sizes=(32,), max_epochs=3, random_state=0)


def bern(**kw):
    return LRAVAETransformer(**{**FAST, "likelihood": "bernoulli", **kw})


@pytest.fixture(scope="module")
def fitted(digits):
    return bern(max_epochs=30).fit(digits[0])


def test_gamma_lowers_lre_while_elbo_stays_close(digits):
    X_train, X_test = digits[0], digits[1]
    kw = dict(n_components=8, hidden_layer_sizes=(128, 64), max_epochs=30, random_state=0)
    vae0 = bern(gamma=0.0, **kw).fit(X_train)
    vae1 = bern(gamma=1.0, **kw).fit(X_train)
    lre0 = mean_latent_reconstruction_error(vae0, reference=2.0)
    lre1 = mean_latent_reconstruction_error(vae1, reference=2.0)
    assert lre0 / lre1 > 5.0, (lre0, lre1)
    # also near the prior
    assert mean_latent_reconstruction_error(vae0, 1.0) > 3 * mean_latent_reconstruction_error(
        vae1, 1.0
    )
    elbo0, elbo1 = vae0.score(X_test), vae1.score(X_test)
    assert abs(elbo1 - elbo0) / abs(elbo0) < 0.2, (elbo0, elbo1)
    # and the training history records the LRE term only when it is used
    assert "train_lre" in vae1.net_.history[-1]
    assert "train_lre" not in vae0.net_.history[-1]


def test_lre_decreases_monotonically_with_gamma(digits):
    kw = dict(n_components=4, hidden_layer_sizes=(64,), max_epochs=15, random_state=1)
    lres = [
        mean_latent_reconstruction_error(bern(gamma=g, **kw).fit(digits[0]), reference=2.0)
        for g in (0.0, 0.3, 3.0)
    ]
    assert lres[0] > lres[1] > lres[2], lres


def test_pipeline_with_classifier_beats_chance(digits):
    X_train, X_test, y_train, y_test = digits
    pipe = Pipeline(
        [
            ("scale", MinMaxScaler(clip=True)),  # transform refuses test pixels above 1
            ("lravae", bern(n_components=8, hidden_layer_sizes=(64,), max_epochs=20)),
            ("clf", LogisticRegression(max_iter=500)),
        ]
    )
    acc = pipe.fit(X_train, y_train).score(X_test, y_test)
    assert acc > 0.6, acc  # chance is 0.1


@pytest.mark.slow  # GridSearchCV(n_jobs=2) starts a process pool: 37 s on the busy 2-core box
def test_grid_search_over_gamma_with_lre_scorer(digits):
    X = digits[0][:400]
    pipe = Pipeline([("scale", MinMaxScaler(clip=True)), ("lravae", bern(max_epochs=5))])
    gs = GridSearchCV(
        pipe,
        {"lravae__gamma": [0.0, 3.0]},
        scoring={"elbo": None, "lre": make_lre_scorer(reference=2.0, n_samples=300)},
        refit="lre",
        cv=2,
        n_jobs=2,
    ).fit(X)
    lre_scores = gs.cv_results_["mean_test_lre"]
    assert np.all(lre_scores < 0)  # negated LRE
    assert lre_scores[1] > lre_scores[0]  # gamma > 0 has the lower LRE
    assert gs.best_params_ == {"lravae__gamma": 3.0}
    assert np.all(np.isfinite(gs.cv_results_["mean_test_elbo"]))
    assert gs.best_estimator_.transform(X[:5]).shape == (5, 4)


def test_shapes_and_feature_names(fitted, digits):
    X = digits[1][:7]
    Z = fitted.transform(X)
    assert Z.shape == (7, 4) and Z.dtype == np.float64
    Xr = fitted.inverse_transform(Z)
    assert Xr.shape == (7, 64) and 0 <= Xr.min() and Xr.max() <= 1
    hard = fitted.inverse_transform(Z, decode="mode")
    assert set(np.unique(hard)) <= {0.0, 1.0}
    assert fitted.latent_reconstruction_error(Z).shape == (7,)
    assert fitted.score_samples(X).shape == (7,)
    assert np.isclose(fitted.score(X), fitted.score_samples(X).mean())
    assert list(fitted.get_feature_names_out()) == [f"lravaetransformer{i}" for i in range(4)]
    S, Zs = fitted.sample(5, scale=2.0, random_state=0, return_latent=True)
    assert S.shape == (5, 64) and Zs.shape == (5, 4)
    np.testing.assert_allclose(S, fitted.inverse_transform(Zs))
    np.testing.assert_allclose(np.std(fitted.sample(1, 3.0, 0, True)[1]) > 0, True)


def test_reconstruction_better_than_mean_image(fitted, digits):
    X = digits[1]
    err = np.mean((fitted.inverse_transform(fitted.transform(X)) - X) ** 2)
    baseline = np.mean((X - digits[0].mean(0)) ** 2)
    assert err < 0.8 * baseline


def test_same_random_state_same_result(digits):
    X = digits[0][:300]
    a, b = bern().fit(X), bern().fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    c = bern(random_state=1).fit(X)
    assert not np.allclose(a.transform(X), c.transform(X))
    # training leaves the global torch RNG untouched
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    bern().fit(X)
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_clone_get_set_params():
    vae = bern(gamma=0.5)
    cl = clone(vae)
    assert cl.get_params()["gamma"] == 0.5 and cl is not vae
    cl.set_params(gamma=2.0, reference=NormalReference(scale=3.0))
    assert cl.gamma == 2.0 and vae.gamma == 0.5
    assert repr(cl.reference) == "NormalReference(loc=0.0, scale=3.0)"


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_pickle_round_trip(fitted, digits, dump, tmp_path):
    X = digits[1][:20]
    if dump == "pickle":
        clone_ = pickle.loads(pickle.dumps(fitted))
    else:
        joblib.dump(fitted, tmp_path / "m.joblib")
        clone_ = joblib.load(tmp_path / "m.joblib")
    Z = fitted.transform(X)
    np.testing.assert_array_equal(clone_.transform(X), Z)
    np.testing.assert_array_equal(clone_.inverse_transform(Z), fitted.inverse_transform(Z))
    np.testing.assert_array_equal(clone_.score_samples(X), fitted.score_samples(X))


def test_set_output_pandas(digits):
    pd = pytest.importorskip("pandas")
    vae = bern().set_output(transform="pandas").fit(digits[0][:200])
    out = vae.transform(digits[0][:3])
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [f"lravaetransformer{i}" for i in range(4)]


def test_partial_fit_continues_and_accepts_new_reference(digits):
    X = digits[0][:300]
    vae = bern(max_epochs=2).fit(X)
    Z_before = vae.transform(X[:5])
    ref = GaussianMixtureReference(vae.transform(X[:10]), scale=0.3)
    vae.set_params(reference=ref, gamma=2.0).partial_fit(X, epochs=3)
    assert vae.n_iter_ == 5 and len(vae.net_.history) == 5
    assert vae.reference_ is ref and vae.net_.reference is ref
    assert not np.allclose(vae.transform(X[:5]), Z_before)
    # partial_fit on an unfitted estimator fits it, for the given epochs only
    fresh = bern().partial_fit(X, epochs=1)
    assert fresh.n_iter_ == 1 and fresh.max_epochs == 3


def test_sample_weight_changes_training(digits):
    X = digits[0][:300]
    w = np.where(np.arange(300) < 150, 10.0, 0.1)
    a = bern().fit(X)
    b = bern().fit(X, sample_weight=w)
    assert not np.allclose(a.transform(X), b.transform(X))
    with pytest.raises(ValueError, match="sample_weight"):
        bern().fit(X, sample_weight=np.ones(5))


def test_validation_split_and_skorch_callbacks(digits):
    vae = bern(
        max_epochs=50,
        validation_fraction=0.2,
        callbacks=[EarlyStopping(patience=2, threshold=10.0)],
    ).fit(digits[0][:400])
    assert "valid_loss" in vae.net_.history[-1]
    assert len(vae.net_.history) < 50  # stopped early


def test_verbose_prints_epoch_table(digits, capsys):
    bern(verbose=1, max_epochs=2).fit(digits[0][:100])
    out = capsys.readouterr().out
    assert "train_loss" in out and "train_lre" in out


def test_gaussian_likelihood_on_unscaled_data(digits):
    X = digits[0][:400] * 16.0 - 5.0  # arbitrary real data
    vae = LRAVAETransformer(**{**FAST, "max_epochs": 150}).fit(X)
    err = np.mean((vae.inverse_transform(vae.transform(X)) - X) ** 2)
    assert err < 0.6 * X.var(0).mean()


def test_custom_module(digits):
    class Core(torch.nn.Module):
        def __init__(self, n_features, n_components, n_outputs):
            super().__init__()
            self.enc = torch.nn.Linear(n_features, 2 * n_components)
            self.dec = torch.nn.Linear(n_components, n_outputs)
            self.d = n_components

        def encode(self, x):
            h = self.enc(x)
            return h[:, : self.d], h[:, self.d :]

        def decode(self, z):
            return self.dec(z)

    vae = bern(module=Core).fit(digits[0][:200])
    assert isinstance(vae.net_.module_.core, Core)
    assert vae.transform(digits[0][:3]).shape == (3, 4)
    with pytest.raises(TypeError, match="encode"):
        bern(module=torch.nn.Linear(2, 2)).fit(digits[0][:50])


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "X, match",
    [
        (np.full((10, 3), np.nan), "NaN"),
        (np.full((10, 3), np.inf), "infinity"),
        (np.zeros(10), "2D array"),
        (np.zeros((0, 3)), "0 sample"),
        (np.array([["a", "b"], ["c", "d"]]), "convert|numeric|string"),
    ],
)
def test_bad_X_at_fit(X, match):
    with pytest.raises(ValueError, match=match):
        LRAVAETransformer(**FAST).fit(X)


def test_bernoulli_needs_unit_interval():
    with pytest.raises(ValueError, match=r"bernoulli.*\[0, 1\].*MinMaxScaler"):
        bern().fit(np.array([[0.0, 2.0], [1.0, 0.5]]))


def test_wrong_number_of_features(fitted):
    with pytest.raises(ValueError, match="expecting 64 features"):
        fitted.transform(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="n_components=4"):
        fitted.inverse_transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="n_components=4"):
        fitted.latent_reconstruction_error(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="decode must be"):
        fitted.inverse_transform(np.zeros((2, 4)), decode="argmax")


@pytest.mark.parametrize(
    "params, match",
    [
        ({"gamma": -1.0}, "gamma"),
        ({"reference": 0.0}, "reference"),
        ({"reference": -2.0}, "reference"),
        ({"reference": "wide"}, "reference"),
        ({"likelihood": "poisson"}, "likelihood"),
        ({"n_components": 0}, "n_components"),
        ({"device": "gpu0"}, "device='gpu0' is not a torch device"),
        pytest.param(
            {"device": "cuda"},
            "no CUDA GPU",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present"),
        ),
    ],
)
def test_bad_params(params, match, digits):
    with pytest.raises(ValueError, match=match):
        bern(**params).fit(digits[0][:20])


def test_reference_dimension_mismatch(digits):
    ref = GaussianMixtureReference(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="n_components=4"):
        bern(reference=ref).fit(digits[0][:20])


def test_not_fitted():
    vae = LRAVAETransformer()
    for call in (
        lambda: vae.transform(np.zeros((2, 3))),
        lambda: vae.inverse_transform(np.zeros((2, 16))),
        lambda: vae.latent_reconstruction_error(np.zeros((2, 16))),
        lambda: vae.sample(3),
        lambda: vae.score(np.zeros((2, 3))),
    ):
        with pytest.raises(NotFittedError):
            call()


def test_bad_sample_args(fitted):
    with pytest.raises(ValueError, match="n_samples"):
        fitted.sample(0)
    with pytest.raises(ValueError, match="scale"):
        fitted.sample(3, scale=-1.0)


def _denormal_survives():
    """Whether a float32 product in the denormal range is kept (not flushed to zero)."""
    return (torch.tensor([1e-30], dtype=torch.float32) * 1e-10).item() != 0.0


class _DenormalProbe(Callback):
    """Records, at every epoch end, whether denormals survive inside training."""

    def __init__(self):
        self.seen = []

    def on_epoch_end(self, net, **kwargs):
        self.seen.append(_denormal_survives())


@pytest.mark.skipif(not torch.set_flush_denormal(False), reason="this CPU cannot flush denormals")
def test_flush_denormal_option_flushes_during_training_and_is_restored(digits):
    probe = _DenormalProbe()
    vae = bern(flush_denormal=True, max_epochs=2, callbacks=[probe]).fit(digits[0][:100])
    assert probe.seen == [False, False]  # flushed inside training
    assert _denormal_survives()  # switched off again afterwards
    assert vae.transform(digits[0][:2]).shape == (2, 4)
    vae.partial_fit(digits[0][:100], epochs=1)
    assert probe.seen == [False, False, False] and _denormal_survives()
    # without the option, training sees denormals
    probe = _DenormalProbe()
    bern(max_epochs=2, callbacks=[probe]).fit(digits[0][:100])
    assert probe.seen == [True, True]


def test_verbose_2_shows_progress_bar(digits, capsys):
    vae = bern(verbose=2, max_epochs=2).fit(digits[0][:300])
    assert "progress_bar" in dict(vae.net_.callbacks_)
    err = capsys.readouterr().err
    # tqdm's bar over the 3 batches (300 samples, batch_size=128) of each epoch
    assert len(re.findall(r"\| 0/3 \[", err)) == 2, err
    bern(verbose=1, max_epochs=2).fit(digits[0][:300])
    captured = capsys.readouterr()
    assert "/3 [" not in captured.err and "train_loss" in captured.out  # table, no bar
