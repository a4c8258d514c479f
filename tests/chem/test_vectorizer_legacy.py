"""SelfiesVectorizer: round trips, padding, invalid and long molecules, pipelines with the VAE.

The vectoriser tests of the former ``tests/test_chem.py``, kept apart until they are merged
with ``test_vectorizer.py``. Objectives, metrics and the sequence / straight-through cores
have their own modules (``test_objectives``, ``test_metrics``, ``tests/test_network.py``).
"""

import numpy as np
import pytest
from rdkit import Chem
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_lravae import LRAVAETransformer
from sklearn_lravae.chem import SelfiesVectorizer, validity
from sklearn_lravae.datasets import load_qm9

KNOWN = [
    "CCO",
    "c1ccccc1",
    "CC(=O)Oc1ccccc1C(=O)O",  # aspirin
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",  # caffeine
    "C1CCCCCCCCC1",  # 10-ring: cycle penalty 4
    "O=C(O)C[C@@H](N)C(=O)O",  # stereo
    "C[N+](C)(C)C",  # charged
]


def _canon(smiles):
    return [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in smiles]


@pytest.fixture(scope="module")
def qm9_2000():
    return load_qm9(n_samples=2000, random_state=0)


# ------------------------------------------------------------------ vectoriser
def test_round_trip_qm9_is_exact(qm9_2000):
    vec = SelfiesVectorizer()
    X = vec.fit_transform(qm9_2000)
    assert X.dtype == np.float32
    assert X.shape == (2000, vec.n_positions_ * vec.n_tokens_)
    blocks = X.reshape(2000, vec.n_positions_, vec.n_tokens_)
    np.testing.assert_array_equal(blocks.sum(-1), 1.0)
    assert vec.alphabet_[0] == "[nop]" and vec.vocabulary_["[nop]"] == 0
    assert vec.n_tokens_ == len(vec.alphabet_) == len(vec.vocabulary_)
    # longest molecule fills every position: no padding in its row
    assert (blocks[:, :, 0] == 0).all(axis=1).any()
    decoded = vec.inverse_transform(X)
    assert isinstance(decoded, np.ndarray) and decoded.shape == (2000,)
    assert decoded.tolist() == _canon(qm9_2000)  # 100% exact
    np.testing.assert_array_equal(vec.transform(qm9_2000), X)


