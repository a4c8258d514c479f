"""Decoder inversion (InvBO): latent points whose decode really is the evaluated object.

The surrogate of a latent-space search is told ``(z, y)``; ``y`` belongs to the
object ``x`` that was evaluated, and the encoder's ``enc_mu(x)`` usually does
not decode back to ``x`` (the *latent inconsistency*, user guide "LSBO").
Inversion (Chu et al., NeurIPS 2024, "InvBO") looks for ``z'`` with
``dec(z') = x`` instead: start at ``enc_mu(x)`` and maximise the decoder's
log-likelihood ``log p(x | z')`` by a few dozen Adam steps on ``z'`` alone (the
network's weights get no gradient and are not changed), all points at once.

:func:`invert_latents` is the optimisation on the VAE's input arrays;
:func:`consistent_latents` is what the search uses: invert the objects through
the estimator (:meth:`LatentCodec.invert`) and keep ``z'`` for the objects it
reproduces, the latent points given for the others.
"""

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["consistent_latents", "invert_latents", "reproduces"]

#: Numeric objects are reproduced when every feature is within this of the object
#: (absolute and relative, :func:`numpy.allclose`); strings must be equal.
NUMERIC_TOLERANCE = 1e-3


def reproduces(decoded, obj):
    """Whether a decoded object is the object ``obj`` (equal strings, or close numbers).

    Examples
    --------
    >>> from sklearn_lravae.search._invert import reproduces
    >>> reproduces("CCO", "CCO"), reproduces("CCO", "OCC"), reproduces([0.5, 1.0], [0.5, 1.0004])
    (True, False, True)
    """
    if isinstance(obj, str) or isinstance(decoded, str):
        return decoded == obj
    a, b = np.asarray(decoded, dtype=float), np.asarray(obj, dtype=float)
    tol = NUMERIC_TOLERANCE
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=tol, atol=tol))


def _log_likelihood(module, x, z):
    out = module.decode(z)
    return module.likelihood.log_prob(x, out), out


def _exact(likelihood, x, out):
    """Rows whose most likely decode is ``x`` (categorical data; None otherwise)."""
    k = getattr(likelihood, "n_categories", None)
    if getattr(likelihood, "name", None) != "categorical" or not k:
        return None
    n = x.shape[0]
    return (out.reshape(n, -1, k).argmax(-1) == x.reshape(n, -1, k).argmax(-1)).all(-1)


def _invert_batch(module, x, z0, scale, steps, lr):
    """Adam on ``u`` with ``z = z0 + scale * u``.

    Per row the first iterate whose mode decode is ``x`` (categorical data),
    otherwise the iterate of highest ``log p(x | z)``.
    """
    u = torch.zeros_like(z0, requires_grad=True)
    opt = torch.optim.Adam([u], lr=lr)
    best_z = z0.clone()
    best_lp = torch.full((len(z0),), -torch.inf, device=z0.device)
    done = torch.zeros(len(z0), dtype=torch.bool, device=z0.device)
    for step in range(steps + 1):
        z = z0 + scale * u
        lp, out = _log_likelihood(module, x, z)
        with torch.no_grad():
            exact = _exact(module.likelihood, x, out)
            keep = (lp > best_lp) & ~done
            if exact is not None:
                keep |= exact & ~done
                done |= exact
            best_lp = torch.where(keep, lp, best_lp)
            best_z[keep] = z.detach()[keep]
        if step == steps or bool(done.all()):
            break
        (u.grad,) = torch.autograd.grad(-lp.sum(), u)  # the weights get no gradient
        opt.step()
    return best_z, best_lp


