"""``LRAVAETransformer``: the scikit-learn face of the LRA-VAE."""

import contextlib
import copy
import numbers

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from skorch.callbacks import ProgressBar

from ._likelihood import LIKELIHOODS, make_likelihood
from ._loss import latent_reconstruction_error, negative_elbo
from ._net import LRAVANet
from ._network import VAE, build_core
from ._utils import batched_inference, check_device
from .reference import check_reference

__all__ = ["LRAVAETransformer"]


class LRAVAETransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Latent Reconstruction-Aware VAE as a scikit-learn transformer.

    Trains a variational autoencoder with the LRA-VAE objective
    (arXiv 2302.02399)

    ``loss(x) = -ELBO(x) + gamma * E_{z ~ p_ref}[ ||z - enc_mu(dec(z))||^2 ]``

    through a skorch net (``net_``), so skorch callbacks, progress bars, warm
    starts and devices work as usual. ``transform`` returns posterior means,
    ``inverse_transform`` decodes latents to the decoder's mean object.

    Parameters
    ----------
    n_components : int, default=16
        Latent dimension.
    gamma : float, default=0.1
        Weight of the latent reconstruction error (LRE) term; ``0`` gives a
        standard VAE. The LRE is summed over latent dimensions and the ELBO over
        features, so the useful range depends on the data: on digits (64
        pixels) ``0.1`` cuts the LRE of N(0, 2^2 I) samples ~9x at a 1% ELBO
        cost, ``1`` ~37x at 4%. A lower LRE is not by itself better samples:
        tune it (e.g. ``GridSearchCV`` over ``gamma`` with both scorers).
    beta : float, default=1.0
        Weight of the KL term of the ELBO.
    reference : float or reference object, default=2.0
        Latent reference distribution ``p_ref`` of the LRE term. A float ``s``
        is ``N(0, s^2 I)``; otherwise an object of :mod:`sklearn_lravae.reference`
        (e.g. a :class:`~sklearn_lravae.reference.GaussianMixtureReference`
        centred on queried latents). May be changed between :meth:`partial_fit`
        calls with ``set_params``.
    n_reference_samples : int, default=128
        Reference samples drawn fresh for every batch.
    hidden_layer_sizes : tuple of int, default=(256, 128)
        Hidden sizes of the MLP encoder; the decoder mirrors them. Ignored when
        ``module`` is given.
    likelihood : {"gaussian", "bernoulli", "categorical"}, default="gaussian"
        Observation model: ``"gaussian"`` (learned per-feature scale) for any
        real data, ``"bernoulli"`` for data in [0, 1] (e.g. min-max scaled
        images), ``"categorical"`` for flattened one-hot sequences (e.g. from
        :class:`~sklearn_lravae.chem.SelfiesVectorizer`).
    n_categories : int or "auto", default="auto"
        Categories per position for ``likelihood="categorical"``; ``"auto"``
        finds the block size whose blocks all sum to one.
    max_epochs : int, default=50
        Epochs of :meth:`fit`, and of :meth:`partial_fit` unless ``epochs`` is given.
    batch_size : int, default=128
        Mini-batch size.
    lr : float, default=1e-3
        Learning rate.
    optimizer : type of torch.optim.Optimizer, default=torch.optim.Adam
        Optimiser class.
    module : torch.nn.Module, callable or None, default=None
        Custom encoder/decoder core with ``encode(x) -> (mu, logvar)`` and
        ``decode(z) -> out`` (``out``: likelihood parameters of shape
        ``(n, n_features)``). An instance is deep-copied at fit; a class or
        factory is called with ``n_features``, ``n_components``, ``n_outputs``.
    validation_fraction : float or None, default=None
        Fraction of the data held out by skorch (``valid_loss`` in
        ``net_.history``, usable by ``EarlyStopping``). None trains on all data.
    callbacks : list or None, default=None
        Extra skorch callbacks, as for :class:`skorch.NeuralNet`.
    device : str, default="cpu"
        Torch device, e.g. ``"cuda"``.
    flush_denormal : bool, default=False
        Call :func:`torch.set_flush_denormal` (process-global) during training:
        denormal Adam state can slow CPU epochs by ~30%. It is switched off
        again after training.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, batch order, reparameterisation noise and
        reference samples. Training runs inside :func:`torch.random.fork_rng`,
        so the global torch RNG is left untouched.
    verbose : int, default=0
        0 silent; 1 prints skorch's epoch table; 2 also shows a progress bar.

    Attributes
    ----------
    net_ : LRAVANet
        The fitted skorch net; ``net_.module_`` is the torch module and
        ``net_.history`` holds per-epoch ``train_loss``, ``train_nll``,
        ``train_kl`` and ``train_lre``.
    reference_ : BaseReference
        The reference distribution used by the last training call.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when X has string column names.
    n_iter_ : int
        Total number of training epochs run so far.

    See Also
    --------
    sklearn_lravae.LatentBayesSearch : Bayesian optimisation in the latent space.
    sklearn_lravae.metrics.make_lre_scorer : LRE scorer for grid searches.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_lravae import LRAVAETransformer
    >>> X = load_digits().data / 16.0
    >>> vae = LRAVAETransformer(n_components=4, likelihood="bernoulli",
    ...                         max_epochs=2, random_state=0).fit(X)
    >>> vae.transform(X[:3]).shape
    (3, 4)
    >>> vae.inverse_transform(vae.transform(X[:3])).shape
    (3, 64)
    >>> vae.latent_reconstruction_error(vae.transform(X[:3])).shape
    (3,)
    """

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "gamma": [Interval(numbers.Real, 0, None, closed="left")],
        "beta": [Interval(numbers.Real, 0, None, closed="left")],
        "reference": [
            Interval(numbers.Real, 0, None, closed="neither"),
            HasMethods(["sample"]),
        ],
        "n_reference_samples": [Interval(numbers.Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like"],
        "likelihood": [StrOptions(set(LIKELIHOODS))],
        "n_categories": [
            StrOptions({"auto"}),
            Interval(numbers.Integral, 2, None, closed="left"),
        ],
        "max_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
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
        n_components=16,
        *,
        gamma=0.1,
        beta=1.0,
        reference=2.0,
        n_reference_samples=128,
        hidden_layer_sizes=(256, 128),
        likelihood="gaussian",
        n_categories="auto",
        max_epochs=50,
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.likelihood = likelihood
        self.n_categories = n_categories
        self.max_epochs = max_epochs
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

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Initialise the network and train it for ``max_epochs`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the ELBO term (e.g. rank weights).

        Returns
        -------
        self : LRAVAETransformer
            The fitted transformer.
        """
        return self._fit_new(X, sample_weight, self.max_epochs)

    def _fit_new(self, X, sample_weight, epochs):
        X, lik = self._validate_fit_input(X, reset=True)
        self._seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        self.n_fit_calls_ = 0
        self.n_iter_ = 0
        self._train(X, sample_weight, epochs=epochs, likelihood=lik)
        return self

    def partial_fit(self, X, y=None, sample_weight=None, epochs=None):
        """Continue training (initialising first if needed).

        The optimiser state is kept. ``gamma``, ``beta``, ``reference``,
        ``n_reference_samples``, ``lr`` and ``max_epochs`` may be changed with
        ``set_params`` between calls; architecture parameters may not.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the ELBO term.
        epochs : int, default=None
            Epochs to train; ``max_epochs`` when None.

        Returns
        -------
        self : LRAVAETransformer
            The (further) fitted transformer.
        """
        self._validate_params()
        epochs = self.max_epochs if epochs is None else int(epochs)
        if not hasattr(self, "net_"):
            return self._fit_new(X, sample_weight, epochs)
        X, _ = self._validate_fit_input(X, reset=False)
        self._train(X, sample_weight, epochs=epochs)
        return self

    def _validate_fit_input(self, X, reset):
        """Validated ``X`` and the likelihood it is modelled with."""
        X = validate_data(
            self, X, reset=reset, dtype=[np.float32, np.float64], ensure_min_samples=1
        )
        if reset:
            lik = make_likelihood(self.likelihood, X.shape[1], self.n_categories, X)
        else:
            lik = self.net_.module_.likelihood
        lik.check_data(X)
        return X, lik

    def _make_net(self, n_features, lik):
        module = self.module
        if isinstance(module, torch.nn.Module):
            module = copy.deepcopy(module)
        core = build_core(
            module, n_features, self.n_components, lik.n_outputs, self.hidden_layer_sizes
        )
        callbacks = list(self.callbacks or [])
        if self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar()))
        train_split = None
        if self.validation_fraction is not None:
            from skorch.dataset import ValidSplit

            train_split = ValidSplit(self.validation_fraction, stratified=False)
        return LRAVANet(
            VAE(core, lik),
            gamma=self.gamma,
            beta=self.beta,
            reference=self.reference_,
            n_reference_samples=self.n_reference_samples,
            optimizer=self.optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train__shuffle=True,
            train_split=train_split,
            callbacks=callbacks,
            device=self.device,
            verbose=int(self.verbose),
        )

    def _train(self, X, sample_weight, epochs, likelihood=None):
        """Train for ``epochs``; a new network is built for ``likelihood`` when given."""
        check_device(self.device)
        self.reference_ = check_reference(self.reference)
        self.reference_._check_dim(self.n_components)
        Xt = X.astype(np.float32, copy=False)
        data = Xt
        if sample_weight is not None:
            w = _check_sample_weight(sample_weight, X, dtype=np.float32)
            data = {"x": Xt, "sample_weight": w}
        seed = int(np.random.SeedSequence([self._seed, self.n_fit_calls_]).generate_state(1)[0])
        self.n_fit_calls_ += 1
        devices = [self.device] if str(self.device).startswith("cuda") else []
        flush = contextlib.nullcontext()
        if self.flush_denormal:
            flush = _flush_denormal()
        with torch.random.fork_rng(devices=devices), flush:
            torch.manual_seed(seed)
            if likelihood is not None:
                self.net_ = self._make_net(X.shape[1], likelihood)
                self.net_.initialize()
            net = self.net_
            net.gamma, net.beta = self.gamma, self.beta
            net.reference = self.reference_
            net.n_reference_samples = self.n_reference_samples
            if net.lr != self.lr:
                net.set_params(lr=self.lr)
            if epochs > 0:
                net.partial_fit(data, None, epochs=epochs)
        self.n_iter_ += epochs

    # ----------------------------------------------------------- state interface
    def get_network_state(self):
        """The trained network's state: weights, optimiser, history, seed, counters.

        The one interface through which :func:`sklearn_lravae.save` and search
        checkpoints read a fitted transformer (see :meth:`set_network_state`).

        Returns
        -------
        state : dict
            ``likelihood`` (name), ``n_categories`` (or None), ``module`` and
            ``optimizer`` (torch state dicts), ``history`` (list of per-epoch
            dicts), ``seed``, ``n_fit_calls`` and ``n_iter``.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_lravae import LRAVAETransformer
        >>> X = np.random.RandomState(0).rand(20, 4)
        >>> vae = LRAVAETransformer(2, max_epochs=1, random_state=0).fit(X)
        >>> state = vae.get_network_state()
        >>> state["likelihood"], state["n_iter"], len(state["history"])
        ('gaussian', 1, 1)
        """
        check_is_fitted(self)
        net = self.net_
        lik = net.module_.likelihood
        return {
            "likelihood": lik.name,
            "n_categories": getattr(lik, "n_categories", None),
            "module": net.module_.state_dict(),
            "optimizer": net.optimizer_.state_dict(),
            "history": list(net.history_ or []),
            "seed": self._seed,
            "n_fit_calls": self.n_fit_calls_,
            "n_iter": self.n_iter_,
        }

    def set_network_state(self, state):
        """Restore a state from :meth:`get_network_state`.

        Builds the network first when there is none (``n_features_in_`` must be
        set, as after :func:`sklearn_lravae.load` restores the fitted
        attributes). Keys that are missing are left as they are, so a state
        with only ``module`` and ``optimizer`` loads weights into a fitted
        transformer.

        Parameters
        ----------
        state : dict
            As returned by :meth:`get_network_state`.

        Returns
        -------
        self : LRAVAETransformer
            The restored transformer.

        Raises
        ------
        ValueError
            If the network cannot be built on ``device`` or the weights do not
            fit it (e.g. a different ``module`` or ``n_components``).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_lravae import LRAVAETransformer
        >>> X = np.random.RandomState(0).rand(20, 4)
        >>> a = LRAVAETransformer(2, max_epochs=2, random_state=0).fit(X)
        >>> b = LRAVAETransformer(2, max_epochs=1, random_state=1).fit(X)
        >>> bool(np.allclose(b.set_network_state(a.get_network_state()).transform(X),
        ...                  a.transform(X)))
        True
        """
        from skorch.history import History

        if not hasattr(self, "net_"):
            n_cat = state.get("n_categories") or "auto"
            lik = make_likelihood(state["likelihood"], self.n_features_in_, n_cat)
            try:
                with torch.random.fork_rng(devices=[]):
                    if not hasattr(self, "reference_"):
                        self.reference_ = check_reference(self.reference)
                    self.net_ = self._make_net(self.n_features_in_, lik)
                    self.net_.initialize()
            except (RuntimeError, AssertionError) as exc:  # e.g. CUDA model, no CUDA here
                raise ValueError(
                    f"cannot build the network on device {self.device!r} ({exc}); "
                    "use device='cpu' (for a saved model: load(path, device='cpu'))."
                ) from None
        try:
            if "module" in state:
                self.net_.module_.load_state_dict(state["module"])
            if "optimizer" in state:
                self.net_.optimizer_.load_state_dict(state["optimizer"])
        except (RuntimeError, KeyError, ValueError) as exc:
            detail = " ".join(str(exc).split())[:300]
            raise ValueError(
                "the stored weights do not fit the network built from the saved "
                f"parameters (was a different module= passed?): {detail}"
            ) from None
        if "history" in state:
            self.net_.history_ = History(list(state["history"]))
        counters = (("seed", "_seed"), ("n_fit_calls", "n_fit_calls_"), ("n_iter", "n_iter_"))
        for key, attr in counters:
            if state.get(key) is not None:
                setattr(self, attr, int(state[key]))
        return self

    # ---------------------------------------------------------------- inference
    def _check_latent(self, Z, name="Z"):
        check_is_fitted(self)
        Z = check_array(Z, dtype=[np.float64, np.float32], input_name=name)
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"{name} has {Z.shape[1]} features, but {type(self).__name__} has "
                f"n_components={self.n_components}: pass latent points of shape "
                f"(n_samples, {self.n_components})."
            )
        return Z

    def _batched(self, fn, A):
        """``fn(module, batch)`` over float32 batches of ``A`` in eval mode, no grad."""
        return batched_inference(self.net_.module_, fn, A, self.net_.device)

    @staticmethod
    def _out_dtype(A):
        return np.float32 if A.dtype == np.float32 else np.float64

    def transform(self, X):
        """Encode ``X`` to the posterior means ``E[z | x]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Latent means.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self._batched(lambda m, x: m.encode(x)[0], X).astype(self._out_dtype(X))

    def inverse_transform(self, Z, decode="mean"):
        """Decode latent points to input space.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_components)
            Latent points.
        decode : {"mean", "mode"}, default="mean"
            ``"mean"``: the decoder mean (probabilities for Bernoulli /
            categorical data); ``"mode"``: the most likely object (thresholded
            pixels, argmax one-hot tokens).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Decoded objects.
        """
        Z = self._check_latent(Z)
        fn = _DECODERS[_check_decode(decode)]
        return self._batched(fn, Z).astype(self._out_dtype(Z))

    def latent_reconstruction_error(self, Z, decode="mean"):
        """``LRE(z) = ||z - enc_mu(dec(z))||^2`` for each latent point.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_components)
            Latent points.
        decode : {"mean", "mode"}, default="mean"
            Decode to the mean (the differentiable training term) or to the mode
            (the hard decode, which is what an evaluated object encodes to).

        Returns
        -------
        lre : ndarray of shape (n_samples,)
            Squared distance between ``z`` and its re-encoding.
        """
        Z = self._check_latent(Z)
        decode = _check_decode(decode)
        lre = self._batched(lambda m, z: latent_reconstruction_error(m, z, decode=decode), Z)
        return lre.astype(np.float64)

    def sample(self, n_samples=1, scale=1.0, random_state=None, return_latent=False):
        """Decode latent points drawn from ``N(0, scale^2 I)``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        scale : float, default=1.0
            Standard deviation of the latent normal (1 is the prior).
        random_state : int, RandomState instance or None, default=None
            Seed of the latent draws.
        return_latent : bool, default=False
            Also return the latent points.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Decoded means.
        Z : ndarray of shape (n_samples, n_components)
            The latent points; only when ``return_latent=True``.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        if not isinstance(scale, numbers.Real) or not scale > 0:
            raise ValueError(f"scale must be a positive float, got {scale!r}.")
        rng = check_random_state(random_state)
        Z = scale * rng.standard_normal((n_samples, self.n_components))
        X = self.inverse_transform(Z)
        return (X, Z) if return_latent else X

    def score_samples(self, X, n_draws=16):
        """Per-sample evidence lower bound (ELBO), higher is better.

        The reconstruction expectation is a Monte-Carlo mean over ``n_draws``
        reparameterised draws that share the same standard-normal noise for
        every sample (common random numbers), so the result is deterministic,
        does not depend on the batch, and compares models fairly.
        The ELBO is computed with ``beta=1`` whatever the training ``beta``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        n_draws : int, default=16
            Monte-Carlo draws per sample.

        Returns
        -------
        elbo : ndarray of shape (n_samples,)
            ELBO of each sample, in nats.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        self.net_.module_.likelihood.check_data(X)
        eps = torch.randn(
            n_draws, self.n_components, generator=torch.Generator().manual_seed(0)
        ).to(self.net_.device)

        def elbo(m, x):
            mu, logvar = m.encode(x)
            total = torch.zeros(len(x), device=x.device)
            for e in eps:
                z = mu + torch.exp(0.5 * logvar) * e
                nll, kl = negative_elbo(m, x, m.decode(z), mu, logvar, beta=1.0)
                total += -(nll + kl)
            return total / len(eps)

        return self._batched(elbo, X).astype(np.float64)

    def score(self, X, y=None):
        """Mean ELBO of ``X`` (higher is better), for unsupervised model selection.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Mean of :meth:`score_samples`.
        """
        return float(np.mean(self.score_samples(X)))

    @property
    def _n_features_out(self):
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


_DECODERS = {
    "mean": lambda m, z: m.decode_mean(z),
    "mode": lambda m, z: m.decode_mode(z),
}


def _check_decode(decode):
    if decode not in _DECODERS:
        raise ValueError(f"decode must be 'mean' or 'mode', got {decode!r}.")
    return decode


@contextlib.contextmanager
def _flush_denormal():
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
