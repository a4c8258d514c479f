"""Proposing latent points: prior samples, skopt's acquisition, the consistency filter.

:class:`Proposer` turns the observations of a search (latents in the current
coordinates and the values skopt minimises) into the next latent points. It
owns the search box and the skopt ``Space``, builds a fresh
``skopt.Optimizer`` around the surrogate for every proposal, and optionally
applies the consistency filter (candidates whose hard-decode LRE exceeds a
threshold are skipped).
"""

import warnings

import numpy as np
from sklearn.base import clone
from skopt.acquisition import _gaussian_acquisition
from skopt.utils import has_gradients

from ._batch import constant_liar_batch, supports_fantasies
from ._evaluate import object_key
from ._object_gp import FeatureMemo
from ._space import BoxOptimizer, BoxSpace
from ._trust_region import thompson_choice

__all__ = ["ACQ_OPTIMIZER_KWARGS", "Proposer"]

ACQ_OPTIMIZER_KWARGS = {"n_points": 2000, "n_restarts_optimizer": 2}


def derived_seed(seed, *keys):
    """A 32-bit seed derived from the run's seed and ``keys`` (e.g. the step)."""
    return int(np.random.SeedSequence([int(seed), *map(int, keys)]).generate_state(1)[0])


class Proposer:
    """Next latent points from the observations.

    Parameters
    ----------
    box : ndarray of shape (n_components, 2)
        Search box.
    surrogates : SurrogateManager
        Builds the regressor handed to skopt.
    acq_func, acq_optimizer, acq_optimizer_kwargs
        As in :class:`~sklearn_lravae.search.LatentBayesSearch`.
    lre_threshold : float or None
        Consistency filter threshold (None: off).
    n_candidates : int
        Candidates checked per requested point by the filter.
    lre : callable
        ``lre(Z) -> ndarray``: hard-decode LRE of latent points (the filter's test).
    decode : callable or None
        ``decode(Z) -> objects``; needed when the surrogate models objects
        (it has ``featurize``, e.g. :class:`~sklearn_lravae.search.TanimotoGP`).
    """

    def __init__(
        self,
        box,
        surrogates,
        *,
        acq_func="EI",
        acq_optimizer="auto",
        acq_optimizer_kwargs=None,
        lre_threshold=None,
        n_candidates=20,
        lre=None,
        decode=None,
    ):
        self.set_box(box)
        self.surrogates = surrogates
        self.acq_func = acq_func
        self.acq_optimizer = acq_optimizer
        self.acq_optimizer_kwargs = acq_optimizer_kwargs
        self.lre_threshold = lre_threshold
        self.n_candidates = n_candidates
        self.lre = lre
        self.decode = decode
        model = surrogates.surrogate
        self.features = FeatureMemo(model.featurize) if hasattr(model, "featurize") else None

    def set_box(self, box):
        """Search inside ``box`` (shape ``(n_components, 2)``) from now on."""
        self.box = np.asarray(box, dtype=float)
        self.space = BoxSpace(self.box)

    def observations(self, latents, targets):
        """Finite latents clipped to the box, and their targets."""
        ok = np.all(np.isfinite(latents), axis=1)
        return np.clip(latents[ok], self.box[:, 0], self.box[:, 1]), targets[ok]

    def prior_samples(self, n_points, seed):
        """``n_points`` draws of ``N(0, I)`` clipped to the box."""
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        Z = rng.standard_normal((n_points, len(self.box)))
        return np.clip(Z, self.box[:, 0], self.box[:, 1])

    def make_optimizer(self, latents, targets, seed, *, fit=True):
        """A skopt ``Optimizer`` told every finite observation.

        ``fit=False``: told without skopt's fit and acquisition sweep.
        """
        Zc, yt = self.observations(latents, targets)
        base = self.surrogates.base_estimator(self.space.transform(Zc.tolist()), yt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            opt = BoxOptimizer(
                self.space.dimensions,
                base_estimator=base,
                n_initial_points=0,
                acq_func=self.acq_func,
                acq_optimizer=self.acq_optimizer,
                acq_optimizer_kwargs=(
                    ACQ_OPTIMIZER_KWARGS
                    if self.acq_optimizer_kwargs is None
                    else self.acq_optimizer_kwargs
                ),
                random_state=seed,
            )
            if len(yt):
                opt.tell(Zc.tolist(), yt.tolist(), fit=fit)
        return opt

    def next_points(
        self,
        state,
        n_points,
        *,
        n_initial_points=0,
        region=None,
        center=None,
        pool=None,
        pool_objects=None,
        library_keys=(),
    ):
        """The next ``n_points`` latent points of a search in ``state`` (a SearchState).

        Prior samples while fewer than ``n_initial_points`` evaluations were
        made (or while no observation could be encoded), then Thompson samples
        in ``region`` around ``center`` when a trust region is given (``pool``:
        latents of known objects that compete with them), otherwise the
        acquisition's proposals (``pool_objects``: the objects of ``pool``, for
        a surrogate that models objects; ``library_keys``: keys of all library
        objects, whose source is 0 for it, as the initial objects', while decoded ones are 1).
        Returns ``(Z, optimizer, n_rejected, source)``;
        ``optimizer`` is None unless skopt proposed, ``source[j]`` is the row of
        ``pool`` that point ``j`` is (-1: a new point).
        """
        st = state
        n_random = min(n_points, max(0, n_initial_points - st.n_evaluated))
        if not np.all(np.isfinite(st.latents), axis=1).any():
            n_random = n_points  # no object could be encoded yet: nothing to model
        parts, sources, opt, n_rejected = [], [np.full(n_random, -1)], None, 0
        if n_random:
            parts.append(self.prior_samples(n_random, [st.seed, st.n_evaluated, 2]))
        n_model = n_points - n_random
        if n_model and region is not None and center is not None and self.features is not None:
            objects, library = st.objects(), set(library_keys)
            decoded = [  # library keys are object_key digests, strings included
                int(i >= st.n_initial and object_key(o) not in library)
                for i, o in enumerate(objects)
            ]
            Z, _, source = self.propose_objects(
                region,
                center,
                n_model,
                objects,
                st.surrogate_targets(),
                seed=[st.seed, st.n_evaluated, 3],
                pool=pool,
                pool_objects=pool_objects,
                sources=decoded,
            )
            parts.append(Z)
            sources.append(source)
        elif n_model and region is not None and center is not None:
            Z, _, source = self.propose_in_trust_region(
                region,
                center,
                n_model,
                st.latents,
                st.surrogate_targets(),
                seed=[st.seed, st.n_evaluated, 3],
                pool=pool,
            )
            parts.append(Z)
            sources.append(source)
        elif n_model:
            step = (st.seed, st.n_evaluated)
            Z, opt, n_rejected = self.propose(n_model, st.latents, st.surrogate_targets(), step)
            parts.append(Z)
            sources.append(np.full(n_model, -1))
        return np.vstack(parts), opt, n_rejected, np.concatenate(sources).astype(int)

    def propose_in_trust_region(self, region, center, n_points, latents, targets, seed, pool=None):
        """Thompson-sampled points inside ``region`` (a TrustRegion) around ``center``.

        ``pool``: latents of known objects that compete with the region's
        candidates (a chosen one is returned exactly as given). Returns
        ``(Z, model, source)``: the points, the surrogate fitted for them, and
        for each point its row of ``pool`` (-1: a new point).
        """
        Zc, yt = self.observations(latents, targets)
        Xn = np.asarray(self.space.transform(Zc.tolist()))
        model = self.surrogates.base_estimator(Xn, yt)
        if isinstance(model, str) or not hasattr(model, "kernel"):
            raise ValueError(
                "trust_region=True needs a Gaussian-process surrogate ('GP', 'GP-ML' or "
                "'GP-stock'), "
                f"got surrogate={self.surrogates.surrogate!r}."
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model.fit(Xn, yt)
        c = np.clip(np.asarray(center, dtype=float), self.box[:, 0], self.box[:, 1])
        center_n = np.asarray(self.space.transform([c.tolist()]), dtype=float)[0]
        theta = getattr(self.surrogates, "theta_", None)
        ls = None
        if theta is not None and len(theta) == len(self.box) + 1:
            ls = np.exp(np.asarray(theta, dtype=float)[1:])
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        extra, keep = self._pool_candidates(model, pool, region.n_candidates // 2)
        Zn, src = region.propose_from(model, center_n, n_points, rng, length_scales=ls, extra=extra)
        Z = np.array(self.space.inverse_transform(Zn.tolist()), dtype=float).reshape(n_points, -1)
        source = np.array([keep[i] if i >= 0 else -1 for i in src], dtype=int)
        if np.any(source >= 0):
            Z[source >= 0] = pool[source[source >= 0]]  # known objects' latents, exactly
        return Z, model, source

    def propose_objects(
        self,
        region,
        center,
        n_points,
        objects,
        targets,
        seed,
        pool=None,
        pool_objects=None,
        sources=None,
    ):
        """Thompson-sampled points of ``region``, ranked by a surrogate of the *objects*.

        The region's candidates are decoded (with as many uniform points of the
        box when fewer than ``n_points`` of them are new); the distinct decodes that were not
        evaluated yet (and the most promising unevaluated ``pool_objects``, by
        lower confidence bound, up to half the region's candidates) are
        featurised and one joint posterior draw of the object surrogate per
        point picks them. ``sources`` (0: library or initial object, 1:
        decoded) reach a surrogate with a ``source_variance``. Returns
        ``(Z, model, source)`` as :meth:`propose_in_trust_region`.
        """
        model = clone(self.surrogates.surrogate)
        by_source = hasattr(model, "source_variance") and sources is not None

        def src(values):  # the sources keyword for a surrogate that takes them
            return {"sources": np.asarray(values, dtype=int)} if by_source else {}

        model.fit(self.features(objects), targets, **src(sources))
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        Zc, rows, new = self._new_decodes(region, center, objects, n_points, rng)
        feats = [self.features(new)] if new else []
        keep = np.zeros(0, dtype=int)
        if pool is not None and pool_objects:
            keep = np.flatnonzero(np.all(np.isfinite(np.asarray(pool, dtype=float)), axis=1))
            Fp = self.features([pool_objects[i] for i in keep]) if len(keep) else None
            n_max = region.n_candidates // 2
            if Fp is not None and len(keep) > n_max:
                mean, std = model.predict(Fp, return_std=True, **src(np.zeros(len(Fp))))
                best = np.sort(np.argsort(mean - std, kind="stable")[:n_max])
                Fp, keep = Fp[best], keep[best]
            feats += [Fp] if Fp is not None else []
        n_new, chosen = len(rows), []
        if feats:
            F = np.vstack(feats)
            mean, cov = model.predict(F, return_cov=True, **src(np.arange(len(F)) < n_new))
            chosen = thompson_choice(mean, cov, n_points, rng)
        taken = set(rows)
        rest = [i for i in range(len(Zc)) if i not in taken][: n_points - len(chosen)]
        Z = np.vstack(
            [*(Zc[rows[i]] if i < n_new else pool[keep[i - n_new]] for i in chosen), *Zc[rest]]
        ).reshape(-1, Zc.shape[1])
        source = np.array(
            [keep[i - n_new] if i >= n_new else -1 for i in chosen] + [-1] * len(rest), dtype=int
        )
        return Z, model, source

    def _new_decodes(self, region, center, objects, n_points, rng):
        """``(Zc, rows, new)``: candidates, and the rows of the first of each new decode.

        The region's candidates, and as many uniform points of the box when
        fewer than ``n_points`` of their decodes are new (not in ``objects``,
        not empty).
        """
        c = np.clip(np.asarray(center, dtype=float), self.box[:, 0], self.box[:, 1])
        center_n = np.asarray(self.space.transform([c.tolist()]), dtype=float)[0]
        Zn = region.candidates(center_n, rng)
        seen, first = {object_key(o) for o in objects}, {}
        for attempt in range(2):
            if attempt:
                Zn = np.vstack([Zn, rng.random(Zn.shape)])
            Zc = np.array(self.space.inverse_transform(Zn.tolist()), dtype=float)
            Zc = Zc.reshape(len(Zn), -1)
            start = 0 if not attempt else len(Zn) // 2
            for i, o in enumerate(self.decode(Zc[start:]), start):
                k = object_key(o)
                if k not in seen and k not in first and (not isinstance(o, str) or o):
                    first[k] = (i, o)
            if len(first) >= n_points:
                break
        return Zc, [i for i, _ in first.values()], [o for _, o in first.values()]

    def _pool_candidates(self, model, pool, n_max):
        """The ``n_max`` most promising pool latents (lowest ``mean - std``), normalised.

        Returns ``(extra, keep)``: their normalised coordinates (None if none)
        and their rows of ``pool``. Pool points outside the search box are left out.
        """
        if pool is None or not len(pool) or n_max < 1:
            return None, np.zeros(0, dtype=int)
        pool = np.asarray(pool, dtype=float)
        inside = np.all((pool >= self.box[:, 0]) & (pool <= self.box[:, 1]), axis=1)
        keep = np.flatnonzero(inside & np.all(np.isfinite(pool), axis=1))
        if not len(keep):
            return None, keep
        extra = np.asarray(self.space.transform(pool[keep].tolist()), dtype=float)
        if len(keep) > n_max:
            mean, std = model.predict(extra, return_std=True)
            best = np.sort(np.argsort(mean - std, kind="stable")[:n_max])
            extra, keep = extra[best], keep[best]
        return extra, keep

    def _sweeps_once(self):
        """Whether a batch comes from one acquisition sweep (:mod:`._batch`).

        So it does where skopt would optimise the acquisition by ``"sampling"``:
        when asked to, or with ``"auto"`` for a surrogate without gradients
        (``"RF"``, ``"ET"``, a forest instance; skopt's own rule), and EI, PI or LCB.
        """
        if self.acq_func not in ("EI", "PI", "LCB"):
            return False
        if self.acq_optimizer != "auto":
            return self.acq_optimizer == "sampling"
        model = self.surrogates.surrogate
        return not (model.startswith("GP") if isinstance(model, str) else has_gradients(model))

    def _fit_and_sweep(self, latents, targets, seed):
        """``(optimizer, candidates, model)``: the told optimiser, fitted once, and its sweep.

        The optimiser is told every observation without skopt's own fit and
        sweep; its surrogate is fitted here (and kept in ``optimizer.models``)
        and ``candidates`` are ``optimizer.n_points`` uniform points of the box in
        skopt's normalised space.
        """
        opt = self.make_optimizer(latents, targets, seed, fit=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model = clone(opt.base_estimator_).fit(opt.space.transform(opt.Xi), opt.yi)
        opt.models.append(model)
        rng = np.random.RandomState(seed)
        X = np.asarray(opt.space.transform(opt.space.rvs(opt.n_points, random_state=rng)))
        return opt, X.reshape(opt.n_points, -1), model

    def propose(self, n_points, latents, targets, step_seed):
        """The acquisition's next points (consistency-filtered if configured).

        With ``acq_optimizer="sampling"`` (and EI, PI or LCB) the surrogate is
        fitted once and its acquisition swept once over the candidates; a
        batch is the constant liar's (:func:`~._batch.constant_liar_batch`).
        Otherwise skopt's ``ask`` proposes (its constant liar refits and
        sweeps once per point). Returns ``(Z, optimizer, n_rejected)``: the
        points, the skopt optimiser told the observations (its surrogate in
        ``optimizer.models[-1]``), and how many candidates the filter rejected.
        """
        seed = derived_seed(*step_seed)
        if self._sweeps_once():
            opt, X, model = self._fit_and_sweep(latents, targets, seed)
            if supports_fantasies(model) and self.lre_threshold is None:
                rows = constant_liar_batch(
                    model,
                    X,
                    opt.yi,
                    n_points,
                    acq_func=self.acq_func,
                    acq_func_kwargs=opt.acq_func_kwargs,
                )
            else:  # one sweep, best first (a forest: no posterior to update)
                acq = _gaussian_acquisition(
                    X,
                    model,
                    y_opt=np.min(opt.yi),
                    acq_func=self.acq_func,
                    acq_func_kwargs=opt.acq_func_kwargs,
                )
                rows = np.argsort(acq, kind="stable")
                if self.lre_threshold is not None:  # only the ranks the filter can reach
                    Zc = self._from_unit(X[rows[: n_points * self.n_candidates]])
                    Z, n_rejected = self._filtered(Zc, n_points)
                    return Z, opt, n_rejected
                rows = rows[:n_points]
            return self._from_unit(X[rows]), opt, 0
        opt = self.make_optimizer(latents, targets, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if self.lre_threshold is None:
                Z = opt.ask() if n_points == 1 else opt.ask(n_points=n_points)
                return np.array(Z, dtype=float).reshape(n_points, -1), opt, 0
            best = np.array(opt.ask(), dtype=float).reshape(1, -1)
        rand = np.array(
            self.space.rvs(n_samples=2000, random_state=derived_seed(*step_seed, 1)), dtype=float
        )
        cands = np.vstack([best, rand.reshape(len(rand), -1)])
        acq = self._acquisition(opt, cands)
        acq[0] = -np.inf  # the optimiser's own (locally optimised) proposal comes first
        Z, n_rejected = self._filtered(cands[np.argsort(acq, kind="stable")], n_points)
        return Z, opt, n_rejected

    def _from_unit(self, X):
        """Points of the box from rows of skopt's normalised space."""
        return np.array(self.space.inverse_transform(np.asarray(X)), dtype=float).reshape(
            len(X), -1
        )

    def _acquisition(self, opt, cands):
        """The acquisition of ``opt``'s last surrogate at ``cands`` (EI for ``gp_hedge``).

        Any surrogate whose ``predict`` gives ``return_std`` (GPs, skopt's
        forests) ranks the candidates; one without it gives zeros (no ranking).
        """
        acq_func = "EI" if self.acq_func == "gp_hedge" else self.acq_func
        try:
            return _gaussian_acquisition(
                np.asarray(self.space.transform(cands.tolist())),
                opt.models[-1],
                y_opt=np.min(np.asarray(opt.yi, dtype=float)),
                acq_func=acq_func,
            )
        except TypeError:  # predict() without return_std
            return np.zeros(len(cands))

    def _filtered(self, ranked, n_points):
        """Consistency filter: the first ``n_points`` of ``ranked`` whose LRE passes.

        ``ranked`` are candidate points, best acquisition first; only the
        first ``n_points * n_candidates`` are checked. The first ``n_points``
        whose hard-decode LRE is below ``lre_threshold`` are taken (the least
        inconsistent ones if too few pass). Returns ``(Z, n_rejected)``.
        """
        ranked = ranked[: n_points * self.n_candidates]
        lre = self.lre(ranked)
        ok = lre <= self.lre_threshold
        chosen = [int(i) for i in np.flatnonzero(ok)[:n_points]]
        last = chosen[-1] if len(chosen) == n_points else len(ranked) - 1
        n_rejected = int(np.sum(~ok[: last + 1]))
        if len(chosen) < n_points:  # too few consistent candidates: least inconsistent
            rest = [int(i) for i in np.argsort(lre) if i not in chosen]
            chosen += rest[: n_points - len(chosen)]
        return ranked[chosen], n_rejected
