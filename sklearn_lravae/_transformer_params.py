"""The parameters of :class:`~sklearn_lravae.LRAVAETransformer`: defaults and validation.

Kept apart from the training and inference code; the parameters are documented
on :class:`~sklearn_lravae.LRAVAETransformer`. Also here: which parameters
define the network's architecture (they may not change between ``fit`` and
``partial_fit``) and how ``beta="auto"`` resolves.
"""

import numbers

import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ._likelihood import LIKELIHOODS
from ._loss import LRE_DECODES
from ._net import check_hidden_layer_sizes

__all__ = ["AUTO_N_REFERENCE_SAMPLES", "TransformerParameters"]

#: ``n_reference_samples="auto"`` per likelihood (others: ``"default"``). Measured in
#: ``benchmarks/results/speed_fit.md`` (M in {8, ..., 128}, 3 seeds): on MNIST
#: (Bernoulli) 32 reference points per batch reach the LRE and ELBO of 128 within seed
#: noise at ~1.27x the time of a gamma = 0 step (128: ~1.5x); on QM9 SELFIES
#: (categorical) the LRE of N(0, 2^2 I) samples and the exact reconstruction keep
#: improving up to 128, so categorical data keep 128.
AUTO_N_REFERENCE_SAMPLES = {"categorical": 128, "default": 32}


class TransformerParameters(BaseEstimator):
    """Constructor, parameter constraints and checks of ``LRAVAETransformer``."""

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "gamma": [Interval(numbers.Real, 0, None, closed="left")],
        "beta": [Interval(numbers.Real, 0, None, closed="left"), StrOptions({"auto"})],
        "reference": [
            Interval(numbers.Real, 0, None, closed="neither"),
            HasMethods(["sample"]),
        ],
        "n_reference_samples": [
            Interval(numbers.Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "lre_decode": [StrOptions(set(LRE_DECODES))],
        "hidden_layer_sizes": ["array-like", StrOptions({"auto"})],
        "likelihood": [StrOptions(set(LIKELIHOODS))],
        "n_categories": [
            StrOptions({"auto"}),
            Interval(numbers.Integral, 2, None, closed="left"),
        ],
        "max_epochs": [Interval(numbers.Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "n_iter_no_change": [
            Interval(numbers.Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
            None,
        ],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "optimizer": [type],
        "module": [None, callable],
        "validation_fraction": [None, Interval(numbers.Real, 0, 1, closed="neither")],
        "callbacks": [None, list],
        "device": [str, torch.device],
        "flush_denormal": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=32,
        *,
        gamma=0.1,
        beta="auto",
        reference=2.0,
        n_reference_samples="auto",
        lre_decode="auto",
        hidden_layer_sizes="auto",
        likelihood="gaussian",
        n_categories="auto",
        max_epochs="auto",
        tol=3e-4,
        n_iter_no_change="auto",
        batch_size=128,
        lr=1e-3,
        optimizer=torch.optim.Adam,
        module=None,
        validation_fraction=None,
        callbacks=None,
        device="cpu",
        flush_denormal=False,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.gamma = gamma
        self.beta = beta
        self.reference = reference
        self.n_reference_samples = n_reference_samples
        self.lre_decode = lre_decode
        self.hidden_layer_sizes = hidden_layer_sizes
        self.likelihood = likelihood
        self.n_categories = n_categories
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.module = module
        self.validation_fraction = validation_fraction
        self.callbacks = callbacks
        self.device = device
        self.flush_denormal = flush_denormal
        self.random_state = random_state
        self.verbose = verbose

    def _validate_params(self):
        super()._validate_params()
        if not isinstance(self.hidden_layer_sizes, str):  # "array-like" is not enough
            check_hidden_layer_sizes(self.hidden_layer_sizes)

    def _architecture_params(self):
        hidden = None if self.module is not None else self.hidden_layer_sizes
        if hidden is not None and not isinstance(hidden, str):
            hidden = check_hidden_layer_sizes(hidden)
        return {
            "n_components": int(self.n_components),
            "hidden_layer_sizes": hidden,
            "likelihood": self.likelihood,
            "n_categories": self.n_categories,
        }

    def _check_architecture(self):
        fitted = getattr(self, "_architecture", None)
        if fitted is None:  # restored from an older model file
            self._architecture = fitted = self._architecture_params()
        for name, value in self._architecture_params().items():
            if value != fitted[name]:
                raise ValueError(
                    f"{name} was changed from {fitted[name]!r} to {value!r} after fit; "
                    "partial_fit continues the fitted network, whose architecture cannot "
                    f"change. Call fit to train a new network, or set {name} back."
                )

    def _n_reference_samples(self, lik):
        """``n_reference_samples`` with ``"auto"`` resolved for ``lik``."""
        if self.n_reference_samples != "auto":
            return int(self.n_reference_samples)
        name = getattr(lik, "name", None)
        return AUTO_N_REFERENCE_SAMPLES.get(name, AUTO_N_REFERENCE_SAMPLES["default"])

    def _beta(self, lik):
        return float(lik.default_beta if self.beta == "auto" else self.beta)
