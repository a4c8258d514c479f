"""The steps of the search loop that change the latent space or what the surrogate sees.

A mixin of :class:`~sklearn_lravae.search.LatentBayesSearch`, kept apart so that
``_search.py`` reads as the loop: the components a fitted estimator gives
(codec, surrogate, proposer, trust region), the search box, the trust region's centre,
the next points (with the ``train_candidates`` pool, :mod:`._pool`), the
latents the surrogate is told (decoder inversion, :mod:`._invert`), the
retraining triggers and the retraining itself (:mod:`._retrain`).
"""

import numpy as np

from ._evaluate import evaluate, object_key
from ._invert import consistent_latents
from ._pool import DEFAULT_POOL_SIZE, CandidatePool
from ._propose import Proposer
from ._retrain import retrain_schedule, retrain_search
from ._space import data_box, make_box
from ._surrogate import SurrogateManager
from ._trust_region import make_region

__all__ = ["LoopSteps"]


class LoopSteps:
    """Box, proposals, told latents, retraining triggers and retraining of a search."""

    def _use_codec(self, codec, surrogate_state=None):
        """Adopt a fitted estimator: the codec, box, space, proposer and surrogate."""
        self._codec = codec
        self.estimator_ = codec.estimator
        d = codec.n_components
        box = make_box(3.0 if isinstance(self.bounds, str) else self.bounds, d)
        self._surrogates = SurrogateManager(self.surrogate, d, self.hp_refit_every)
        if surrogate_state is not None:
            self._surrogates.set_state(surrogate_state)
        self._proposer = Proposer(
            box,
            self._surrogates,
            acq_func=self.acq_func,
            acq_optimizer=self.acq_optimizer,
            acq_optimizer_kwargs=self.acq_optimizer_kwargs,
            lre_threshold=self.lre_threshold,
            n_candidates=self.n_candidates,
            lre=codec.lre,
            decode=codec.decode,
        )
        self.space_ = self._proposer.space
        self._region, self._pool = None, None
        if self.trust_region:
            on_objects = self._proposer.features is not None
            self._region = make_region(d, self.batch_size, self.trust_region_kwargs, on_objects)

    def _set_schedule(self):
        """Resolve ``retrain_every`` / ``retrain_on_best`` "auto" for this run's data."""
        self.retrain_every_, self.retrain_on_best_ = retrain_schedule(
            self.retrain_every, self.retrain_on_best, bool(self._train_objects)
        )

    def _update_box(self, box=None):
        """Search in ``box``; by default the box for the current latent space."""
        if box is None and isinstance(self.bounds, str):  # "data": from the encodings
            train = [self._codec.encode(self._train_objects)] if self._train_objects else []
            box = data_box(np.vstack([self._state.latents, *train]))
        elif box is None:
            box = self._proposer.box
        self._proposer.set_box(box)
        self.space_ = self._proposer.space
        self._state.box = np.asarray(box, dtype=float).tolist()

    def _build_pool(self):
        """The ``train_candidates`` pool (None when off), encoded in the current space."""
        self._pool = None
        if self.train_candidates is False:
            return
        if not self._train_objects:
            raise ValueError(
                f"train_candidates={self.train_candidates!r} proposes objects of train_objects, "
                "but none were given: call fit(X, train_objects=library)."
            )
        size = DEFAULT_POOL_SIZE if self.train_candidates is True else int(self.train_candidates)
        self._pool = CandidatePool(self._train_objects, size, self._state.seed)
        self._pool.refresh(self._codec.encode)

    def _suggest(self, n_points):
        """Next latent points: prior samples, trust region or acquisition (``Proposer``)."""
        st = self._state
        center = pool = rows = pool_objects = None
        if self._region is not None and st.best_index() is not None:
            center = self._region_center()
        if self._pool is not None:
            pool, rows = self._pool.available({object_key(o) for o in st.objects()})
            pool_objects = [self._pool.objects[r] for r in rows]
        Z, opt, n_rejected, source = self._proposer.next_points(
            st,
            n_points,
            n_initial_points=self.n_initial_points,
            region=self._region,
            center=center,
            pool=pool,
            pool_objects=pool_objects,
            library_keys=() if self._pool is None else self._pool.keys,
        )
        if self._pool is not None:
            self._pool.hand_out(Z, source, rows)
        if opt is not None:
            self.optimizer_, self._optimizer_round = opt, st.n_retrain_rounds
        st.n_rejected += n_rejected
        return Z

    def _region_center(self):
        """The incumbent's latent point (re-encoded with ``recoordinate``)."""
        st = self._state
        i = st.best_index()
        if self.recoordinate and i >= st.n_initial:
            z = self._codec.encode([st.object(i)])[0]
            if np.all(np.isfinite(z)):
                return z
        return st.latents[i]

    def _evaluate(self, objects, known_crashes=()):
        return evaluate(
            self.objective,
            objects,
            vectorized=self.vectorized,
            n_jobs=self.n_jobs,
            timeout=self.timeout,
            known_crashes=known_crashes,
        )

    def _told(self, Z, objects):
        """``(told latents, inverted flags)`` for objects that ``Z`` stands for.

        Without ``invert`` the latents are ``Z`` and the flags None; with it,
        each object is inverted (steps in units of the search box's width) and
        its inverted latent is told where it decodes back to the object.
        """
        Z = np.asarray(Z, dtype=float).reshape(len(objects), -1)
        if not self.invert:
            return Z, [None] * len(objects)
        ok = [i for i, z in enumerate(Z) if np.all(np.isfinite(z))]
        told, flags = Z.copy(), np.zeros(len(objects), dtype=bool)
        if ok:
            box = np.asarray(self._proposer.box, dtype=float)
            told[ok], flags[ok] = consistent_latents(
                self._codec,
                Z[ok],
                [objects[i] for i in ok],
                steps=self.inversion_steps,
                lr=self.inversion_lr,
                scale=box[:, 1] - box[:, 0],
            )
        return told, flags.tolist()

    def _note_triggers(self, value):
        """Before recording ``value``: set the state's trigger flag if it fires one."""
        st = self._state
        hit = st.beats_quantile(value, self.retrain_quantile)
        hit = hit or (self.retrain_on_best_ and st.beats_best(value))
        st.trigger_hit |= bool(hit)

    def _retrain_due(self):
        st = self._state
        every = self.retrain_every_
        return bool((every and st.since_retrain >= every) or st.trigger_hit)

    def _retrain(self):
        """Retrain around the queries, re-encode (and invert) every observation, reset the GP."""
        st = self._state
        retrain_search(
            self._codec,
            st,
            self._train_objects,
            n_recent=self.n_recent,
            reference_scale=self.reference_scale,
            broad_scale=self.broad_scale,
            broad_weight=self.broad_weight,
            epochs=self.retrain_epochs,
            weight_k=self.weight_k,
        )
        self._surrogates.reset()  # new space: refit GP hyperparameters
        self._update_box()
        if self._pool is not None:
            self._pool.refresh(self._codec.encode)
        if self.invert:  # the re-encoded points, made consistent in the new space
            st.latents = self._told(st.latents, st.objects())[0]
        self._update_best()
        if self.checkpoint is not None:
            self._save_model()

    def _update_best(self):
        st = self._state
        i = st.best_index()
        if i is None:
            self.best_score_, self.best_latent_, self.best_object_ = -np.inf, None, None
        else:
            self.best_score_ = float(st.values[i])
            self.best_latent_ = st.latents[i].copy()
            self.best_object_ = st.object(i)
