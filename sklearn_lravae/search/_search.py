"""``LatentBayesSearch``: Bayesian optimisation in the latent space of an LRA-VAE.

The class reads as the loop: propose (:mod:`._propose`) -> decode (:mod:`._encode`)
-> evaluate (:mod:`._evaluate`) -> record (:mod:`._state`) -> retrain if due
(:mod:`._retrain`) -> checkpoint (:mod:`._checkpoint`).
"""

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from skopt.utils import create_result
from tqdm.auto import tqdm

from ._checkpoint import checkpoint_search, load_state, restore_codec, save_search_model
from ._encode import LatentCodec, object_list
from ._evaluate import Evaluation, object_key
from ._failures import check_all_failed, warn_streak
from ._lock import hold_lock
from ._params import SearchParameters
from ._retrain import rank_weights
from ._state import SearchState
from ._steps import LoopSteps

__all__ = ["LatentBayesSearch", "rank_weights"]


class LatentBayesSearch(LoopSteps, SearchParameters):
    """Latent-space Bayesian optimisation (LSBO) with LRA-VAE retraining.

    Searches the latent space of an :class:`~sklearn_lravae.LRAVAETransformer`
    (or of a Pipeline ending in one, e.g. ``SelfiesVectorizer`` + VAE) for
    objects that **maximise** ``objective``: ask a latent point from a
    scikit-optimize ``Optimizer`` -> decode it with ``inverse_transform`` ->
    evaluate -> tell. Every ``retrain_every`` evaluations the VAE continues
    training on the known objects with its LRE reference centred on the recent
    queries (user guide, "LSBO"), all evaluated objects are re-encoded, and
    the surrogate is rebuilt in the new latent space; with ``train_objects``
    retraining is on by default (every 50 evaluations and at every new best).

    Parameters
    ----------
    estimator : LRAVAETransformer or Pipeline
        Maps objects to latents (``transform``) and back (``inverse_transform``);
        a Pipeline must end with the VAE. Fitted or not (then it is fitted on
        the initial and ``train_objects`` at :meth:`fit`). It is deep-copied
        into ``estimator_``.
    objective : callable
        ``objective(obj) -> float``, called once per decoded object (a SMILES
        string, an image row, ...); higher is better. Exceptions, NaN/inf/None
        results and empty objects are recorded as failures (``history_``
        status ``"failed"``/``"invalid"``, value NaN) and do not stop the run;
        the surrogate sees them at the worst successful value so far, which
        steers it away without distorting its scale. Must be picklable for
        ``n_jobs != 1``. With ``vectorized=True`` it is called once per round
        with the list of objects instead.
    n_calls : int, default=50
        Number of objects to propose and evaluate (the objects in ``X`` not
        counted).
    n_initial_points : int, default=0
        How many of the ``n_calls`` evaluations decode random latent points
        (prior samples ``N(0, I)``, clipped to ``bounds``) before the surrogate
        takes over; useful when ``X`` holds few objects. Rounds are also
        random while no observed object could be encoded (e.g. all dropped by
        a vectoriser).
    batch_size : int, default=1
        Points per round (evaluated with ``n_jobs`` workers), by the constant
        liar: where skopt samples (``"sampling"``; ``"auto"`` with a forest) from one
        fit and sweep per round, the lies updating the posterior; else skopt's ``ask``.
    surrogate : {"GP", "GP-ML", "GP-stock", "RF", "ET"} or regressor, default="GP"
        ``"GP"``: skopt's Matern-5/2 GP whose hyperparameters are refitted
        only every ``hp_refit_every`` observations (warm start, no restarts),
        by maximum a posteriori under the dimension-scaled length-scale prior
        of Hvarfner et al. (2024; BoTorch's default), with a BLAS-based
        predictive variance (identical predictions, ~10x cheaper acquisition
        over thousands of candidates); ``"GP-ML"``: the same by maximum
        likelihood (the behaviour of earlier development versions; with few observations in a
        latent space of 16 or more dimensions it switches most dimensions off
        and proposes worse points: ``benchmarks/results/speed_search.md``);
        ``"GP-stock"``: skopt's GP refitted with restarts at every step (slow);
        ``"RF"``/``"ET"``: skopt's forests; a :class:`~sklearn_lravae.search.TanimotoGP` (e.g.
        ``TanimotoGP(features=chem.molecule_features)``, with
        ``trust_region=True``) models the *decoded objects*: the region's
        candidates are decoded and ranked by what they are, and decodes that
        were evaluated already are skipped. skopt's GBRT and dummy surrogates
        are refused (broken with recent scikit-learn).
    acq_func : {"EI", "LCB", "PI", "gp_hedge"}, default="EI"
        Acquisition function.
    acq_optimizer : {"auto", "sampling", "lbfgs"}, default="auto"
        skopt's acquisition optimiser.
    acq_optimizer_kwargs : dict or None, default=None
        Passed to ``skopt.Optimizer``; None means ``{"n_points": 2000,
        "n_restarts_optimizer": 2}`` (skopt's own 10000 / 5 cost ~3.5x more
        per step at 300 observations for little gain in a latent box).
    bounds : "data", float or array-like of shape (n_components, 2), default="data"
        Search box. ``"data"``: from the encoded initial and ``train_objects``
        (per dimension the 0.5% and 99.5% quantiles, widened by 10% of the
        width on each side; recomputed after every retraining), which follows
        the latent spread whatever ``beta`` the VAE was trained with; a float
        ``b`` is ``[-b, b]`` in every dimension (the prior holds 99.7% of its
        mass within 3).
    hp_refit_every : int or "auto", default="auto"
        Observations between GP hyperparameter refits (``surrogate="GP"`` or
        ``"GP-ML"``). ``"auto"``: at least 10 and at least 10% more than at the
        last refit (every 10 up to 100 observations, every 50 at 500); an
        integer: that fixed interval (1: every step, as BoTorch's loops).
    retrain_every : int, "auto" or None, default="auto"
        Retrain the VAE after this many evaluations; None never retrains on a
        schedule. ``"auto"``: every 50 evaluations (Tripp et al. 2020) when
        ``train_objects`` are given to :meth:`fit`, never without them (the VAE
        would be retrained on the few evaluated objects alone and forget its
        training data). The value used is ``retrain_every_``.
    retrain_on_best : bool or "auto", default="auto"
        Also retrain as soon as an evaluation beats the best value observed so
        far (initial values included): the trigger of the seed authors'
        Crystal-LSBO, which retrains when a new point beats the threshold.
        ``"auto"``: on exactly when ``retrain_every="auto"`` and
        ``train_objects`` are given; the value used is ``retrain_on_best_``.
    retrain_quantile : float in (0, 1] or None, default=None
        Also retrain as soon as an evaluation beats this quantile of the
        initial values (1: their maximum, Crystal-LSBO's fixed threshold).
    retrain_epochs : int, default=3
        Epochs of each retraining (``partial_fit``).
    reference_scale : float, default=0.3
        Scale of the normals centred on recent queries in the retraining
        reference distribution.
    n_recent : int or None, default=None
        Queries the reference is centred on (the last ``n_recent``); all since
        the start when None. They are taken in current coordinates: the queries
        since the last retraining as proposed, earlier ones re-encoded.
    broad_scale : float, default=2.0
        Scale of the broad ``N(0, s^2 I)`` component mixed into the reference.
    broad_weight : float in [0, 1], default=0.5
        Weight of the broad component.
    weight_k : float or None, default=None
        Rank-weighted retraining (Tripp et al. 2020, e.g. ``1e-3``): sample
        weights ``∝ 1 / (k N + rank)``; None weighs all objects equally.
    trust_region : bool, default=False
        Propose inside a trust region around the incumbent (TuRBO; LOL-BO's
        setting for molecules) by Thompson sampling from the GP, instead of
        maximising ``acq_func`` over the whole box: the region grows after
        improving rounds, shrinks after rounds without improvement and
        restarts when it collapses. Recommended for molecules and latent
        spaces of more than a few dimensions. Needs a GP surrogate (not "RF" /
        "ET"); ``lre_threshold`` and ``acq_func`` do not apply.
    trust_region_kwargs : dict or None, default=None
        Settings of the region (``length_init=0.8``, 0.2 with an object
        surrogate such as ``TanimotoGP``, ``length_min=0.5**7``,
        ``length_max=1.6``, ``success_tolerance=3``, ``failure_tolerance``
        (default ``ceil(max(4, d) / batch_size)``), ``n_candidates`` (default
        ``min(100 d, 2000)``)), lengths relative to the search box.
    recoordinate : bool, default=False
        Centre the trust region on ``enc(dec(z*))``, the latent point the best
        object really encodes to, rather than the queried ``z*`` (CoBO's
        recoordination); one extra encoding per round.
    train_candidates : bool or int, default=False
        With ``trust_region=True``: offer ``train_objects`` (a seeded subset of
        at most 10,000, or of the given number) to the trust region's Thompson
        sampling next to its own perturbed points: the most promising
        unevaluated ones by the GP (lowest lower confidence bound, up to half
        as many as the region's candidates) join the draw wherever they lie,
        and one that wins is proposed as itself, not as a decoding. The GP
        then ranks the unlabelled library by the evaluations so far
        (pool-based BO, as in virtual screening) while decoded points still
        explore beyond it. Use it when the library's molecules are acceptable
        answers; they are not novel.
    invert : bool, default=False
        Decoder inversion (InvBO, Chu et al. 2024): for every evaluated object
        ``x`` look for a latent point ``z'`` that decodes to ``x`` by
        maximising ``log p(x | z')`` from the encoder's ``enc_mu(x)``, and
        tell the surrogate ``(z', y)``; where no such point is found the
        queried point (which decodes to ``x`` by construction) is told. The
        initial objects and, after each retraining, all observations are
        inverted the same way instead of being only re-encoded, so every
        observation sits near the encoder's coordinates *and* decodes to the
        object that was evaluated. ``history_`` says per evaluation whether
        the inversion reproduced it (``n_inverted_`` counts them). Costs no
        objective calls; the Adam steps run on the decoder only.
    inversion_steps : int, default=50
        Adam steps per inversion (all points of a round at once).
    inversion_lr : float, default=0.05
        Adam step size, as a fraction of the search box's width in each
        dimension (so it does not depend on the latent spread).
    lre_threshold : float or None, default=None
        Consistency filter: candidates whose hard-decode LRE exceeds it are
        rejected and the next-best candidate is taken (``n_rejected_`` counts
        them).
    n_candidates : int, default=20
        With the consistency filter, how many of the best-acquisition candidates
        (per requested point) are checked before giving up.
    vectorized : bool, default=False
        Call ``objective(list_of_objects) -> values`` once per round (e.g.
        :func:`sklearn_lravae.chem.qed`, which takes lists of SMILES and has
        its own ``n_jobs``); NaN entries are failures.
    n_jobs : int or None, default=1
        Parallel evaluations (joblib; use ``joblib.parallel_config(backend=
        "dask")`` to spread them over a dask cluster).
    timeout : float or None, default=None
        Seconds a parallel evaluation may take (joblib's per-task ``timeout``;
        not enforced with ``n_jobs=1``, where joblib warns). When one exceeds
        it, the round's evaluations that have finished are kept and the others
        are recorded with status ``"timeout"`` (the workers are restarted).
    checkpoint : str or os.PathLike or None, default=None
        Directory for a checkpoint written atomically (temporary file +
        ``os.replace``) after every evaluation round: ``state.json`` (history,
        counters, surrogate hyperparameters, seeds) and the current estimator
        (``estimator-<round>.lravae`` via :func:`sklearn_lravae.save`, or only
        the VAE's state dicts when the estimator holds a custom torch module).
        Loading runs no code (JSON, npz, ``torch.load(weights_only=True)``).
        ``fit(..., resume=True)`` continues from it.
    callbacks : callable or list of callables, default=None
        Called after every evaluation with an skopt ``OptimizeResult`` (values
        negated, as skopt minimises); returning True stops the search, so
        ``skopt.callbacks.DeltaYStopper`` and ``DeadlineStopper`` work.
    random_state : int, RandomState instance or None, default=None
        Seeds the optimiser; with ``n_jobs=1`` the same seed gives the same run.
    on_all_failed : {"raise", "warn", "ignore"}, default="raise"
        What to do when every evaluation of a :meth:`fit` failed (usually a
        mistake such as a batch objective without ``vectorized=True``): raise
        a ``RuntimeError`` naming the first error (after recording and
        checkpointing the failures), warn, or accept it silently (for
        objectives that are expected to fail often). Independently, a warning
        is issued after ``5`` consecutive failures.
    verbose : int, default=0
        Show a progress bar when > 0.

    Attributes
    ----------
    estimator_ : estimator
        The (possibly retrained) copy of ``estimator``.
    history_ : list of dict
        One row per evaluation: ``iteration``, ``latent`` (as queried),
        ``object``, ``value`` (NaN on failure), ``status`` (``"ok"``,
        ``"failed"``, ``"invalid"``, ``"timeout"``, ``"crashed"``: the
        object took its worker process down), ``message``, ``lre``
        (hard-decode LRE at query time), ``retrain_round``, ``time``,
        ``inverted`` (with ``invert``: whether the told latent is an inversion
        that decodes to the object; None without ``invert``).
    latents_ : ndarray of shape (n_initial + n_evaluated, n_components)
        The latents the surrogate is told (current coordinates: re-encoded,
        or inverted with ``invert``, after each retraining); the first
        ``n_initial_`` rows are the initial objects.
    values_ : ndarray of shape (n_initial + n_evaluated,)
        Their objective values (NaN for failures).
    best_object_, best_score_, best_latent_ :
        Best observation (initial points included); the latent in current
        coordinates.
    result_ : OptimizeResult
        skopt-style result for ``skopt.plots``: **minimisation** convention,
        ``func_vals = -values`` (failures at minus the worst successful value),
        ``fun = -best_score_``, ``x_iters`` the current latents (clipped to the
        box); ``models`` holds the surrogate fitted for the last proposal
        (empty after a retraining, whose latent space it does not match).
    optimizer_ : skopt.Optimizer
        The optimiser of the last step.
    n_retrain_rounds_ : int
        Retrainings done.
    n_rejected_ : int
        Candidates rejected by the consistency filter.
    n_inverted_ : int
        Evaluations whose inverted latent decodes to the evaluated object (and
        was told instead of the queried point); 0 without ``invert``.
    retrain_every_, retrain_on_best_ : int or None, bool
        The retraining triggers used (``"auto"`` resolved).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_lravae import LRAVAETransformer
    >>> from sklearn_lravae.search import LatentBayesSearch
    >>> X = load_digits().data[:300] / 16
    >>> vae = LRAVAETransformer(2, likelihood="bernoulli", max_epochs=5, random_state=0)
    >>> target = X[0]
    >>> search = LatentBayesSearch(vae.fit(X), lambda x: -np.mean((x - target) ** 2),
    ...                            n_calls=5, random_state=0).fit(X[1:21])
    >>> len(search.history_), bool(search.result_.fun == -search.best_score_)
    (5, True)
    """

    # ------------------------------------------------------------------ set-up
    def _start(self, X, y, train_objects):
        """A new run: fit/copy the estimator, evaluate or take ``y``, encode ``X``."""
        objects = object_list(X)
        self._train_objects = list(train_objects) if train_objects is not None else []
        self._set_schedule()
        self._use_codec(LatentCodec.fitted_copy(self.estimator, objects + self._train_objects))
        self._codec.check_widths(objects, name="X")
        if y is None:
            values = np.array([e.value for e in self._evaluate(objects)], dtype=float)
        else:
            values = np.asarray(y, dtype=float).ravel()
            if len(values) != len(objects):
                raise ValueError(f"y has {len(values)} values but X has {len(objects)} objects.")
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        self._state = SearchState(objects, self._codec.encode(objects), values, seed)
        self._update_box()
        if self.invert:  # the initial points too: latents that decode to them
            self._state.latents = self._told(self._state.latents, objects)[0]
        if self._region is not None:
            self._region.start(values)
        self._build_pool()
        if self.checkpoint is not None:
            self._save_model(first=True)
            self._save_checkpoint()

    def _resume(self, X, train_objects, saved):
        """Continue a checkpointed run: the saved estimator and observations."""
        self._train_objects = list(train_objects) if train_objects is not None else []
        self._set_schedule()
        objects = object_list(X)
        codec = restore_codec(self.checkpoint, saved, self.estimator, objects + self._train_objects)
        state = SearchState.from_dict(
            saved, objects, codec.n_components, source=f"checkpoint {self.checkpoint!r}"
        )
        self._use_codec(codec, surrogate_state=state.surrogate)
        self._state = state
        self._update_box(state.box)  # None: a checkpoint written before boxes were stored
        if self._region is not None and state.trust_region is not None:
            self._region.set_state(state.trust_region)
        self._build_pool()

    # -------------------------------------------------------------- public API
    def fit(self, X, y=None, *, train_objects=None, resume=False):
        """Run the search from initial objects ``X`` for ``n_calls`` evaluations.

        Parameters
        ----------
        X : sequence of objects
            Initial objects (SMILES strings, or rows of numeric data).
        y : array-like of shape (n_initial,), default=None
            Their objective values; evaluated with ``objective`` when None.
        train_objects : sequence of objects, default=None
            Unlabelled objects (e.g. the VAE's training set) included in every
            retraining; also used to fit an unfitted ``estimator``.
        resume : bool, default=False
            Continue the run saved in ``checkpoint`` (same constructor
            arguments, ``X`` and ``train_objects``); starts afresh when the
            directory holds no checkpoint yet. Evaluations recorded in the
            checkpoint are neither lost nor repeated, the estimator (as
            retrained so far) is restored from the checkpoint, and with
            ``n_jobs=1`` the resumed run equals an uninterrupted one.

        Returns
        -------
        self : LatentBayesSearch
            The fitted search.
        """
        self._check_params()
        if resume and self.checkpoint is None:
            raise ValueError("resume=True needs checkpoint='some/directory'.")
        with hold_lock(self.checkpoint):  # one run per checkpoint folder
            saved = load_state(self.checkpoint) if (resume and self.checkpoint) else None
            if saved is None:
                self._start(X, y, train_objects)
            else:
                self._resume(X, train_objects, saved)
            self._update_best()
            self._run(self.n_calls - self._state.n_evaluated)
        return self

    def ask(self, n_points=1):
        """Propose latent points to evaluate next (after :meth:`fit`).

        Parameters
        ----------
        n_points : int, default=1
            Number of points (constant-liar strategy when > 1).

        Returns
        -------
        Z : ndarray of shape (n_points, n_components)
            Latent points; decode them with :meth:`decode`.
        """
        check_is_fitted(self, "history_")
        return self._suggest(int(n_points))

    def tell(self, objects_or_latents, values, kind="auto"):
        """Add evaluations made elsewhere (e.g. in a lab) to the search.

        Parameters
        ----------
        objects_or_latents : sequence
            Evaluated objects, or the latent points that were decoded into them.
        values : array-like of shape (n,)
            Objective values (NaN for failed evaluations).
        kind : {"auto", "objects", "latents"}, default="auto"
            How to read the first argument; ``"auto"`` takes a 2-D numeric array
            with ``n_components`` columns (and a different input width) as latents.

        Returns
        -------
        self : LatentBayesSearch
            The updated search.
        """
        check_is_fitted(self, "history_")
        values = np.asarray(values, dtype=float).ravel()
        Z, objects = self._codec.latents_and_objects(objects_or_latents, kind)
        if self._pool is not None:  # latents that ask() handed out for library objects
            objects = self._pool.substitute(Z, objects)
        if len(values) != len(objects):
            raise ValueError(f"values has {len(values)} entries for {len(objects)} objects.")
        told = [Evaluation.told(v) for v in values]
        with hold_lock(self.checkpoint):
            self._record(Z, objects, told)
        return self

    def decode(self, Z):
        """Decode latent points into objects, as the search does before evaluating.

        Parameters
        ----------
        Z : array-like of shape (n_points, n_components)
            Latent points.

        Returns
        -------
        objects : list
            Decoded objects (e.g. SMILES strings or image rows).
        """
        check_is_fitted(self, "estimator_")
        objects = self._codec.decode(Z)
        return objects if self._pool is None else self._pool.substitute(Z, objects)

    # ---------------------------------------------------------------- the loop
    def _run(self, n_remaining):
        """propose -> decode -> evaluate -> record (retrain, checkpoint) until done."""
        n_before = self._state.n_evaluated
        bar = tqdm(
            total=self.n_calls,
            initial=self._state.n_evaluated,
            disable=not self.verbose,
            desc="LatentBayesSearch",
            unit="eval",
        )
        stop = False
        while n_remaining > 0 and not stop:
            n = min(self.batch_size, n_remaining)
            Z = self._suggest(n)
            objects = self.decode(Z)
            history = self._state.history  # objects that crashed a worker are not rerun
            crashed = {object_key(h["object"]) for h in history if h["status"] == "crashed"}
            stop = self._record(Z, objects, self._evaluate(objects, crashed))
            n_remaining -= n
            bar.update(n)
            if self.verbose and np.isfinite(self.best_score_):
                bar.set_postfix(best=f"{self.best_score_:.4g}", round=self.n_retrain_rounds_)
        bar.close()
        self.stopped_early_ = stop
        check_all_failed(
            self._state.history[n_before:], vectorized=self.vectorized, policy=self.on_all_failed
        )

    def _record(self, Z, objects, evaluations):
        """Store a round of evaluations, run callbacks, retrain if due, checkpoint."""
        st = self._state
        Z = np.asarray(Z, dtype=float).reshape(len(objects), -1)
        lre = self._codec.lre(Z)
        told, inverted = self._told(Z, objects)
        stop = False
        for i, (obj, ev) in enumerate(zip(objects, evaluations, strict=True)):
            self._note_triggers(ev.value)
            st.append(Z[i], obj, ev, lre[i], told=told[i], inverted=inverted[i])
            warn_streak(
                st.history,
                st.n_consecutive_failures,
                vectorized=self.vectorized,
                policy=self.on_all_failed,
            )
            self._update_best()
            for cb in self._callbacks:
                if cb(self.result_):
                    stop = True
        if self._region is not None:  # credited with its own (decoded) proposals only
            library = np.zeros(len(objects), dtype=bool)
            if self._pool is not None:
                library = self._pool.handed_out_rows(Z)
            values = np.array([ev.value for ev in evaluations], dtype=float)
            self._region.update(values[~library], others=values[library])
            st.trust_region = self._region.state()
        if self._retrain_due():
            self._retrain()
        if self.checkpoint is not None:
            self._save_checkpoint()
        return stop

    # --------------------------------------------------------- fitted attributes
    history_ = property(lambda self: self._fitted_state().history)
    latents_ = property(lambda self: self._fitted_state().latents)
    values_ = property(lambda self: self._fitted_state().values)
    n_initial_ = property(lambda self: self._fitted_state().n_initial)
    n_retrain_rounds_ = property(lambda self: self._fitted_state().n_retrain_rounds)
    n_rejected_ = property(lambda self: self._fitted_state().n_rejected)
    n_inverted_ = property(
        lambda self: sum(h.get("inverted") is True for h in self._fitted_state().history)
    )

    def _fitted_state(self):
        try:
            return self.__dict__["_state"]
        except KeyError:
            raise AttributeError("this LatentBayesSearch is not fitted yet") from None

    @property
    def result_(self):
        """skopt ``OptimizeResult`` of all observations (minimisation convention)."""
        check_is_fitted(self, "history_")
        st = self._state
        Zc, yt = self._proposer.observations(st.latents, st.surrogate_targets())
        opt = getattr(self, "optimizer_", None)
        current = opt is not None and self._optimizer_round == st.n_retrain_rounds
        models = list(opt.models[-1:]) if current else []
        res = create_result(Zc.tolist(), yt, space=self.space_, rng=None, models=models)
        res.specs = {"args": {"n_calls": self.n_calls}, "function": "LatentBayesSearch"}
        return res

    # -------------------------------------------------------------- checkpoints
    def _save_model(self, first=False):
        save_search_model(self.checkpoint, self._state, self.estimator_, self._codec.vae, first)

    def _save_checkpoint(self):
        checkpoint_search(self.checkpoint, self._state, self._codec, self._surrogates)
