"""Decoder inversion (InvBO): the optimisation, the codec method and the search option."""

import copy

import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline

from sklearn_lravae import LRAVAETransformer
from sklearn_lravae.search import LatentBayesSearch
from sklearn_lravae.search._encode import LatentCodec
from sklearn_lravae.search._invert import invert_latents, reproduces
from sklearn_lravae.search._space import data_box


@pytest.fixture(scope="module")
def molecules():
    """A small SELFIES VAE (8 latents, 2,000 QM9 molecules, ~6 s) and its molecules."""
    from sklearn_lravae.chem import SelfiesVectorizer
    from sklearn_lravae.datasets import load_qm9

    smiles = list(load_qm9(n_samples=2000, random_state=0))
    vae = LRAVAETransformer(
        8, likelihood="categorical", hidden_layer_sizes=(128,), max_epochs=15, random_state=0
    )
    return make_pipeline(SelfiesVectorizer(), vae).fit(smiles), smiles


def _decoded_near_data(codec, smiles, n=200, noise=0.05, seed=0):
    """Objects decoded from encoded molecules moved by ``noise`` box widths."""
    Z = codec.encode(smiles[:n])
    box = data_box(codec.encode(smiles))
    width = box[:, 1] - box[:, 0]
    Z = Z + noise * width * np.random.RandomState(seed).standard_normal(Z.shape)
    return codec.decode(Z), width


def test_inversion_reproduces_molecules_more_often_than_reencoding(molecules):
    pipe, smiles = molecules
    codec = LatentCodec(pipe)
    objects, width = _decoded_near_data(codec, smiles)
    reencoded = codec.decode(codec.encode(objects))
    rate_encode = np.mean([reproduces(a, b) for a, b in zip(reencoded, objects)])
    Z, ok = codec.invert(objects, steps=50, lr=0.05, scale=width)
    rate_invert = ok.mean()
    # measured: 0.135 re-encoded, 0.39 inverted (200 molecules, 0.26 s)
    assert rate_invert >= rate_encode + 0.15, (rate_encode, rate_invert)
    # the flags are what decoding the inverted latents gives
    assert [reproduces(a, b) for a, b in zip(codec.decode(Z), objects)] == ok.tolist()
    # a molecule the encoder already reproduces stays reproduced
    assert ok[[reproduces(a, b) for a, b in zip(reencoded, objects)]].all()


def test_inversion_brings_decoded_images_closer_than_reencoding(digits_vae, digits):
    vae = digits_vae
    Z = vae.transform(digits[1][:50]) + 0.3
    X = vae.inverse_transform(Z)  # decoded objects
    Z0 = vae.transform(X)
    Zi, ll = invert_latents(vae, X, Z0, steps=50, lr=0.05)
    _, ll0 = invert_latents(vae, X, Z0, steps=0)
    err_encode = np.abs(vae.inverse_transform(Z0) - X).mean()
    err_invert = np.abs(vae.inverse_transform(Zi) - X).mean()
    assert np.all(ll >= ll0) and ll.mean() > ll0.mean()
    assert err_invert < 0.5 * err_encode, (err_encode, err_invert)


def test_inversion_leaves_the_network_unchanged(digits_vae, digits):
    vae = copy.deepcopy(digits_vae)
    vae.net_.module_.train()
    before = {k: v.clone() for k, v in vae.net_.module_.state_dict().items()}
    X = vae.inverse_transform(vae.transform(digits[1][:5]) + 0.3)
    invert_latents(vae, X, vae.transform(X), steps=10)
    after = vae.net_.module_.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert vae.net_.module_.training  # training flag restored
    assert all(p.grad is None for p in vae.net_.module_.parameters())


def _search(pipe, **kw):
    from sklearn_lravae.chem import qed

    params = dict(
        vectorized=True,
        n_calls=12,
        batch_size=3,
        trust_region=True,
        invert=True,
        random_state=0,
    )
    params.update(kw)
    return LatentBayesSearch(pipe, qed, **params)


