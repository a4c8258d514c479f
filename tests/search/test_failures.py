"""The search tells the user about failures and refuses inconsistent input."""

import warnings

import numpy as np
import pytest

from sklearn_lravae.chem import qed
from sklearn_lravae.search import LatentBayesSearch

from .conftest import Distance


def _always_fails(x):
    raise TypeError("expects a list")


def test_streak_of_failures_warns_with_first_error_and_fix(digits_vae, digits):
    search = LatentBayesSearch(
        digits_vae, _always_fails, n_calls=6, on_all_failed="warn", random_state=0
    )
    with pytest.warns(UserWarning) as record:
        search.fit(digits[1][:5], y=np.arange(5.0))
    messages = [str(w.message) for w in record]
    streak = [m for m in messages if m.startswith("the last 5 evaluations failed")]
    assert len(streak) == 1  # once per streak, not at every failure
    assert "TypeError: expects a list" in streak[0] and "vectorized=True" in streak[0]
    assert any(m.startswith("all 6 evaluations of this run failed") for m in messages)


def test_all_failed_raises_by_default_after_recording(digits_vae, digits, tmp_path):
    search = LatentBayesSearch(
        digits_vae, _always_fails, n_calls=3, checkpoint=tmp_path / "ck", random_state=0
    )
    with pytest.raises(RuntimeError, match=r"all 3 evaluations .*TypeError: expects a list"):
        search.fit(digits[1][:5], y=np.arange(5.0))
    assert len(search.history_) == 3  # recorded (and checkpointed) before raising
    resumed = LatentBayesSearch(
        digits_vae, Distance(digits[1][0]), n_calls=3, checkpoint=tmp_path / "ck"
    )
    assert len(resumed.fit(digits[1][:5], y=np.arange(5.0), resume=True).history_) == 3


def test_ignore_accepts_failures_silently(digits_vae, digits):
    search = LatentBayesSearch(
        digits_vae, _always_fails, n_calls=6, on_all_failed="ignore", random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        search.fit(digits[1][:5], y=np.arange(5.0))
    assert {h["status"] for h in search.history_} == {"failed"}


def test_a_success_means_no_error(digits_vae, digits, target):
    calls = {"n": 0}

    def sometimes(x):
        calls["n"] += 1
        if calls["n"] % 2:
            raise ValueError("odd call")
        return Distance(target)(x)

    search = LatentBayesSearch(digits_vae, sometimes, n_calls=4, random_state=0)
    search.fit(digits[1][:5], y=np.arange(5.0))
    assert [h["status"] for h in search.history_].count("ok") == 2


def test_batch_objective_without_vectorized_is_explained(digits_vae, digits):
    """The package's own vectorised objectives fail per object: the message says why."""
    search = LatentBayesSearch(digits_vae, qed, n_calls=2, random_state=0)
    with pytest.raises(RuntimeError, match="vectorized=True"):
        search.fit(digits[1][:5], y=np.arange(5.0))


def test_n_calls_zero_sets_best_from_initial_points(digits_vae, digits, target):
    X0 = digits[1][1:6]
    search = LatentBayesSearch(digits_vae, Distance(target), n_calls=0).fit(X0)
    values = [Distance(target)(x) for x in X0]
    assert search.best_score_ == pytest.approx(max(values))
    np.testing.assert_array_equal(search.best_object_, X0[int(np.argmax(values))])
    assert search.best_latent_.shape == (digits_vae.n_components,)
    assert search.history_ == []


def test_wrong_width_initial_objects_raise(digits_vae, digits, target):
    search = LatentBayesSearch(digits_vae, Distance(target), n_calls=1)
    with pytest.raises(ValueError, match=r"X has objects of 10 features \(rows \[0, 1\]\).*64"):
        search.fit(digits[1][:2, :10])
    search.fit(digits[1][:3])
    with pytest.raises(ValueError, match="objects_or_latents has objects of 3 features"):
        search.tell([np.zeros(3)], [1.0], kind="objects")


def test_resume_with_different_initial_objects_is_refused(digits_vae, digits, target, tmp_path):
    ck = tmp_path / "ck"
    LatentBayesSearch(digits_vae, Distance(target), n_calls=2, checkpoint=ck).fit(digits[1][:4])
    again = LatentBayesSearch(digits_vae, Distance(target), n_calls=3, checkpoint=ck)
    with pytest.raises(ValueError, match="different initial objects"):
        again.fit(digits[1][4:8], resume=True)
    with pytest.raises(ValueError, match="started with 4 initial objects, but X has 3"):
        again.fit(digits[1][:3], resume=True)
    assert len(again.fit(digits[1][:4], resume=True).history_) == 3
