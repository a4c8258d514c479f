"""save / load: exact round trips, and files that must be refused."""

import copy
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    PolynomialFeatures,
    StandardScaler,
)

from sklearn_lravae import LRAVAETransformer, load, save
from sklearn_lravae._version import __version__
from sklearn_lravae.chem import (
    SelfiesVectorizer,
    make_sequence_core,
    make_straight_through_core,
)
from sklearn_lravae.datasets import load_qm9
from sklearn_lravae.reference import GaussianMixtureReference, MixtureReference


@pytest.fixture(scope="module")
def vae(digits):
    ref = MixtureReference([GaussianMixtureReference(np.zeros((2, 3)), 0.3), 2.0], [0.3, 0.7])
    return LRAVAETransformer(
        3,
        likelihood="bernoulli",
        hidden_layer_sizes=(16,),
        max_epochs=3,
        reference=ref,
        random_state=0,
    ).fit(digits[0])


def test_transformer_round_trip_is_exact(vae, digits, tmp_path):
    X = digits[1]
    loaded = load(save(vae, tmp_path / "m.lravae"))
    Z = vae.transform(X)
    np.testing.assert_array_equal(loaded.transform(X), Z)
    np.testing.assert_array_equal(loaded.inverse_transform(Z), vae.inverse_transform(Z))
    np.testing.assert_array_equal(
        loaded.inverse_transform(Z, decode="mode"), vae.inverse_transform(Z, decode="mode")
    )
    np.testing.assert_array_equal(loaded.score_samples(X), vae.score_samples(X))
    np.testing.assert_array_equal(
        loaded.latent_reconstruction_error(Z), vae.latent_reconstruction_error(Z)
    )
    assert repr(loaded.get_params()) == repr(vae.get_params())
    assert (loaded.n_iter_, loaded.n_fit_calls_, loaded._seed) == (3, 1, vae._seed)
    assert loaded.net_.history[:, "train_loss"] == vae.net_.history[:, "train_loss"]
    # training continues identically (weights, optimiser state, seeds, history restored)
    a = copy.deepcopy(vae).partial_fit(digits[0], epochs=1)
    b = loaded.partial_fit(digits[0], epochs=1)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert a.net_.history[-1, "train_loss_best"] == b.net_.history[-1, "train_loss_best"]


def test_gaussian_pipeline_round_trip(tmp_path):
    X = np.random.RandomState(0).normal(size=(120, 6)) * [1, 2, 3, 4, 5, 6]
    pipe = make_pipeline(
        StandardScaler(),
        LRAVAETransformer(2, max_epochs=2, hidden_layer_sizes=(8,), random_state=0),
    ).fit(X)
    loaded = load(save(pipe, tmp_path / "g.lravae"))
    Z = pipe.transform(X)
    np.testing.assert_array_equal(loaded.transform(X), Z)
    np.testing.assert_array_equal(loaded.inverse_transform(Z), pipe.inverse_transform(Z))
    np.testing.assert_array_equal(
        loaded[-1].sample(5, random_state=1), pipe[-1].sample(5, random_state=1)
    )


def test_pipeline_with_selfies_round_trip(tmp_path):
    smiles = list(load_qm9(n_samples=300, random_state=0))
    pipe = make_pipeline(
        SelfiesVectorizer(),
        LRAVAETransformer(2, likelihood="categorical", max_epochs=2, random_state=0),
    ).fit(smiles)
    loaded = load(save(pipe, tmp_path / "p.lravae"))
    np.testing.assert_array_equal(loaded.transform(smiles[:20]), pipe.transform(smiles[:20]))
    Z = np.random.RandomState(0).standard_normal((10, 2))
    assert list(loaded.inverse_transform(Z)) == list(pipe.inverse_transform(Z))


@pytest.mark.parametrize(
    "factory",
    [
        lambda k: make_sequence_core(k, hidden_size=8, encoder_layer_sizes=(16,)),
        lambda k: make_straight_through_core(k, hidden_layer_sizes=(16,)),
        lambda k: make_straight_through_core(k, core=make_sequence_core(k, hidden_size=8)),
    ],
    ids=["sequence", "straight-through", "straight-through-sequence"],
)
def test_builtin_cores_round_trip(factory, tmp_path):
    X = np.eye(4)[np.random.RandomState(0).randint(4, size=(60, 5))].reshape(60, 20)
    vae = LRAVAETransformer(
        2, likelihood="categorical", module=factory(4), max_epochs=1, random_state=0
    ).fit(X)
    loaded = load(save(vae, tmp_path / "c.lravae"))
    assert loaded.module.func is vae.module.func
    assert repr(loaded.module.keywords) == repr(vae.module.keywords)
    np.testing.assert_array_equal(loaded.transform(X), vae.transform(X))
    Z = vae.transform(X)
    np.testing.assert_array_equal(loaded.inverse_transform(Z), vae.inverse_transform(Z))


