"""A small CNN image classifier whose penultimate layer is a feature extractor.

Inception weights cannot be downloaded everywhere, so the Fréchet distance of
generated images (FID) is computed on the features of a small convolutional
classifier trained on the same data set (:class:`CNNFeatureExtractor`). Its
``predict_proba`` also gives the classifier's confidence in decoded images.
"""

import math
import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from ._utils import batched_inference

__all__ = ["CNNFeatureExtractor"]


class _SmallCNN(nn.Module):
    """Two conv/ReLU/max-pool blocks, a hidden linear layer (the features), logits."""

    def __init__(self, image_shape, n_filters, n_hidden, n_classes):
        super().__init__()
        blocks, channels = [], 1
        h, w = image_shape
        for f in n_filters:
            blocks += [nn.Conv2d(channels, f, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            channels, h, w = f, h // 2, w // 2
        self.image_shape = tuple(image_shape)
        self.conv = nn.Sequential(*blocks)
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(channels * h * w, n_hidden), nn.ReLU())
        self.out = nn.Linear(n_hidden, n_classes)

    def features(self, x):
        return self.hidden(self.conv(x.view(-1, 1, *self.image_shape)))

    def forward(self, x):
        return self.out(self.features(x))


class CNNFeatureExtractor(ClassifierMixin, TransformerMixin, BaseEstimator):
    """Small CNN classifier for grey-scale images; ``transform`` gives its features.

    Two blocks ``Conv2d(3x3) -> ReLU -> MaxPool2d(2)`` followed by a hidden
    layer of ``n_hidden`` ReLU units (the *penultimate features* returned by
    :meth:`transform`) and a linear output layer, trained with cross-entropy
    and Adam. Fitted on a data set's training split, it stands in for the
    Inception network of the FID (see :func:`~sklearn_lravae.metrics.frechet_distance`);
    :meth:`predict_proba` measures how confidently a decoded image is
    recognised as some class.

    Parameters
    ----------
    image_shape : tuple of int (height, width) or None, default=None
        Shape of one image; ``None`` infers a square image from the number of
        features (784 -> 28x28, 64 -> 8x8). Each row of ``X`` is one
        flattened image, pixel values as given (e.g. scaled to [0, 1]).
    n_filters : tuple of int, default=(16, 32)
        Channels of the convolution blocks (each halves height and width).
    n_hidden : int, default=128
        Width of the penultimate layer, i.e. the feature dimension.
    max_epochs : int, default=3
        Training epochs.
    batch_size : int, default=128
        Mini-batch size.
    lr : float, default=1e-3
        Adam learning rate.
    device : str, default="cpu"
        Torch device.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation and batch order (the global torch RNG is
        left untouched).
    verbose : int, default=0
        ``> 0`` shows a tqdm progress bar over the batches of each epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    module_ : torch.nn.Module
        The trained network (``module_.features(x)`` gives the features).
    n_features_in_ : int
        Number of pixels per image.
    image_shape_ : tuple of int
        The (height, width) used.
    loss_curve_ : list of float
        Mean training cross-entropy per epoch.

    See Also
    --------
    sklearn_lravae.metrics.frechet_distance : Fréchet distance of two feature sets.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_lravae.metrics import CNNFeatureExtractor
    >>> X, y = load_digits(return_X_y=True)
    >>> cnn = CNNFeatureExtractor(n_filters=(4, 8), n_hidden=16, max_epochs=1, random_state=0)
    >>> cnn.fit(X[:500] / 16, y[:500]).transform(X[1000:1005] / 16).shape
    (5, 16)
    >>> cnn.predict_proba(X[1000:1005] / 16).shape
    (5, 10)
    """

    _parameter_constraints = {
        "image_shape": [None, tuple],
        "n_filters": [tuple, list],
        "n_hidden": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        image_shape=None,
        *,
        n_filters=(16, 32),
        n_hidden=128,
        max_epochs=3,
        batch_size=128,
        lr=1e-3,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.image_shape = image_shape
        self.n_filters = n_filters
        self.n_hidden = n_hidden
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _resolve_shape(self, n_features):
        if self.image_shape is None:
            side = math.isqrt(n_features)
            if side * side != n_features:
                raise ValueError(
                    f"X has {n_features} features, which is not a square image: pass "
                    "image_shape=(height, width) with height * width == n_features."
                )
            shape = (side, side)
        else:
            shape = tuple(int(s) for s in self.image_shape)
            if len(shape) != 2 or shape[0] * shape[1] != n_features:
                raise ValueError(
                    f"image_shape={self.image_shape!r} does not match X with {n_features} "
                    "features: pass (height, width) with height * width == n_features."
                )
        n_pool = len(self.n_filters)
        if min(shape) < 2**n_pool or any(int(f) < 1 for f in self.n_filters):
            raise ValueError(
                f"image_shape {shape} is too small for {n_pool} pooling blocks, or "
                f"n_filters={self.n_filters!r} has a non-positive entry: use fewer blocks "
                "or larger images."
            )
        return shape

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, height * width)
            Flattened grey-scale images.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : CNNFeatureExtractor
            The fitted classifier.
        """
        X, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y has 1 class ({self.classes_[0]!r}): a classifier needs at least two classes."
            )
        self.image_shape_ = self._resolve_shape(X.shape[1])
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        devices = [self.device] if str(self.device).startswith("cuda") else []
        Xt = torch.as_tensor(X)
        yt = torch.as_tensor(y_idx, dtype=torch.long)
        self.loss_curve_ = []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            module = _SmallCNN(
                self.image_shape_,
                [int(f) for f in self.n_filters],
                self.n_hidden,
                len(self.classes_),
            ).to(self.device)
            opt = torch.optim.Adam(module.parameters(), lr=self.lr)
            loss_fn = nn.CrossEntropyLoss()
            module.train()
            n_batches = (len(X) + self.batch_size - 1) // self.batch_size
            for epoch in range(self.max_epochs):
                order = torch.randperm(len(X))
                batches = range(n_batches)
                if self.verbose:
                    from tqdm.auto import tqdm

                    batches = tqdm(batches, desc=f"CNN epoch {epoch + 1}/{self.max_epochs}")
                total = 0.0
                for b in batches:
                    idx = order[b * self.batch_size : (b + 1) * self.batch_size]
                    xb, yb = Xt[idx].to(self.device), yt[idx].to(self.device)
                    opt.zero_grad()
                    loss = loss_fn(module(xb), yb)
                    loss.backward()
                    opt.step()
                    total += loss.item() * len(idx)
                self.loss_curve_.append(total / len(X))
        module.eval()
        self.module_ = module
        return self

    def _predict_batches(self, X, fn):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32)
        out = batched_inference(self.module_, lambda m, x: fn(x), X, self.device, batch_size=2048)
        return out.astype(np.float64)

    def transform(self, X):
        """Penultimate-layer features of the images.

        Parameters
        ----------
        X : array-like of shape (n_samples, height * width)
            Flattened images.

        Returns
        -------
        features : ndarray of shape (n_samples, n_hidden)
            Hidden-layer activations (after ReLU).
        """
        return self._predict_batches(X, lambda x: self.module_.features(x))

    def predict_proba(self, X):
        """Class probabilities (softmax of the logits).

        Parameters
        ----------
        X : array-like of shape (n_samples, height * width)
            Flattened images.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``.
        """
        return self._predict_batches(X, lambda x: torch.softmax(self.module_(x), dim=1))

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, height * width)
            Flattened images.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels.
        """
        proba = self.predict_proba(X)  # checks that the extractor is fitted
        return self.classes_[np.argmax(proba, axis=1)]

    @property
    def _n_features_out(self):
        return self.n_hidden

    def get_feature_names_out(self, input_features=None):
        """Return the names ``cnnfeatureextractor0``, ... of the feature columns.

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        names : ndarray of str of shape (n_hidden,)
            Output feature names.
        """
        check_is_fitted(self)
        return np.asarray([f"cnnfeatureextractor{i}" for i in range(self.n_hidden)], dtype=object)