def test_search_tells_inverted_latents(molecules):
    from sklearn_lravae.chem import qed

    pipe, smiles = molecules
    init = smiles[:20]
    s = _search(pipe).fit(init, qed(init))
    queried = np.array([h["latent"] for h in s.history_])
    told = s.latents_[s.n_initial_ :]
    flags = np.array([h["inverted"] for h in s.history_])
    assert s.n_inverted_ == flags.sum() >= 2
    # reproduced rows: a different latent that decodes to the evaluated molecule
    assert np.all(np.any(told[flags] != queried[flags], axis=1))
    objects = [h["object"] for h in s.history_]
    assert s.decode(told[flags]) == [o for o, f in zip(objects, flags) if f]
    np.testing.assert_array_equal(told[~flags], queried[~flags])
    # initial objects: the encoding where it reproduces them, else an inversion that does
    enc = s._codec.encode(init)
    by_encoder = np.array([reproduces(a, b) for a, b in zip(s.decode(enc), init)])
    np.testing.assert_array_equal(s.latents_[:20][by_encoder], enc[by_encoder])
    changed = np.flatnonzero(np.any(s.latents_[:20] != enc, axis=1))
    assert [s.decode(s.latents_[i : i + 1])[0] for i in changed] == [init[i] for i in changed]
    # without inversion the queried points are told
    plain = _search(pipe, invert=False).fit(init, qed(init))
    np.testing.assert_array_equal(
        plain.latents_[20:], np.array([h["latent"] for h in plain.history_])
    )
    assert plain.n_inverted_ == 0 and {h["inverted"] for h in plain.history_} == {None}


def test_resume_across_inversion_retraining_and_a_region_restart(molecules, tmp_path):
    from sklearn_lravae.chem import qed

    pipe, smiles = molecules
    init, train = smiles[:15], smiles[:200]
    kw = dict(
        retrain_every=6,
        retrain_epochs=1,
        trust_region_kwargs=dict(length_min=0.3, failure_tolerance=1, n_candidates=200),
    )
    full = _search(pipe, n_calls=15, **kw).fit(init, qed(init), train_objects=train)
    assert full._region.state()["n_restarts"] >= 1 and full.n_retrain_rounds_ == 2
    assert full.n_inverted_ > 0
    ck = tmp_path / "ck"
    _search(pipe, n_calls=9, checkpoint=ck, **kw).fit(init, qed(init), train_objects=train)
    resumed = _search(pipe, n_calls=15, checkpoint=ck, **kw)
    resumed.fit(init, qed(init), train_objects=train, resume=True)
    assert [h["object"] for h in resumed.history_] == [h["object"] for h in full.history_]
    assert [h["inverted"] for h in resumed.history_] == [h["inverted"] for h in full.history_]
    np.testing.assert_allclose(resumed.latents_, full.latents_, atol=1e-6)
    assert resumed._region.state() == full._region.state()


def test_ask_tell_with_inversion(molecules):
    from sklearn_lravae.chem import qed

    pipe, smiles = molecules
    s = _search(pipe, n_calls=0).fit(smiles[:10], qed(smiles[:10]))
    Z = s.ask(6)
    objects = s.decode(Z)
    s.tell(Z, qed(objects))  # latents: inverted where that reproduces the molecule
    s.tell(objects, qed(objects), kind="objects")  # the same molecules, told as objects
    flags = [h["inverted"] for h in s.history_]
    assert len(flags) == 12 and flags[:6] == flags[6:]  # the same inversion either way
    assert any(flags[:6]), "no proposal could be inverted: the last checks would be vacuous"
    told = s.latents_[10:]
    np.testing.assert_allclose(told[:6][flags[:6]], told[6:][flags[:6]])
    assert s.decode(told[:6][flags[:6]]) == [o for o, f in zip(objects, flags) if f]


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"invert": "yes"}, ValueError, "invert"),
        ({"inversion_steps": -1}, ValueError, "inversion_steps"),
        ({"inversion_lr": 0.0}, ValueError, "inversion_lr"),
    ],
)
def test_bad_inversion_parameters(digits_vae, digits, distance, params, error, match):
    with pytest.raises(error, match=match):
        LatentBayesSearch(digits_vae, distance, n_calls=1, **params).fit(digits[0][:3])


def test_inversion_of_numeric_objects_in_a_search(digits_vae, digits, distance):
    s = LatentBayesSearch(digits_vae, distance, n_calls=4, invert=True, random_state=0)
    s.fit(digits[1][1:11])
    flags = [h["inverted"] for h in s.history_]
    assert all(isinstance(f, bool) for f in flags)
    told = s.latents_[s.n_initial_ :]
    for h, z, f in zip(s.history_, told, flags):
        if f:  # told an inverted point only where it decodes to the object within 1e-3
            assert reproduces(s.decode(z[None])[0], h["object"])
        else:
            np.testing.assert_array_equal(z, h["latent"])
