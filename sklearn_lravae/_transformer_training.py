"""How :class:`~sklearn_lravae.LRAVAETransformer` trains its network.

The private half of the transformer's ``fit`` / ``partial_fit``: validating the
data against the likelihood, building the skorch net, seeding, and running the
epochs with the stopping rule of :mod:`sklearn_lravae._net`. A mixin of
``LRAVAETransformer`` only (it works on the transformer's own attributes).
"""

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._likelihood import make_likelihood
from ._net import check_callbacks, flush_denormal, make_net, run_training, schedule
from ._utils import check_device
from .reference import check_reference

__all__ = ["COMPACT_DTYPES", "TrainingMixin", "validate_input"]

#: Dense dtypes kept as they are (one-hot data): batches are expanded to float32.
COMPACT_DTYPES = (np.dtype(np.uint8), np.dtype(np.int8), np.dtype(np.bool_))


def validate_input(estimator, X, reset):
    """``validate_data`` for the transformer: compact and CSR input are kept as they are.

    ``uint8`` / ``int8`` / ``bool`` arrays and SciPy sparse matrices (converted
    to CSR, their values in their own dtype) are not copied to float: training
    and inference convert one mini-batch at a time. Other input becomes
    float32 or float64 as before.
    """
    dtype = getattr(X, "dtype", None)
    if dtype is None and hasattr(X, "dtypes"):  # a DataFrame of one dtype
        dtypes = set(X.dtypes)
        dtype = dtypes.pop() if len(dtypes) == 1 else None
    try:
        compact = dtype is not None and np.dtype(dtype) in COMPACT_DTYPES
    except TypeError:  # pandas extension dtypes
        compact = False
    return validate_data(
        estimator, X, reset=reset, accept_sparse="csr", ensure_min_samples=1,
        dtype=None if compact else [np.float32, np.float64],
    )  # fmt: skip


class TrainingMixin:
    """Network construction and the training loop of ``LRAVAETransformer``."""

    def _fit_new(self, X, sample_weight, epochs, exact):
        check_callbacks(self.callbacks, self.validation_fraction)
        X, lik = self._validate_fit_input(X, reset=True)
        self._seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        self.n_fit_calls_ = 0
        self.n_iter_ = 0
        self.n_components_ = int(self.n_components)
        self._architecture = self._architecture_params()
        try:
            self._train(X, sample_weight, epochs, exact=exact, likelihood=lik)
        except ValueError:
            vars(self).pop("net_", None)  # diverged: no half-trained network is kept
            raise
        return self

    def _validate_fit_input(self, X, reset):
        """Validated ``X`` and the likelihood it is modelled with."""
        X = validate_input(self, X, reset=reset)
        if reset:
            lik = make_likelihood(self.likelihood, X.shape[1], self.n_categories, X)
        else:
            lik = self.net_.module_.likelihood
        lik.check_data(X)
        return X, lik

    def _make_net(self, n_features, lik):
        names = ("module", "n_components", "hidden_layer_sizes", "validation_fraction")
        names += ("callbacks", "gamma", "n_reference_samples", "optimizer", "lr", "batch_size")
        names += ("lre_decode",)
        params = {k: v for k, v in self.get_params(deep=False).items() if k in names}
        if isinstance(self.hidden_layer_sizes, str):  # "auto"
            params["hidden_layer_sizes"] = lik.default_hidden_layer_sizes
        params["n_reference_samples"] = self._n_reference_samples(lik)
        return make_net(
            n_features, lik, beta=self._beta(lik), reference=self.reference_,
            device=self.device, verbose=int(self.verbose), **params,
        )  # fmt: skip

    def _train(self, X, sample_weight, epochs, exact, likelihood=None):
        """Train; a new network is built for ``likelihood`` when given."""
        check_device(self.device)
        self.reference_ = check_reference(self.reference)
        self.reference_._check_dim(self.n_components_)
        data = X  # as it is: the loader makes float32 batches (no float copy of X)
        if sample_weight is not None:
            w = _check_sample_weight(sample_weight, X, dtype=np.float32)
            data = {"x": X, "sample_weight": w}
        n = X.shape[0]
        n_train = n - int(np.ceil(n * (self.validation_fraction or 0.0)))
        n_batches = np.ceil(max(n_train, 1) / self.batch_size)
        max_epochs, min_epochs, rule = schedule(epochs, self.n_iter_no_change, n_batches, exact)
        seed = int(np.random.SeedSequence([self._seed, self.n_fit_calls_]).generate_state(1)[0])
        self.n_fit_calls_ += 1
        devices = [self.device] if str(self.device).startswith("cuda") else []
        with torch.random.fork_rng(devices=devices), flush_denormal(self.flush_denormal):
            torch.manual_seed(seed)
            if likelihood is not None:
                self.net_ = self._make_net(X.shape[1], likelihood)
                self.net_.initialize()
            net = self.net_
            self.beta_ = self._beta(net.module_.likelihood)
            net.gamma, net.beta, net.verbose = self.gamma, self.beta_, int(self.verbose)
            net.reference = self.reference_
            net.n_reference_samples = self._n_reference_samples(net.module_.likelihood)
            net.lre_decode = self.lre_decode
            if net.lr != self.lr:
                net.set_params(lr=self.lr)
            self.n_iter_ += run_training(
                net, data, max_epochs, tol=self.tol, n_iter_no_change=rule, min_epochs=min_epochs
            )
