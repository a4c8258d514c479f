"""Torch modules of _network: MLP / sequence / straight-through cores, VAE, build_core."""

import functools

import numpy as np
import pytest
import torch
from torch import nn

from sklearn_lravae import LRAVAETransformer
from sklearn_lravae._likelihood import BernoulliLikelihood, CategoricalLikelihood
from sklearn_lravae._network import (
    VAE,
    MLPCore,
    SequenceCore,
    StraightThroughCore,
    build_core,
    make_sequence_core,
    make_straight_through_core,
)
from sklearn_lravae.chem import SelfiesVectorizer, validity
from sklearn_lravae.datasets import load_qm9


def test_mlp_core_shapes_and_mirrored_layers():
    torch.manual_seed(0)
    core = MLPCore(n_features=10, n_components=3, n_outputs=12, hidden_layer_sizes=(8, 5))
    mu, logvar = core.encode(torch.randn(4, 10))
    assert mu.shape == logvar.shape == (4, 3)
    assert core.decode(mu).shape == (4, 12)
    enc = [(m.in_features, m.out_features) for m in core.encoder if isinstance(m, nn.Linear)]
    dec = [(m.in_features, m.out_features) for m in core.decoder if isinstance(m, nn.Linear)]
    assert enc == [(10, 8), (8, 5), (5, 6)]
    assert dec == [(3, 5), (5, 8), (8, 12)]
    # activations between layers, none after the last one
    assert isinstance(core.encoder[-2], nn.ReLU) and isinstance(core.encoder[-1], nn.Linear)
    tanh = MLPCore(4, 2, 4, (3,), activation=nn.Tanh)
    assert isinstance(tanh.encoder[1], nn.Tanh)
    assert len(MLPCore(4, 2, 4, ()).encoder) == 1  # no hidden layer: one linear map


def test_vae_forward_is_one_reparameterised_pass():
    torch.manual_seed(0)
    vae = VAE(MLPCore(6, 2, 6, (8,)), BernoulliLikelihood(6))
    x = torch.rand(5, 6)
    torch.manual_seed(1)
    out, mu, logvar, z = vae(x)
    torch.manual_seed(1)
    eps = torch.randn(5, 2)
    torch.testing.assert_close(z, mu + torch.exp(0.5 * logvar) * eps)
    torch.testing.assert_close(out, vae.decode(z))
    torch.testing.assert_close(vae.encode(x)[0], mu)
    torch.testing.assert_close(vae.decode_mean(z), torch.sigmoid(vae.decode(z)))
    torch.testing.assert_close(vae.decode_mode(z), (vae.decode(z) > 0).float())


def test_build_core():
    core = build_core(None, 6, 2, 7, (4,))
    assert isinstance(core, MLPCore) and core.decode(torch.zeros(1, 2)).shape == (1, 7)
    given = MLPCore(6, 2, 7, (3,))
    assert build_core(given, 6, 2, 7, (4,)) is given  # an instance is used as given
    seen = {}

    def factory(**kw):
        seen.update(kw)
        return MLPCore(hidden_layer_sizes=(3,), **kw)

    assert isinstance(build_core(factory, 6, 2, 7, (4,)), MLPCore)
    assert seen == {"n_features": 6, "n_components": 2, "n_outputs": 7}
    with pytest.raises(TypeError, match="Linear has no 'encode' method"):
        build_core(nn.Linear(2, 2), 6, 2, 7, (4,))


def test_sequence_core_shapes_and_decode_depends_on_z_only():
    torch.manual_seed(0)
    core = SequenceCore(
        n_features=12,
        n_components=2,
        n_outputs=12,
        n_categories=3,
        hidden_size=8,
        num_layers=2,
        encoder_layer_sizes=(8,),
    )
    assert core.n_positions == 4 and core.gru.num_layers == 2
    mu, logvar = core.encode(torch.rand(5, 12))
    assert mu.shape == logvar.shape == (5, 2)
    out = core.decode(mu)
    assert out.shape == (5, 12)
    torch.testing.assert_close(core.decode(mu), out)  # deterministic, no teacher forcing
    torch.testing.assert_close(core.decode(mu[:1]), out[:1])  # rows are independent
    with pytest.raises(ValueError, match="n_categories=5 does not divide n_outputs=12"):
        SequenceCore(12, 2, 12, n_categories=5)