def invert_latents(vae, X, Z0, *, steps=50, lr=0.05, scale=1.0, batch_size=4096):
    """Maximise ``log p(x | z)`` over ``z`` for each row of ``X``, starting from ``Z0``.

    Parameters
    ----------
    vae : LRAVAETransformer
        Fitted; its network (``net_.module_``) is used as it is, in eval mode,
        and left unchanged (its training flag is restored).
    X : array-like of shape (n_samples, n_features)
        Objects in the VAE's input space (e.g. one-hot SELFIES rows).
    Z0 : array-like of shape (n_samples, n_components)
        Starting points, usually ``vae.transform(X)``.
    steps : int, default=50
        Adam steps.
    lr : float, default=0.05
        Adam step size, in units of ``scale``.
    scale : float or array-like of shape (n_components,), default=1.0
        Per-dimension unit of the steps (e.g. the width of the search box, so
        that the step size does not depend on the latent spread).
    batch_size : int, default=4096
        Rows optimised together (rows are independent).

    Returns
    -------
    Z : ndarray of shape (n_samples, n_components)
        For each row the first iterate whose most likely decode is the row of
        ``X`` (categorical likelihood), otherwise the iterate with the highest
        log-likelihood (the start included).
    log_likelihood : ndarray of shape (n_samples,)
        ``log p(x | z)`` at ``Z``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_lravae import LRAVAETransformer
    >>> from sklearn_lravae.search._invert import invert_latents
    >>> X = load_digits().data[:200] / 16
    >>> vae = LRAVAETransformer(2, likelihood="bernoulli", max_epochs=5, random_state=0).fit(X)
    >>> Xd = vae.inverse_transform(vae.transform(X[:5]) + 0.3)  # decoded objects
    >>> Z0 = vae.transform(Xd)
    >>> _, ll0 = invert_latents(vae, Xd, Z0, steps=0)  # log p(x | enc_mu(x))
    >>> Z, ll = invert_latents(vae, Xd, Z0, steps=30)
    >>> Z.shape, bool(ll.mean() > ll0.mean())
    ((5, 2), True)
    """
    module, device = vae.net_.module_, vae.net_.device
    X = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float32)
    Z0 = np.asarray(Z0, dtype=np.float32).reshape(len(X), -1)
    Z, ll = np.empty(Z0.shape), np.empty(len(X))
    scale = torch.as_tensor(np.array(np.broadcast_to(scale, Z0.shape[1:]), dtype=np.float32))
    was_training = module.training
    module.eval()
    try:
        with torch.enable_grad():
            for start in range(0, len(X), batch_size):
                sl = slice(start, start + batch_size)
                x = torch.as_tensor(X[sl], device=device)
                z0 = torch.as_tensor(Z0[sl], device=device)
                z, lp = _invert_batch(module, x, z0, scale.to(device), int(steps), float(lr))
                Z[sl], ll[sl] = z.cpu().numpy(), lp.cpu().numpy()
    finally:
        module.train(was_training)
    return Z, ll


def consistent_latents(codec, Z, objects, *, steps, lr, scale=1.0):
    """The latents to tell the surrogate for ``objects`` that ``Z`` stands for.

    Each object is inverted (:meth:`LatentCodec.invert`); where the inverted
    point decodes back to the object it replaces the row of ``Z``, elsewhere
    the row of ``Z`` is kept (a queried point decodes to its object by
    construction; an encoded one is what the search used before).

    Parameters
    ----------
    codec : LatentCodec
        The search's estimator.
    Z : ndarray of shape (n, n_components)
        The latent points given for the objects (queried or encoded).
    objects : list
        The objects.
    steps, lr : int, float
        Adam steps and step size of the inversion.
    scale : float or array-like of shape (n_components,), default=1.0
        Unit of the steps (:func:`invert_latents`).

    Returns
    -------
    told : ndarray of shape (n, n_components)
        ``Z`` with the reproducing inverted rows put in.
    reproduced : ndarray of bool, shape (n,)
        Which rows were replaced.
    """
    Z = np.array(Z, dtype=float).reshape(len(objects), -1)
    if not len(objects):
        return Z, np.zeros(0, dtype=bool)
    inverted, reproduced = codec.invert(objects, steps=steps, lr=lr, scale=scale)
    Z[reproduced] = inverted[reproduced]
    return Z, reproduced