class Core(torch.nn.Module):
    """A user-defined core: its code is not stored, load() needs it again."""

    def __init__(self, n_features, n_components, n_outputs, hidden=8):
        super().__init__()
        self.e = torch.nn.Linear(n_features, 2 * n_components)
        self.d = torch.nn.Sequential(
            torch.nn.Linear(n_components, hidden),
            torch.nn.Tanh(),
            torch.nn.Linear(hidden, n_outputs),
        )

    def encode(self, x):
        return self.e(x).chunk(2, dim=1)

    def decode(self, z):
        return self.d(z)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_model_loads_on_cpu_with_device(vae, digits, tmp_path):
    good = save(vae, tmp_path / "good.lravae")
    cuda = _tamper(good, tmp_path / "cuda.lravae", _set("params", "device", value="cuda"))
    with pytest.raises(ValueError, match="device 'cuda'.*load\\(path, device='cpu'\\)"):
        load(cuda)
    loaded = load(cuda, device="cpu")
    assert loaded.device == "cpu"
    np.testing.assert_array_equal(loaded.transform(digits[1]), vae.transform(digits[1]))


def test_custom_module_must_be_passed_at_load(digits, tmp_path):
    vae = LRAVAETransformer(2, module=Core, likelihood="bernoulli", max_epochs=1, random_state=0)
    path = save(vae.fit(digits[0][:100]), tmp_path / "x.lravae")
    match = r"custom module \((tests\.)?test_persistence\.Core\).*module="
    with pytest.raises(ValueError, match=match):
        load(path)
    loaded = load(path, module=Core)
    assert loaded.module is Core
    np.testing.assert_array_equal(loaded.transform(digits[1]), vae.transform(digits[1]))
    wrong = lambda **kw: Core(hidden=4, **kw)  # noqa: E731
    with pytest.raises(ValueError, match="do not fit the network"):
        load(path, module=wrong)


@pytest.mark.parametrize(
    "step",
    [
        MinMaxScaler(clip=True),
        PolynomialFeatures(2),
        PCA(3, random_state=0),
        ColumnTransformer([("s", StandardScaler(), [0, 1]), ("p", "passthrough", slice(2, 4))]),
    ],
    ids=lambda s: type(s).__name__,
)
def test_sklearn_steps_round_trip(step, digits, tmp_path):
    X = digits[0][:200, 20:24]
    pipe = make_pipeline(step).fit(X)
    loaded = load(save(pipe, tmp_path / "s.lravae"))
    np.testing.assert_array_equal(
        loaded.transform(digits[1][:, 20:24]), pipe.transform(digits[1][:, 20:24])
    )


def test_string_categories_keep_object_dtype(tmp_path):
    X = np.array([["a", "x"], ["b", "y"], ["a", "y"]], dtype=object)
    enc = OneHotEncoder(sparse_output=False).fit(X)
    loaded = load(save(enc, tmp_path / "o.lravae"))
    assert loaded.categories_[0].dtype == object
    np.testing.assert_array_equal(loaded.transform(X), enc.transform(X))
    np.testing.assert_array_equal(loaded.get_feature_names_out(), enc.get_feature_names_out())


def test_unfitted_pipeline(tmp_path):
    pipe = make_pipeline(MinMaxScaler(), LRAVAETransformer(2, likelihood="bernoulli"))
    loaded = load(save(pipe, tmp_path / "u.lravae"))
    assert not hasattr(loaded[-1], "net_")
    assert repr(loaded) == repr(pipe)


def _tamper(path, out, manifest_edit=None, extra=None):
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "manifest.json" and manifest_edit:
                m = json.loads(data)
                manifest_edit(m)
                data = json.dumps(m)
            if extra and item in extra:
                data = extra[item]
            zout.writestr(item, data)
    return out


class Boom:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def _set(*keys, value):
    def edit(m):
        d = m["object"]
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value

    return edit