def test_inverse_transform_accepts_probabilities_and_3d():
    vec = SelfiesVectorizer().fit(KNOWN)
    X = vec.transform(KNOWN)
    rng = np.random.RandomState(0)
    noise = rng.dirichlet(np.ones(vec.n_tokens_), size=X.size // vec.n_tokens_)
    noisy = 0.6 * X + 0.4 * noise.reshape(X.shape)  # argmax unchanged: 0.6 + ... > 0.4
    assert vec.inverse_transform(noisy).tolist() == _canon(KNOWN)
    X3 = X.reshape(len(KNOWN), vec.n_positions_, vec.n_tokens_)
    assert vec.inverse_transform(X3).tolist() == _canon(KNOWN)
    assert vec.to_selfies(X[:1]).tolist() == ["[C][C][O]"]


def test_padding_anywhere_is_skipped_and_all_padding_is_empty():
    vec = SelfiesVectorizer().fit(["CCO"])
    K = vec.n_tokens_
    idx = [vec.vocabulary_[t] for t in ["[C]", "[nop]", "[O]"]]
    X = np.eye(K, dtype=np.float32)[idx].reshape(1, -1)
    assert vec.inverse_transform(X).tolist() == ["CO"]
    # argmax without any atom token: position 0 takes its best atom token
    X0 = np.full((1, 3, K), 0.01, dtype=np.float32)
    X0[0, :, 0] = 1.0
    X0[0, 0, vec.vocabulary_["[O]"]] = 0.5
    X0 = X0.reshape(1, -1)
    assert vec.to_selfies(X0).tolist() == ["[O]"]
    assert vec.inverse_transform(X0).tolist() == ["O"]
    assert validity(["", None]) == 0.0


def test_feature_names():
    vec = SelfiesVectorizer().fit(["CO"])
    names = vec.get_feature_names_out()
    assert names.tolist() == ["pos0_[nop]", "pos0_[C]", "pos0_[O]"] + [
        "pos1_[nop]",
        "pos1_[C]",
        "pos1_[O]",
    ]


def test_invalid_smiles_raise_with_indices():
    with pytest.raises(ValueError, match=r"cannot parse.*indices \[1, 3\].*on_error='drop'"):
        SelfiesVectorizer().fit(["CCO", "C1CC", "CCN", "not a smiles"])


def test_invalid_smiles_dropped_and_reported():
    vec = SelfiesVectorizer(on_error="drop")
    X = vec.fit_transform(["CCO", "C1CC", None, "CCN"])
    assert X.shape[0] == 2
    assert vec.dropped_indices_.tolist() == [1, 2]
    assert vec.inverse_transform(X).tolist() == ["CCO", "CCN"]
    Xt = vec.transform(["xx", "NCC"])
    assert vec.dropped_indices_.tolist() == [0]
    assert vec.inverse_transform(Xt).tolist() == ["CCN"]


def test_unknown_tokens_at_transform():
    vec = SelfiesVectorizer().fit(["CCO"])
    with pytest.raises(ValueError, match=r"outside the fitted alphabet: indices \[1\]"):
        vec.transform(["CO", "CF"])
    vec.set_params(on_error="drop")
    assert vec.transform(["CO", "CF"]).shape[0] == 1
    assert vec.dropped_indices_.tolist() == [1]


def test_long_molecules_policies():
    smiles = ["CC", "CCCCCC", "CCO"]
    with pytest.raises(ValueError, match=r"more than max_length=3.*indices \[1\]"):
        SelfiesVectorizer(max_length=3).fit(smiles)
    vec = SelfiesVectorizer(max_length=3, on_long="drop")
    assert vec.fit_transform(smiles).shape == (2, 3 * vec.n_tokens_)
    assert vec.dropped_indices_.tolist() == [1]
    vec = SelfiesVectorizer(max_length=3, on_long="truncate")
    X = vec.fit_transform(smiles)
    assert vec.truncated_indices_.tolist() == [1]
    assert vec.inverse_transform(X).tolist() == ["CC", "CCC", "CCO"]
    # learned length, longer molecule at transform
    vec = SelfiesVectorizer().fit(["CC"])
    with pytest.raises(ValueError, match="max_length=2"):
        vec.transform(["CCC"])


def test_fixed_alphabet_and_bad_input():
    vec = SelfiesVectorizer(alphabet=["[O]", "[C]"], max_length=4).fit(["C"])
    assert vec.alphabet_.tolist() == ["[nop]", "[C]", "[O]"]
    assert vec.n_positions_ == 4
    with pytest.raises(TypeError, match=r"single string.*\['CCO'\]"):
        vec.transform("CCO")
    with pytest.raises(TypeError, match="index 1"):
        vec.transform(["CCO", 3])
    with pytest.raises(ValueError, match="X has 5 features.*4 \\* 3 = 12"):
        vec.inverse_transform(np.zeros((1, 5)))
    with pytest.raises(ValueError, match="duplicate"):
        SelfiesVectorizer(alphabet=["[C]", "[C]"]).fit(["C"])
    with pytest.raises(ValueError, match="on_long"):
        SelfiesVectorizer(on_long="cut").fit(["C"])


# ------------------------------------------------------------- VAE on molecules
@pytest.fixture(scope="module")
def fitted_pipeline(qm9_2000):
    ref = SelfiesVectorizer().fit(qm9_2000)  # alphabet / length of all 2000
    pipe = make_pipeline(
        SelfiesVectorizer(alphabet=ref.alphabet_.tolist(), max_length=ref.n_positions_),
        LRAVAETransformer(
            4,
            likelihood="categorical",
            hidden_layer_sizes=(64,),
            gamma=0.1,
            max_epochs=4,
            batch_size=64,
            random_state=0,
        ),
    )
    return pipe.fit(qm9_2000[:800])


def test_pipeline_round_trip_and_prior_samples_valid(fitted_pipeline, qm9_2000):
    pipe = fitted_pipeline
    vec, vae = pipe[0], pipe[1]
    Z = pipe.transform(qm9_2000[800:900])
    assert Z.shape == (100, 4) and np.isfinite(Z).all()
    decoded = pipe.inverse_transform(Z)
    assert decoded.shape == (100,) and all(isinstance(s, str) for s in decoded)
    assert validity(decoded) == 1.0
    prior = vec.inverse_transform(vae.sample(300, random_state=0))
    assert validity(prior) == 1.0  # SELFIES: every decode is a molecule
    wide = vec.inverse_transform(vae.sample(300, scale=2.0, random_state=1))
    assert validity(wide) == 1.0
    # same random_state -> same molecules
    again = vec.inverse_transform(vae.sample(300, random_state=0))
    assert again.tolist() == prior.tolist()
    lre = vae.latent_reconstruction_error(Z, decode="mode")
    assert lre.shape == (100,) and (lre >= 0).all()
    assert pipe.get_feature_names_out().tolist() == [f"lravaetransformer{i}" for i in range(4)]


def test_pipeline_grid_search_over_gamma(qm9_2000):
    ref = SelfiesVectorizer().fit(qm9_2000[:600])
    pipe = make_pipeline(
        SelfiesVectorizer(alphabet=ref.alphabet_.tolist(), max_length=ref.n_positions_),
        LRAVAETransformer(
            2,
            likelihood="categorical",
            n_categories=ref.n_tokens_,
            hidden_layer_sizes=(32,),
            max_epochs=2,
            batch_size=64,
            random_state=0,
        ),
    )
    search = GridSearchCV(pipe, {"lravaetransformer__gamma": [0.0, 1.0]}, cv=2)
    search.fit(qm9_2000[:600])
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and scores.shape == (2,)
    assert search.best_params_["lravaetransformer__gamma"] in (0.0, 1.0)
    assert search.best_estimator_.inverse_transform(np.zeros((1, 2)))[0] != ""
    assert clone(pipe).get_params()["selfiesvectorizer__max_length"] == ref.n_positions_


def test_vectorizer_all_rows_dropped_keeps_the_width():
    from sklearn_lravae.chem import SelfiesVectorizer

    vec = SelfiesVectorizer(on_long="drop", on_error="drop").fit(["CCO", "CCN"])
    X = vec.transform(["CCCCCCCCCCCC", "not a smiles"])
    assert X.shape == (0, vec.n_positions_ * vec.n_tokens_)
    assert vec.dropped_indices_.tolist() == [0, 1]