def test_make_sequence_core():
    factory = make_sequence_core(3, hidden_size=8, num_layers=1, encoder_layer_sizes=[16])
    assert isinstance(factory, functools.partial)
    core = factory(n_features=12, n_components=2, n_outputs=12)
    assert isinstance(core, SequenceCore) and core.hidden_size == 8
    assert core.encoder[0].out_features == 16
    for bad in ({"n_categories": 0}, {"n_categories": 3, "hidden_size": 2.5}):
        with pytest.raises(ValueError, match="must be a positive integer"):
            make_sequence_core(**bad)


def test_straight_through_encoder_sees_hard_inputs_and_passes_gradients():
    torch.manual_seed(0)
    inner = MLPCore(6, 2, 6, (8,))
    core = StraightThroughCore(inner, n_categories=3)
    soft = torch.tensor([[0.6, 0.3, 0.1, 0.2, 0.2, 0.6], [0.1, 0.5, 0.4, 0.4, 0.35, 0.25]])
    hard = torch.tensor([[1.0, 0.0, 0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0, 0.0, 0.0]])
    # forward: exactly the inner core on the argmax one-hot
    torch.testing.assert_close(core.encode(soft)[0], inner.encode(hard)[0], rtol=0, atol=0)
    torch.testing.assert_close(core.encode(hard)[1], inner.encode(hard)[1], rtol=0, atol=0)
    # backward: the gradient at the soft input is the inner core's gradient at the hard one
    soft.requires_grad_(True)
    core.encode(soft)[0].sum().backward()
    hard_in = hard.clone().requires_grad_(True)
    inner.encode(hard_in)[0].sum().backward()
    assert soft.grad.abs().sum() > 0
    torch.testing.assert_close(soft.grad, hard_in.grad)
    torch.testing.assert_close(core.decode(torch.zeros(1, 2)), inner.decode(torch.zeros(1, 2)))


def test_make_straight_through_core():
    core = make_straight_through_core(3, hidden_layer_sizes=(4,))(
        n_features=12, n_components=2, n_outputs=12
    )
    assert isinstance(core, StraightThroughCore) and isinstance(core.core, MLPCore)
    assert core.core.encoder[0].out_features == 4
    wrapped = make_straight_through_core(3, core=make_sequence_core(3, hidden_size=4))(
        n_features=12, n_components=2, n_outputs=12
    )
    assert isinstance(wrapped.core, SequenceCore)
    with pytest.raises(ValueError, match="n_categories=5 does not divide n_features=12"):
        make_straight_through_core(5)(n_features=12, n_components=2, n_outputs=12)
    with pytest.raises(ValueError, match="n_categories must be an integer >= 2"):
        make_straight_through_core(1)


def test_likelihood_and_core_combine_for_categorical_data():
    vae = VAE(MLPCore(6, 2, 6, (4,)), CategoricalLikelihood(6, 3))
    z = torch.randn(3, 2)
    mean = vae.decode_mean(z).reshape(3, 2, 3)
    torch.testing.assert_close(mean.sum(-1), torch.ones(3, 2))
    mode = vae.decode_mode(z).reshape(3, 2, 3)
    assert torch.equal(mode.argmax(-1), mean.argmax(-1))
    assert torch.equal(mode.sum(-1), torch.ones(3, 2))


# ---------------------------------------------------------- cores on molecules
@pytest.fixture(scope="module")
def qm9_500():
    return load_qm9(n_samples=500, random_state=0)


def test_sequence_core_trains_and_decodes_valid(qm9_500):
    vec = SelfiesVectorizer().fit(qm9_500)
    X = vec.transform(qm9_500)
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


def test_straight_through_core_measures_hard_decode(qm9_500):
    vec = SelfiesVectorizer().fit(qm9_500[:400])
    X = vec.transform(qm9_500[:400])
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