@pytest.mark.parametrize(
    "edit, message",
    [
        (_set("__estimator__", value="os.system"), "refusing to load 'os.system'"),
        (_set("__estimator__", value="sklearn_lravae._cli.main"), "not an allowed class"),
        (_set("params", "optimizer", value={"__type__": "builtins.eval"}), "'builtins.eval'"),
        (
            _set(
                "params", "module", value={"__partial__": "os.system", "args": [], "keywords": {}}
            ),
            "'os.system'",
        ),
        (
            _set(
                "params",
                "module",
                value={"__partial__": "sklearn_lravae._cli.main", "args": [], "keywords": {}},
            ),
            "not an allowed class",
        ),
        (
            _set("fitted", "__class__", value={"__type__": "sklearn.pipeline.Pipeline"}),
            "bad attribute name '__class__'",
        ),
        (_set("fitted", "n_iter_", value={"__dtype__": "O"}), "object dtype"),
        (_set("fitted", "n_iter_", value={"__npscalar__": "O", "value": 1}), "scalar dtype"),
        (_set("net", "history", value="../../etc/passwd"), "malformed model file"),
        (_set("params", value=[]), "malformed model file"),
    ],
)
def test_tampered_manifests_are_rejected(vae, tmp_path, edit, message):
    good = save(vae, tmp_path / "good.lravae")
    with pytest.raises(ValueError, match=message):
        load(_tamper(good, tmp_path / "bad.lravae", edit))


def test_pickle_payloads_are_rejected(vae, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good = save(vae, tmp_path / "good.lravae")

    # a pickled object where tensors belong
    payload = io.BytesIO()
    torch.save({"x": Boom()}, payload)
    with pytest.raises(ValueError, match="holds more than tensors"):
        load(_tamper(good, tmp_path / "b.lravae", extra={"torch-0.pt": payload.getvalue()}))

    # an object array (pickle inside npz)
    arr = io.BytesIO()
    np.savez(arr, a0=np.array([Boom()], dtype=object))
    edit = _set("fitted", "n_iter_", value={"__ndarray__": "a0"})
    with pytest.raises(ValueError, match="pickle"):
        load(_tamper(good, tmp_path / "c.lravae", edit, {"arrays.npz": arr.getvalue()}))

    # a plain pickle file, and a joblib-style file with a .lravae name
    (tmp_path / "d.lravae").write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ValueError, match="not an sklearn-lravae model file"):
        load(tmp_path / "d.lravae")
    assert not (tmp_path / "pwned").exists()


def test_incompatible_versions_are_refused(vae, tmp_path):
    good = save(vae, tmp_path / "good.lravae")
    with zipfile.ZipFile(good) as zf:
        versions = json.loads(zf.read("manifest.json"))["versions"]
    assert versions["sklearn_lravae"] == __version__
    assert versions["torch"] == torch.__version__

    def other_format(m):
        m["format_version"] = 99
        m["versions"]["sklearn_lravae"] = "9.0"

    with pytest.raises(ValueError, match="format 99 \\(written by sklearn-lravae 9.0\\)"):
        load(_tamper(good, tmp_path / "n.lravae", other_format))

    def newer_package(m):
        m["versions"]["sklearn_lravae"] = "99.0"

    with pytest.raises(ValueError, match="written by sklearn-lravae 99.0, newer.*upgrade"):
        load(_tamper(good, tmp_path / "p.lravae", newer_package))

    def not_a_model(m):
        m["format"] = "something-else"

    with pytest.raises(ValueError, match="not an sklearn-lravae model file"):
        load(_tamper(good, tmp_path / "f.lravae", not_a_model))


def test_unsaveable_objects(vae, tmp_path):
    from skorch.callbacks import EpochTimer

    with pytest.raises(TypeError, match="callbacks"):
        save(LRAVAETransformer(callbacks=[EpochTimer()]), tmp_path / "c.lravae")
    with pytest.raises(TypeError, match="cannot save a value of type object"):
        save(LRAVAETransformer(reference=object()), tmp_path / "y.lravae")
    with pytest.raises(TypeError, match="class sklearn.linear_model._ridge.Ridge: load"):
        save(make_pipeline(StandardScaler(), Ridge()), tmp_path / "r.lravae")
    with pytest.raises(TypeError, match=r"class (tests\.)?test_persistence\.Core: load"):
        save(LRAVAETransformer(optimizer=Core), tmp_path / "o.lravae")
    assert not list(tmp_path.iterdir())  # no partial files are left behind
