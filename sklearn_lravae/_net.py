"""skorch net whose override, :meth:`LRAVANet.get_loss`, applies the objective.

Training, callbacks, progress bars, validation splits, devices and warm starts
are skorch's own; this module adds the loss, :class:`TrainingMonitor` (stop on a
loss plateau or a non-finite loss, from the per-epoch loss skorch records anyway:
no extra pass over the data) and an epoch table without colour codes when stdout
is not a terminal. Its batch iterator over in-memory arrays is
:class:`~sklearn_lravae._loader.BatchSliceLoader`.
"""

import contextlib
import copy
import math
import numbers
import re
import sys
import warnings

import torch
from sklearn.exceptions import ConvergenceWarning
from skorch import NeuralNet
from skorch.callbacks import Callback, PassthroughScoring, PrintLog, ProgressBar

from ._loader import BatchSliceLoader
from ._loss import lravae_loss
from ._network import VAE, build_core
from .reference import check_reference

__all__ = [
    "LRAVANet",
    "TrainingMonitor",
    "auto_epochs",
    "check_callbacks",
    "check_hidden_layer_sizes",
    "flush_denormal",
    "load_network_state",
    "make_net",
    "run_training",
    "schedule",
    "training_callbacks",
]

#: Per-batch terms recorded in ``net.history`` (averaged per epoch).
TERMS = ("nll", "kl", "lre")


class TrainingMonitor(Callback):
    """Stop training on a plateau of the loss, or when the loss is not finite.

    Reads the epoch's loss that skorch already recorded (``valid_loss`` when
    there is a validation split, else ``train_loss``, the mean of the
    mini-batch losses of the epoch), so it costs no extra pass over the data.
    The plateau rule is scikit-learn's (``MLPClassifier``) with a tolerance
    relative to the scale of the problem, the loss of the network's first
    epoch ``L1``: an epoch *does not improve* when its loss is above
    ``best - tol * |L1|``; training stops after ``n_iter_no_change`` such
    epochs in a row, but not before ``min_epochs`` epochs of the call. (A
    tolerance relative to the current loss never stops a model whose loss
    creeps towards zero, e.g. a SELFIES VAE memorising its molecules.)
    Stopping raises ``KeyboardInterrupt``, which skorch catches (as its own
    ``EarlyStopping`` does).

    Parameters
    ----------
    tol : float, default=3e-4
        Improvement that counts, as a fraction of the first epoch's loss.
    n_iter_no_change : int or None, default=None
        Epochs without improvement before stopping; None disables the rule
        (the non-finite check stays on).
    min_epochs : int, default=0
        Epochs of a training call before the rule may stop it.

    Attributes
    ----------
    stop_reason_ : {"plateau", "non-finite"} or None
        Why the last training call stopped early (None: it ran all its epochs,
        or another callback stopped it).
    monitor_ : str
        The history key that was watched.
    bad_value_ : float
        The non-finite loss, when ``stop_reason_ == "non-finite"``.
    """

    def __init__(self, tol=3e-4, n_iter_no_change=None, min_epochs=0):
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.min_epochs = min_epochs

    def on_train_begin(self, net, **kwargs):
        self.stop_reason_ = None
        self.monitor_ = "train_loss"
        self.best_ = math.inf
        self.n_bad_ = 0
        self.n_epochs_ = 0
        self.scale_ = None

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        self.monitor_ = "valid_loss" if "valid_loss" in row else "train_loss"
        loss = float(row[self.monitor_])
        self.n_epochs_ += 1
        if not math.isfinite(loss):
            self.stop_reason_, self.bad_value_ = "non-finite", loss
            raise KeyboardInterrupt
        if self.n_iter_no_change is None:
            return
        if self.scale_ is None:  # the first epoch of the network (kept over partial_fit calls)
            first = net.history[0].get(self.monitor_, loss)
            self.scale_ = abs(float(first)) if math.isfinite(first) else abs(loss)
        improved = not math.isfinite(self.best_) or loss < self.best_ - self.tol * self.scale_
        self.n_bad_ = 0 if improved else self.n_bad_ + 1
        self.best_ = min(self.best_, loss)
        if self.n_bad_ >= self.n_iter_no_change and self.n_epochs_ >= self.min_epochs:
            self.stop_reason_ = "plateau"
            raise KeyboardInterrupt


