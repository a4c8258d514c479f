"""Tests of sklearn_lravae.chem: vectoriser, objectives, metrics, sequence core, pipeline."""

import importlib.util
import os

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import QED, Crippen, RDConfig, rdFingerprintGenerator
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_lravae import LRAVAETransformer
from sklearn_lravae.chem import (
    SelfiesVectorizer,
    generation_metrics,
    internal_diversity,
    logp,
    make_sequence_core,
    make_straight_through_core,
    novelty,
    penalized_logp,
    qed,
    sa_score,
    uniqueness,
    validity,
)
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


@pytest.fixture(scope="module")
def sascorer():
    path = os.path.join(RDConfig.RDContribDir, "SA_Score", "sascorer.py")
    spec = importlib.util.spec_from_file_location("sascorer_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


# ------------------------------------------------------------------ objectives
def test_objectives_equal_rdkit(sascorer):
    mols = [Chem.MolFromSmiles(s) for s in KNOWN]
    np.testing.assert_allclose(qed(KNOWN), [QED.qed(m) for m in mols], rtol=1e-12)
    np.testing.assert_allclose(logp(KNOWN), [Crippen.MolLogP(m) for m in mols], rtol=1e-12)
    sa = [sascorer.calculateScore(m) for m in mols]
    np.testing.assert_allclose(sa_score(KNOWN), sa, rtol=1e-12)
    rings = [max([len(r) for r in m.GetRingInfo().AtomRings()] or [0]) for m in mols]
    penalty = [max(r - 6, 0) for r in rings]
    assert penalty == [0, 0, 0, 0, 4, 0, 0]
    raw = np.array([Crippen.MolLogP(m) for m in mols]) - np.array(sa) - np.array(penalty)
    np.testing.assert_allclose(penalized_logp(KNOWN), raw, rtol=1e-12)
    std = (
        (np.array([Crippen.MolLogP(m) for m in mols]) - 2.4570953396190123) / 1.434324401111988
        + (-np.array(sa) + 3.0525811293166134) / 0.8335207024513095
        + (-np.array(penalty) + 0.0485696876403053) / 0.2860212110245455
    )
    np.testing.assert_allclose(penalized_logp(KNOWN, standardize=True), std, rtol=1e-12)


def test_objectives_known_values():
    # published / hand-checked values
    np.testing.assert_allclose(logp(["c1ccccc1"]), [1.6866], atol=1e-4)
    np.testing.assert_allclose(qed(["CC(=O)Oc1ccccc1C(=O)O"]), [0.5501], atol=1e-4)
    assert sa_score(["c1ccccc1"])[0] == pytest.approx(1.0)


def test_objectives_nan_for_invalid_and_n_jobs():
    smiles = ["CCO", "C1CC", "", None, "c1ccccc1"]
    for fn in (qed, logp, sa_score, penalized_logp):
        out = fn(smiles)
        assert out.shape == (5,) and out.dtype == np.float64
        np.testing.assert_array_equal(np.isnan(out), [False, True, True, True, False])
    np.testing.assert_array_equal(qed(KNOWN * 3, n_jobs=2), qed(KNOWN * 3))
    with pytest.raises(TypeError, match="single string"):
        qed("CCO")
    with pytest.raises(TypeError, match="standardize"):
        penalized_logp(["CCO"], standardize="yes")


# ---------------------------------------------------------------------- metrics
def test_generation_metrics_values():
    gen = ["CCO", "OCC", "c1ccccc1", "C1CC", "", "CCN"]
    assert validity(gen) == pytest.approx(4 / 6)
    assert uniqueness(gen) == pytest.approx(3 / 4)
    assert novelty(gen, training_smiles=["C(C)O", "CCCC"]) == pytest.approx(2 / 3)
    gen_fp = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [gen_fp.GetFingerprint(Chem.MolFromSmiles(s)) for s in ["CCO", "OCC", "c1ccccc1", "CCN"]]
    sims = [
        DataStructs.TanimotoSimilarity(fps[i], fps[j]) for i in range(4) for j in range(i + 1, 4)
    ]
    assert internal_diversity(gen) == pytest.approx(1 - np.mean(sims))
    m = generation_metrics(gen, training_smiles=["CCCC"])
    assert m["novelty"] == 1.0 and m["validity"] == pytest.approx(4 / 6)
    assert np.isnan(generation_metrics(gen)["novelty"])
    assert np.isnan(validity([])) and np.isnan(uniqueness(["xx"]))
    sub = internal_diversity(gen * 10, max_samples=5, random_state=0)
    assert sub == internal_diversity(gen * 10, max_samples=5, random_state=0)
    with pytest.raises(ValueError, match="radius"):
        internal_diversity(gen, radius=0)


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


def test_sequence_core_trains_and_decodes_valid(qm9_2000):
    vec = SelfiesVectorizer().fit(qm9_2000[:500])
    X = vec.transform(qm9_2000[:500])
    vae = LRAVAETransformer(
        4,
        likelihood="categorical",
        module=make_sequence_core(vec.n_tokens_, hidden_size=32, encoder_layer_sizes=(64,)),
        gamma=0.1,
        max_epochs=2,
        batch_size=64,
        random_state=0,
    ).fit(X)
    core = vae.net_.module_.core
    assert type(core).__name__ == "SequenceCore" and core.n_positions == vec.n_positions_
    first = vae.net_.history[0, "train_nll"]
    assert vae.net_.history[-1, "train_nll"] < first
    assert validity(vec.inverse_transform(vae.sample(100, random_state=0))) == 1.0
    with pytest.raises(ValueError, match="n_categories=5 does not divide"):
        LRAVAETransformer(
            2, likelihood="categorical", module=make_sequence_core(5), max_epochs=1
        ).fit(X)
    with pytest.raises(ValueError, match="n_categories must be a positive integer"):
        make_sequence_core(0)


def test_straight_through_core_measures_hard_decode(qm9_2000):
    vec = SelfiesVectorizer().fit(qm9_2000[:400])
    X = vec.transform(qm9_2000[:400])
    vae = LRAVAETransformer(
        4,
        likelihood="categorical",
        module=make_straight_through_core(vec.n_tokens_, hidden_layer_sizes=(32,)),
        gamma=0.5,
        max_epochs=2,
        batch_size=64,
        random_state=0,
    ).fit(X)
    core = vae.net_.module_.core
    assert type(core).__name__ == "StraightThroughCore"
    assert vae.net_.history[-1, "train_lre"] > 0
    Z = np.random.RandomState(0).normal(size=(50, 4))
    soft = vae.latent_reconstruction_error(Z, decode="mean")
    hard = vae.latent_reconstruction_error(Z, decode="mode")
    np.testing.assert_allclose(soft, hard, rtol=1e-5)
    # transform of probabilities == transform of their argmax one-hot
    P = vae.inverse_transform(Z)
    H = vae.inverse_transform(Z, decode="mode")
    np.testing.assert_allclose(vae.transform(P), vae.transform(H), rtol=1e-5)
    with pytest.raises(ValueError, match="n_categories=7 does not divide"):
        LRAVAETransformer(2, likelihood="categorical", module=make_straight_through_core(7)).fit(X)
    with pytest.raises(ValueError, match="n_categories must be an integer >= 2"):
        make_straight_through_core(1)


def test_vectorizer_all_rows_dropped_keeps_the_width():
    from sklearn_lravae.chem import SelfiesVectorizer

    vec = SelfiesVectorizer(on_long="drop", on_error="drop").fit(["CCO", "CCN"])
    X = vec.transform(["CCCCCCCCCCCC", "not a smiles"])
    assert X.shape == (0, vec.n_positions_ * vec.n_tokens_)
    assert vec.dropped_indices_.tolist() == [0, 1]
