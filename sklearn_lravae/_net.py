"""skorch net whose single override, :meth:`LRAVANet.get_loss`, applies the objective.

Training, callbacks, progress bars, validation splits, devices and warm starts
are skorch's own; this module adds nothing to the training loop except the loss.
"""

import torch
from skorch import NeuralNet
from skorch.callbacks import PassthroughScoring

from ._loss import lravae_loss
from .reference import check_reference

__all__ = ["LRAVANet"]

#: Per-batch terms recorded in ``net.history`` (averaged per epoch).
TERMS = ("nll", "kl", "lre")


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
        **kwargs,
    ):
        super().__init__(module, *args, criterion=criterion, **kwargs)
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