class _ProgressBar(ProgressBar):
    """skorch's progress bar, shown only while ``net.verbose >= 2``.

    Always present (unless the user passes a ``ProgressBar``), so that a
    network fitted with ``verbose=2`` is silenced by ``set_params(verbose=0)``.
    """

    def on_epoch_begin(self, net, **kwargs):
        self.shown_ = net.verbose >= 2
        if self.shown_:
            super().on_epoch_begin(net, **kwargs)

    def on_batch_end(self, net, **kwargs):
        if getattr(self, "shown_", False):
            super().on_batch_end(net, **kwargs)

    def on_epoch_end(self, net, **kwargs):
        if getattr(self, "shown_", False):
            super().on_epoch_end(net, **kwargs)


def training_callbacks(callbacks):
    """The user's ``callbacks`` plus a progress bar and, last, a :class:`TrainingMonitor`.

    The progress bar is left out when the user passes a ``ProgressBar`` of their
    own (one bar, not two, with ``verbose=2``).
    """
    callbacks = list(callbacks or [])
    instances = [c[1] if isinstance(c, tuple) else c for c in callbacks]
    if not any(isinstance(c, ProgressBar) for c in instances):
        callbacks.append(("progress_bar", _ProgressBar()))
    callbacks.append(("training_monitor", TrainingMonitor()))
    return callbacks


def check_callbacks(callbacks, validation_fraction):
    """Refuse callbacks that watch ``valid_*`` scores when nothing is held out.

    skorch's ``EarlyStopping()`` watches ``valid_loss``, which exists only with
    a validation split: without this check it fails with a ``KeyError`` at the
    end of the first epoch.

    Raises
    ------
    ValueError
        Naming ``validation_fraction`` and ``monitor='train_loss'`` as the fixes.
    """
    if validation_fraction is not None:
        return
    for cb in callbacks or []:
        cb = cb[1] if isinstance(cb, tuple) else cb
        monitor = getattr(cb, "monitor", None)
        if isinstance(monitor, str) and monitor.startswith("valid_"):
            raise ValueError(
                f"callback {type(cb).__name__} monitors {monitor!r}, which needs a "
                "validation split: set validation_fraction (e.g. 0.1), or monitor "
                f"'train_loss' ({type(cb).__name__}(monitor='train_loss'))."
            )


#: Optimiser steps before ``max_epochs="auto"`` may stop on a plateau: small data
#: sets have few, noisy mini-batches per epoch (digits: 11 of 128 samples).
AUTO_MIN_STEPS = 1_000
#: ``max_epochs="auto"``: at most this many epochs (and at least AUTO_MIN_STEPS steps).
AUTO_MAX_EPOCHS = 200
#: ``n_iter_no_change="auto"`` with ``max_epochs="auto"``: 10 stopped a SELFIES VAE of
#: 10,000 QM9 molecules after 77 epochs at 89.95% held-out reconstruction, 15 after 147
#: epochs at 91.9%.
AUTO_N_ITER_NO_CHANGE = 15


