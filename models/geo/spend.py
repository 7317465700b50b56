"""Incremental spend of a geo test, from the spend feed.

What the treatment markets would have spent on the channel during the test is predicted from
their own pre-period relation to the control markets (ratio of summed spend over the last
``RECENT_WEEKS`` pre-period weeks, applied to the control markets' spend in the test weeks); the
incremental spend is that minus what they spent, signed so that it is positive for both designs
(holdout: predicted - actual; scale-up: actual - predicted). Units: USD.
"""

from __future__ import annotations

import numpy as np

RECENT_WEEKS = 52


def incremental_spend(
    treated: np.ndarray, controls: np.ndarray, n_post: int, design: str
) -> tuple[float, float]:
    """Incremental spend and the predicted spend of the treatment markets in the test weeks.

    Args:
        treated: (n_times,) summed weekly spend of the treatment markets, test weeks last.
        controls: (n_times,) summed weekly spend of the control markets, same weeks.
        n_post: number of test weeks (the last entries).
        design: ``holdout`` or ``scale_up``.

    Returns:
        ``(incremental, predicted)`` in USD; ``incremental`` is positive when the test moved
        spend the way its design says.
    """
    pre_t = treated[:-n_post][-RECENT_WEEKS:]
    pre_c = controls[:-n_post][-RECENT_WEEKS:]
    post_c = controls[-n_post:]
    if pre_c.sum() > 0:
        predicted = float(pre_t.sum() / pre_c.sum() * post_c.sum())
    else:  # the control markets never spent on the channel: the treated markets' own level
        predicted = float(pre_t.mean() * n_post) if len(pre_t) else 0.0
    actual = float(treated[-n_post:].sum())
    inc = predicted - actual if design == "holdout" else actual - predicted
    return float(np.round(inc, 2)), predicted
