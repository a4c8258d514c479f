"""``LRAVAETransformer``: the scikit-learn face of the LRA-VAE."""

import numbers

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted

from ._likelihood import make_likelihood
from ._loss import latent_reconstruction_error, monte_carlo_elbo
from ._net import load_network_state
from ._transformer_params import TransformerParameters
from ._transformer_training import TrainingMixin, validate_input
from ._utils import batched_inference
from .reference import check_reference

__all__ = ["LRAVAETransformer"]


class LRAVAETransformer(
    TrainingMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, TransformerParameters
):
    """Latent Reconstruction-Aware VAE as a scikit-learn transformer.

    Trains a variational autoencoder with the LRA-VAE objective
    (arXiv 2302.02399)

    ``loss(x) = -ELBO(x) + gamma * E_{z ~ p_ref}[ ||z - enc_mu(dec(z))||^2 ]``

    through a skorch net (``net_``), so skorch callbacks, progress bars, warm
    starts and devices work as usual. ``transform`` returns posterior means,
    ``inverse_transform`` decodes latents to the decoder's mean object.

    Parameters
    ----------
    n_components : int, default=32
        Latent dimension. With 32 a default categorical VAE of 10,000 QM9
        molecules reconstructs over 90% of held-out molecules exactly; with
        16, 77% (the encoder generalises better with more latent dimensions).
    gamma : float, default=0.1
        Weight of the latent reconstruction error (LRE) term; ``0`` gives a
        standard VAE. The LRE is summed over latent dimensions and the ELBO over
        features, so the useful range depends on the data: on digits (64
        pixels) ``0.1`` cuts the LRE of N(0, 2^2 I) samples ~9x at a 1% ELBO
        cost, ``1`` ~37x at 4%. A lower LRE is not by itself better samples:
        tune it (e.g. ``GridSearchCV`` over ``gamma`` with both scorers).
    beta : float or "auto", default="auto"
        Weight of the KL term of the ELBO. ``"auto"``: 1 (the ELBO) for
        ``"gaussian"`` and ``"bernoulli"`` data, 0.01 for ``"categorical"``
        data, where ``beta=1`` lets the KL term switch most latents off and
        the decoder reconstructs few molecules exactly (QM9, 10,000 training
        molecules: 7% of held-out molecules after 50 epochs at ``beta=1``,
        90% at 0.01). The value used is ``beta_``.
    reference : float or reference object, default=2.0
        Latent reference distribution ``p_ref`` of the LRE term. A float ``s``
        is ``N(0, s^2 I)``; otherwise an object of :mod:`sklearn_lravae.reference`
        (e.g. a :class:`~sklearn_lravae.reference.GaussianMixtureReference`
        centred on queried latents). May be changed between :meth:`partial_fit`
        calls with ``set_params``.
    n_reference_samples : int or "auto", default="auto"
        Reference samples drawn fresh for every batch (the LRE cost grows with it). ``"auto"``:
        128 for ``likelihood="categorical"``, 32 otherwise (see :doc:`/benchmarks/speed`).
    lre_decode : {"auto", "mean", "straight_through"}, default="auto"
        What the encoder reads back in the LRE term. ``"mean"``: the decoder
        mean (for categorical data the softmax probabilities, from which the
        encoder can learn to read ``z`` back although the argmax decode does
        not encode to ``z``). ``"straight_through"``: the decoder mode (the
        argmax one-hot of every block: the object that would be evaluated) in
        the forward pass, the gradient of the mean in the backward pass.
        ``"auto"``: ``"straight_through"`` for ``likelihood="categorical"``,
        ``"mean"`` otherwise. May be changed between :meth:`partial_fit` calls.
    hidden_layer_sizes : tuple of int or "auto", default="auto"
        Hidden sizes of the MLP encoder (positive integers); the decoder
        mirrors them. ``"auto"``: ``(256, 128)``, or ``(512, 256)`` for
        ``"categorical"`` data. Ignored when ``module`` is given.
    likelihood : {"gaussian", "bernoulli", "categorical"}, default="gaussian"
        Observation model: ``"gaussian"`` (learned per-feature scale) for any
        real data, ``"bernoulli"`` for data in [0, 1] (e.g. min-max scaled
        images), ``"categorical"`` for flattened one-hot sequences (e.g. from
        :class:`~sklearn_lravae.chem.SelfiesVectorizer`).
    n_categories : int or "auto", default="auto"
        Categories per position for ``likelihood="categorical"``; ``"auto"``
        finds the block size whose blocks all sum to one.
    max_epochs : int or "auto", default="auto"
        Training length of :meth:`fit`, and of :meth:`partial_fit` unless
        ``epochs`` is given. ``"auto"``: train until the loss stops improving
        (the plateau rule of ``tol`` and ``n_iter_no_change``), but for at
        least 1,000 optimiser steps (mini-batches) and at most 200 epochs
        (or those 1,000 steps, on data of a few batches); a
        :class:`~sklearn.exceptions.ConvergenceWarning` says when the
        ceiling was reached first. An int: the ceiling; without
        ``n_iter_no_change`` exactly that many epochs run (skorch callbacks
        such as ``EarlyStopping`` may stop earlier). ``n_iter_`` counts the
        epochs that ran.
    tol : float, default=3e-4
        Plateau rule: an epoch improves when its loss (``valid_loss`` with
        ``validation_fraction``, else the mean training loss of the epoch,
        which costs no extra pass) is below ``best - tol * |L1|``, ``L1``
        the loss of the network's first epoch (the scale of the problem).
    n_iter_no_change : int, None or "auto", default="auto"
        Plateau rule: stop after this many epochs without improvement.
        ``"auto"``: 15 with ``max_epochs="auto"``, None (no rule) with an
        int ``max_epochs``.
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
        0 silent; 1 prints skorch's epoch table (colour codes only when stdout
        is a terminal); 2 also shows a progress bar (unless ``callbacks``
        already hold a ``ProgressBar``).

    Attributes
    ----------
    net_ : LRAVANet
        The fitted skorch net; ``net_.module_`` is the torch module and
        ``net_.history`` holds per-epoch ``train_loss``, ``train_nll``,
        ``train_kl`` and ``train_lre``.
    reference_ : BaseReference
        The reference distribution used by the last training call.
    beta_ : float
        The KL weight of the last training call (``beta`` resolved).
    n_components_ : int
        Latent dimension of the fitted network (what :meth:`transform` returns).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when X has string column names.
    n_iter_ : int
        Total number of training epochs that ran so far (over :meth:`fit`
        and :meth:`partial_fit` calls; early stops included).

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
    >>> vae.n_iter_, vae.beta_
    (2, 1.0)
    >>> vae.transform(X[:3]).shape
    (3, 4)
    >>> vae.inverse_transform(vae.transform(X[:3])).shape
    (3, 64)
    >>> vae.latent_reconstruction_error(vae.transform(X[:3])).shape
    (3,)
    """

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Initialise the network and train it (for how long: ``max_epochs``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; ``uint8`` / ``int8`` / ``bool`` arrays and CSR matrices
            are kept as they are, converted per mini-batch (the same result as
            their float32 equivalent; see :doc:`/scale_training`).
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the ELBO term (e.g. rank weights).

        Returns
        -------
        self : LRAVAETransformer
            The fitted transformer.

        Raises
        ------
        ValueError
            If the training loss becomes NaN or infinite (e.g. ``lr`` far too
            large); the transformer is left unfitted.

        Warns
        -----
        ConvergenceWarning
            If the plateau rule is on and ``max_epochs`` ran out first.
        """
        return self._fit_new(X, sample_weight, self.max_epochs, exact=False)

    def partial_fit(self, X, y=None, sample_weight=None, epochs=None):
        """Continue training (initialising first if needed).

        The optimiser state is kept. ``gamma``, ``beta``, ``reference``,
        ``n_reference_samples``, ``lr``, ``max_epochs``, ``tol``,
        ``n_iter_no_change`` and ``verbose`` may be changed with ``set_params``
        between calls; the architecture (``n_components``,
        ``hidden_layer_sizes``, ``likelihood``, ``n_categories``) may not:
        call :meth:`fit` to train a new network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, as for :meth:`fit` (one chunk of a larger data set:
            see :doc:`/scale_training`).
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the ELBO term.
        epochs : int, default=None
            Train exactly this many epochs; None trains as :meth:`fit` does
            (``max_epochs`` and the plateau rule).

        Returns
        -------
        self : LRAVAETransformer
            The updated transformer.

        Raises
        ------
        ValueError
            If an architecture parameter changed since :meth:`fit`, or the
            training loss becomes NaN or infinite (the weights from before the
            call are restored).
        """
        self._validate_params()
        exact = epochs is not None
        if exact and (
            not isinstance(epochs, numbers.Integral) or isinstance(epochs, bool) or epochs < 0
        ):
            raise ValueError(f"epochs must be a non-negative integer or None, got {epochs!r}.")
        epochs = self.max_epochs if epochs is None else int(epochs)
        if not self.__sklearn_is_fitted__():
            return self._fit_new(X, sample_weight, epochs, exact=exact)
        self._check_architecture()
        X, _ = self._validate_fit_input(X, reset=False)
        self._train(X, sample_weight, epochs, exact=exact)
        return self

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
        load_network_state(self.net_, state)
        counters = (("seed", "_seed"), ("n_fit_calls", "n_fit_calls_"), ("n_iter", "n_iter_"))
        for key, attr in counters:
            if state.get(key) is not None:
                setattr(self, attr, int(state[key]))
        if not hasattr(self, "n_components_"):  # restored from an older model file
            self.n_components_ = int(self.n_components)
        return self

    # ---------------------------------------------------------------- inference
    def _check_latent(self, Z, name="Z"):
        check_is_fitted(self)
        Z = check_array(Z, dtype=[np.float64, np.float32], input_name=name)
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"{name} has {Z.shape[1]} features, but {type(self).__name__} was fitted "
                f"with n_components={self.n_components_}: pass latent points of shape "
                f"(n_samples, {self.n_components_})."
            )
        return Z

    def _batched(self, fn, A):
        """``fn(module, batch)`` over float32 batches of ``A`` in eval mode, no grad."""
        return batched_inference(self.net_.module_, fn, A, self.net_.device)

    @staticmethod
    def _out_dtype(A):
        return np.float64 if A.dtype == np.float64 else np.float32

    def transform(self, X):
        """Encode ``X`` to the posterior means ``E[z | x]``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Latent means: float64 for float64 ``X``, else float32 (also for
            compact and sparse ``X``, encoded chunk by chunk).

        Raises
        ------
        ValueError
            If ``X`` does not fit the likelihood (e.g. values outside [0, 1]
            for ``likelihood="bernoulli"``).
        """
        check_is_fitted(self)
        X = validate_input(self, X, reset=False)
        self.net_.module_.likelihood.check_data(X)
        return self._batched(lambda m, x: m.encode(x)[0], X).astype(self._out_dtype(X), copy=False)

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
        Z = scale * rng.standard_normal((n_samples, self.n_components_))
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
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.
        n_draws : int, default=16
            Monte-Carlo draws per sample.

        Returns
        -------
        elbo : ndarray of shape (n_samples,)
            ELBO of each sample, in nats.
        """
        check_is_fitted(self)
        X = validate_input(self, X, reset=False)
        self.net_.module_.likelihood.check_data(X)
        eps = torch.randn(
            n_draws, self.n_components_, generator=torch.Generator().manual_seed(0)
        ).to(self.net_.device)

        return self._batched(lambda m, x: monte_carlo_elbo(m, x, eps), X)

    def score(self, X, y=None):
        """Mean ELBO of ``X`` (higher is better), for unsupervised model selection.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
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
        return self.n_components_  # AttributeError before fit: get_feature_names_out refuses

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = True
        return tags


_DECODERS = {
    "mean": lambda m, z: m.decode_mean(z),
    "mode": lambda m, z: m.decode_mode(z),
}


def _check_decode(decode):
    if decode not in _DECODERS:
        raise ValueError(f"decode must be 'mean' or 'mode', got {decode!r}.")
    return decode