def auto_epochs(n_batches):
    """``(min_epochs, max_epochs)`` of ``max_epochs="auto"`` for ``n_batches`` per epoch.

    Examples
    --------
    >>> from sklearn_lravae._net import auto_epochs
    >>> auto_epochs(11)  # digits: 1,347 samples in batches of 128
    (91, 200)
    >>> auto_epochs(1)  # up to 128 samples
    (1000, 1000)
    """
    min_epochs = -(-AUTO_MIN_STEPS // max(int(n_batches), 1))
    return min_epochs, max(AUTO_MAX_EPOCHS, min_epochs)


def schedule(epochs, n_iter_no_change, n_batches, exact=False):
    """``(max_epochs, min_epochs, n_iter_no_change)`` of one training call.

    ``epochs`` and ``n_iter_no_change`` as the transformer's ``max_epochs`` and
    ``n_iter_no_change``; ``exact`` (``partial_fit(epochs=...)``) switches the
    plateau rule off.

    Examples
    --------
    >>> from sklearn_lravae._net import schedule
    >>> schedule("auto", "auto", n_batches=79), schedule(30, "auto", n_batches=79)
    ((200, 13, 15), (30, 0, None))
    """
    if exact:
        return epochs, 0, None
    if epochs != "auto":
        return epochs, 0, None if n_iter_no_change == "auto" else n_iter_no_change
    min_epochs, max_epochs = auto_epochs(n_batches)
    rule = AUTO_N_ITER_NO_CHANGE if n_iter_no_change == "auto" else n_iter_no_change
    return max_epochs, min_epochs, rule


def run_training(net, data, epochs, *, tol=3e-4, n_iter_no_change=None, min_epochs=0):
    """``net.partial_fit(data, epochs=epochs)`` under the plateau rule.

    The network must be initialised. A training call whose loss becomes NaN
    or infinite is undone (weights, optimiser state, history) before the
    error is raised.

    Returns
    -------
    n_epochs : int
        Epochs that ran.

    Raises
    ------
    ValueError
        If the monitored loss became NaN or infinite.

    Warns
    -----
    ConvergenceWarning
        If the plateau rule is on and ``epochs`` ran out before it stopped.
    """
    monitor = dict(net.callbacks_)["training_monitor"]
    monitor.tol, monitor.n_iter_no_change, monitor.min_epochs = tol, n_iter_no_change, min_epochs
    monitor.stop_reason_, monitor.monitor_ = None, "train_loss"
    state = copy.deepcopy({"module": net.module_.state_dict(), "opt": net.optimizer_.state_dict()})
    before = len(net.history)
    if epochs > 0:
        net.partial_fit(data, None, epochs=epochs)
    n_epochs = len(net.history) - before
    if monitor.stop_reason_ == "non-finite":
        net.module_.load_state_dict(state["module"])
        net.optimizer_.load_state_dict(state["opt"])
        del net.history[before:]
        raise ValueError(
            f"training diverged: {monitor.monitor_} became {monitor.bad_value_} in epoch "
            f"{n_epochs} of this call. Lower lr (now {net.lr:g}; 1e-3 is the default), scale "
            "X (e.g. StandardScaler) or check X for extreme values."
        )
    if monitor.stop_reason_ == "plateau" and net.verbose:
        print(
            f"Stopped after {n_epochs} epochs: {monitor.monitor_} improved by less than "
            f"tol={tol:g} (of the first epoch's loss) in {n_iter_no_change} epochs."
        )
    if n_iter_no_change is not None and n_epochs == epochs > 0 and monitor.stop_reason_ is None:
        warnings.warn(
            f"training reached max_epochs={epochs} before {monitor.monitor_} stopped "
            f"improving by tol={tol:g} (of the first epoch's loss) for n_iter_no_change="
            f"{n_iter_no_change} epochs: the model may be under-trained. Raise max_epochs "
            "(or lr, or tol), or pass an int max_epochs without n_iter_no_change to train a "
            "fixed number of epochs.",
            ConvergenceWarning,
        )
    return n_epochs


def make_net(n_features, lik, *, module, n_components, hidden_layer_sizes, validation_fraction,
             callbacks, **kwargs):  # fmt: skip
    """An :class:`LRAVANet` for ``lik`` with the default MLP core or ``module``.

    ``kwargs`` go to :class:`LRAVANet` (``gamma``, ``beta``, ``reference``,
    ``lr``, ...); ``callbacks`` get a progress bar and the
    :class:`TrainingMonitor` (see :func:`training_callbacks`).
    """
    if isinstance(module, torch.nn.Module):
        module = copy.deepcopy(module)
    core = build_core(module, n_features, n_components, lik.n_outputs, hidden_layer_sizes)
    train_split = None
    if validation_fraction is not None:
        from skorch.dataset import ValidSplit

        seed = int(torch.randint(2**31 - 1, ()))  # the caller seeds torch: a reproducible split
        train_split = ValidSplit(validation_fraction, stratified=False, random_state=seed)
    return LRAVANet(
        VAE(core, lik),
        iterator_train__shuffle=True,
        train_split=train_split,
        callbacks=training_callbacks(callbacks),
        **kwargs,
    )


def load_network_state(net, state):
    """Load ``module``, ``optimizer`` and ``history`` of ``state`` (those present) into ``net``.

    Raises
    ------
    ValueError
        If the weights do not fit the network.
    """
    from skorch.history import History

    try:
        if "module" in state:
            net.module_.load_state_dict(state["module"])
        if "optimizer" in state:
            net.optimizer_.load_state_dict(state["optimizer"])
    except (RuntimeError, KeyError, ValueError) as exc:
        detail = " ".join(str(exc).split())[:300]
        raise ValueError(
            "the stored weights do not fit the network built from the saved "
            f"parameters (was a different module= passed?): {detail}"
        ) from None
    if "history" in state:
        net.history_ = History(list(state["history"]))


def check_hidden_layer_sizes(hidden_layer_sizes):
    """``hidden_layer_sizes`` as a tuple of ints; ValueError naming the fix otherwise.

    Examples
    --------
    >>> from sklearn_lravae._net import check_hidden_layer_sizes
    >>> check_hidden_layer_sizes([64, 32])
    (64, 32)
    """
    try:
        sizes = list(hidden_layer_sizes)
    except TypeError:
        sizes = None
    if sizes is None or not all(
        isinstance(h, numbers.Integral) and not isinstance(h, bool) and h >= 1 for h in sizes
    ):
        raise ValueError(
            "hidden_layer_sizes must be a sequence of positive integers, e.g. (256, 128), "
            f"got {hidden_layer_sizes!r}."
        )
    return tuple(int(h) for h in sizes)


@contextlib.contextmanager
def flush_denormal(enabled=True):
    """:func:`torch.set_flush_denormal` while the block runs (process-global)."""
    if not enabled:
        yield
        return
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _PrintLog(PrintLog):
    """skorch's epoch table, without colour codes when stdout is not a terminal."""

    def format_row(self, row, key, color):
        text = super().format_row(row, key, color)
        if isinstance(text, str) and not _isatty(sys.stdout):
            text = _ANSI.sub("", text)
        return text


def _isatty(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


class _Unused(torch.nn.Module):
    """Placeholder criterion: the objective lives in :mod:`sklearn_lravae._loss`."""

    def forward(self, *args):  # pragma: no cover - never called
        raise RuntimeError("LRAVANet computes its loss in get_loss.")


class LRAVANet(NeuralNet):
    """NeuralNet that trains a :class:`~sklearn_lravae._network.VAE` with the LRA loss.

    Parameters
    ----------
    module : VAE
        Initialised module.
    gamma, beta : float
        Weights of the LRE and KL terms.
    reference : float or reference object
        Latent reference distribution of the LRE term.
    n_reference_samples : int
        Reference samples drawn fresh for every batch.
    lre_decode : {"auto", "mean", "straight_through"}
        What the encoder reads back in the LRE term (``_loss.resolve_lre_decode``).
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    def __init__(
        self,
        module,
        *args,
        gamma=1.0,
        beta=1.0,
        reference=2.0,
        n_reference_samples=128,
        lre_decode="auto",
        criterion=_Unused,
        iterator_train=BatchSliceLoader,
        iterator_valid=BatchSliceLoader,
        **kwargs,
    ):
        super().__init__(
            module,
            *args,
            criterion=criterion,
            iterator_train=iterator_train,
            iterator_valid=iterator_valid,
            **kwargs,
        )
        self.gamma = gamma
        self.beta = beta
        self.reference = reference
        self.n_reference_samples = n_reference_samples
        self.lre_decode = lre_decode

    @property
    def _default_callbacks(self):
        return [
            *super()._default_callbacks[:1],  # epoch_timer
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            *((f"train_{t}", PassthroughScoring(name=f"train_{t}", on_train=True)) for t in TERMS),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("print_log", _PrintLog()),
        ]

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if isinstance(X, dict):
            x, sample_weight = X["x"], X.get("sample_weight")
        else:
            x, sample_weight = X, None
        x = x.to(self.device)
        if sample_weight is not None:
            sample_weight = sample_weight.to(self.device)
        z_ref = None
        if self.gamma > 0:
            z_ref = check_reference(self.reference).sample(
                self.n_reference_samples, y_pred[1].shape[1], device=self.device
            )
        terms = lravae_loss(
            self.module_, x, y_pred, z_ref, gamma=self.gamma, beta=self.beta,
            sample_weight=sample_weight, lre_decode=self.lre_decode,
        )  # fmt: skip
        prefix = "train_" if training else "valid_"
        for name in TERMS:
            value = getattr(terms, name)
            if value is not None:
                self.history.record_batch(prefix + name, value.mean().item())
        return terms.loss
