"""Mini-batches of in-memory training data for skorch, without a float copy of the data.

:class:`BatchSliceLoader` is the ``iterator_train`` / ``iterator_valid`` of
:class:`~sklearn_lravae._net.LRAVANet`: it gathers each batch with one index and
converts only that batch to float32, so compact data (``uint8`` / ``bool``
arrays, CSR matrices) are never copied as a whole.
"""

import warnings

import numpy as np
import scipy.sparse as sp
import torch

from ._utils import take_rows

__all__ = ["BatchSliceLoader"]


class BatchSliceLoader:
    """Mini-batch iterator that slices whole batches out of in-memory arrays.

    A drop-in for skorch's ``iterator_train`` / ``iterator_valid`` on array
    data: instead of indexing and collating one sample at a time (as
    :class:`torch.utils.data.DataLoader` over a skorch ``Dataset`` does), it
    gathers each batch with a single tensor index. Batch order uses torch's
    global RNG, like ``DataLoader(shuffle=True)``.

    Arrays are not copied: each batch becomes float32 on its own (a CSR batch is
    row-sliced, then densified), so compact data never has a float copy.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset or torch.utils.data.Subset of one
        Holds ``X``: an array or CSR matrix, or a dict of them
        (``{"x": ..., "sample_weight": ...}``).
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
        self.X = {k: _as_tensor(v) for k, v in X.items()} if isinstance(X, dict) else _as_tensor(X)
        first = next(iter(self.X.values())) if isinstance(self.X, dict) else self.X
        self.index = index if index is not None else torch.arange(first.shape[0])
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
                yield {k: take_rows(v, batch) for k, v in self.X.items()}, y
            else:
                yield take_rows(self.X, batch), y


def _as_tensor(a):
    """``torch.as_tensor`` without copying, also for read-only arrays (CSR kept as is).

    Batches are gathered by indexing (new tensors), so nothing ever writes to
    the shared memory: torch's warning about non-writable arrays (e.g. pandas
    output under ``set_output(transform="pandas")``) does not apply.
    """
    if sp.issparse(a):
        return a.tocsr()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.as_tensor(a)
