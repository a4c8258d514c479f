"""skorch net whose single override, :meth:`LRAVANet.get_loss`, applies the objective.

Training, callbacks, progress bars, validation splits, devices and warm starts
are skorch's own; this module adds nothing to the training loop except the loss.
"""

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import PassthroughScoring

from ._loss import lravae_loss
from .reference import check_reference

__all__ = ["BatchSliceLoader", "LRAVANet"]

#: Per-batch terms recorded in ``net.history`` (averaged per epoch).
TERMS = ("nll", "kl", "lre")


class BatchSliceLoader:
    """Mini-batch iterator that slices whole batches out of in-memory arrays.

    A drop-in for skorch's ``iterator_train`` / ``iterator_valid`` on array
    data: instead of indexing and collating one sample at a time (as
    :class:`torch.utils.data.DataLoader` over a skorch ``Dataset`` does), it
    gathers each batch with a single tensor index. Batch order uses torch's
    global RNG, like ``DataLoader(shuffle=True)``.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset or torch.utils.data.Subset of one
        Holds ``X``: an array, or a dict of arrays (``{"x": ..., "sample_weight": ...}``).
    batch_size : int
        Samples per batch (the last one may be smaller).
    shuffle : bool, default=False
        Draw a new permutation every epoch.
    """

    def __init__(self, dataset, batch_size, shuffle=False):
        index = None
        if isinstance(dataset, torch.utils.data.Subset):
            index = torch.as_tensor(np.asarray(dataset.indices), dtype=torch.long)
            dataset = dataset.dataset
        X = dataset.X
        self.X = (
            {k: torch.as_tensor(v) for k, v in X.items()}
            if isinstance(X, dict)
            else torch.as_tensor(X)
        )
        first = next(iter(self.X.values())) if isinstance(self.X, dict) else self.X
        self.index = index if index is not None else torch.arange(len(first))
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __len__(self):
        return (len(self.index) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        index = self.index
        if self.shuffle:
            index = index[torch.randperm(len(index))]
        y = torch.zeros(0)
        for start in range(0, len(index), self.batch_size):
            batch = index[start : start + self.batch_size]
            if isinstance(self.X, dict):
                yield {k: v[batch] for k, v in self.X.items()}, y
            else:
                yield self.X[batch], y


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

    @property
    def _default_callbacks(self):
        return [
            *super()._default_callbacks[:1],  # epoch_timer
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            *((f"train_{t}", PassthroughScoring(name=f"train_{t}", on_train=True)) for t in TERMS),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            *super()._default_callbacks[3:],  # print_log
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
            self.module_,
            x,
            y_pred,
            z_ref,
            gamma=self.gamma,
            beta=self.beta,
            sample_weight=sample_weight,
        )
        prefix = "train_" if training else "valid_"
        for name in TERMS:
            value = getattr(terms, name)
            if value is not None:
                self.history.record_batch(prefix + name, value.mean().item())
        return terms.loss
