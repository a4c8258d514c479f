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
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from sklearn_lravae import LRAVAETransformer, load, save
from sklearn_lravae.chem import SelfiesVectorizer
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
    np.testing.assert_array_equal(loaded.score_samples(X), vae.score_samples(X))
    assert loaded.get_params().keys() == vae.get_params().keys()
    assert repr(loaded.reference) == repr(vae.reference)
    # training continues identically (weights, optimiser state, seeds restored)
    a = copy.deepcopy(vae).partial_fit(digits[0], epochs=1)
    b = loaded.partial_fit(digits[0], epochs=1)
    np.testing.assert_allclose(a.transform(X), b.transform(X), atol=1e-6)


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


def test_scaler_pipeline_and_unfitted(digits, tmp_path):
    pipe = make_pipeline(
        MinMaxScaler(clip=True), LRAVAETransformer(2, likelihood="bernoulli", max_epochs=1)
    )
    unfitted = load(save(pipe, tmp_path / "u.lravae"))
    assert not hasattr(unfitted[-1], "net_")
    pipe.fit(digits[0])
    loaded = load(save(pipe, tmp_path / "f.lravae"))
    np.testing.assert_array_equal(loaded.transform(digits[1]), pipe.transform(digits[1]))


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


def test_malicious_files_are_rejected(vae, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good = save(vae, tmp_path / "good.lravae")

    # 1. a class outside the allowlist
    def evil_class(m):
        m["object"]["__estimator__"] = "os.system"

    with pytest.raises(ValueError, match="refusing to load 'os.system'"):
        load(_tamper(good, tmp_path / "a.lravae", evil_class))

    # 2. a pickled object where tensors belong
    payload = io.BytesIO()
    torch.save({"x": Boom()}, payload)
    with pytest.raises(ValueError, match="holds more than tensors"):
        load(_tamper(good, tmp_path / "b.lravae", extra={"torch-0.pt": payload.getvalue()}))

    # 3. an object array (pickle inside npz)
    arr = io.BytesIO()
    np.savez(arr, a0=np.array([Boom()], dtype=object))

    def use_array(m):
        m["object"]["fitted"]["n_iter_"] = {"__ndarray__": "a0"}

    with pytest.raises(ValueError, match="pickle"):
        load(_tamper(good, tmp_path / "c.lravae", use_array, {"arrays.npz": arr.getvalue()}))

    # 4. a plain pickle file
    (tmp_path / "d.lravae").write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ValueError, match="not an sklearn-lravae model file"):
        load(tmp_path / "d.lravae")
    assert not (tmp_path / "pwned").exists()


def test_incompatible_version_is_refused(vae, tmp_path):
    good = save(vae, tmp_path / "good.lravae")

    def newer(m):
        m["format_version"] = 99
        m["versions"]["sklearn_lravae"] = "9.0"

    with pytest.raises(ValueError, match="format 99.*9.0"):
        load(_tamper(good, tmp_path / "n.lravae", newer))


def test_unsaveable_objects(digits, tmp_path):
    class Core(torch.nn.Module):
        def __init__(self, n_features, n_components, n_outputs):
            super().__init__()
            self.e = torch.nn.Linear(n_features, 2 * n_components)
            self.d = torch.nn.Linear(n_components, n_outputs)

        def encode(self, x):
            return self.e(x).chunk(2, dim=1)

        def decode(self, z):
            return self.d(z)

    vae = LRAVAETransformer(2, module=Core, likelihood="bernoulli", max_epochs=1)
    with pytest.raises(TypeError, match="custom module"):
        save(vae.fit(digits[0][:50]), tmp_path / "x.lravae")
    with pytest.raises(TypeError, match="cannot save a value"):
        save(LRAVAETransformer(reference=object()), tmp_path / "y.lravae")
