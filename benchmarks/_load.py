"""Machine load during a benchmark run, and the sentence the reports state about it.

A timed run is "on an otherwise idle machine" when nothing else ran beside it:
the 1-minute load average is at most ``IDLE_BEFORE`` when the run starts and
never above the run's own threads + ``IDLE_MARGIN`` while it runs (sampled
every few seconds by :class:`LoadMonitor`). The load average counts the run's
own busy threads, hence the allowance for them.
"""

import os
import threading

IDLE_BEFORE = 0.5
IDLE_MARGIN = 0.5


class LoadMonitor:
    """Sample ``os.getloadavg()`` in a daemon thread between ``start`` and ``stop``.

    Examples
    --------
    >>> monitor = LoadMonitor(interval=0.01).start()
    >>> record = monitor.stop()
    >>> sorted(record)
    ['loadavg', 'loadavg_before', 'loadavg_max']
    """

    def __init__(self, interval=5.0):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = None
        self.before = None
        self.peak = 0.0

    def _sample(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, os.getloadavg()[0])

    def start(self):
        self.before = list(os.getloadavg())
        self.peak = self.before[0]
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop sampling; return the JSON-ready record of the run's load."""
        self._stop.set()
        self._thread.join()
        after = list(os.getloadavg())
        self.peak = max(self.peak, after[0])
        return {"loadavg_before": self.before, "loadavg_max": self.peak, "loadavg": after}


def is_idle(record, own_threads):
    """Whether ``record`` (from :meth:`LoadMonitor.stop`) shows an otherwise idle machine."""
    peak = record.get("loadavg_max")
    if peak is None:  # recorded before the monitor existed: not shown to be idle
        return False
    return record["loadavg_before"][0] <= IDLE_BEFORE and peak <= own_threads + IDLE_MARGIN


def load_sentence(record, own_threads):
    """One sentence for a report: the load before / during / after and what it means."""
    fmt = ", ".join
    before = fmt(f"{x:.2f}" for x in record["loadavg_before"])
    after = fmt(f"{x:.2f}" for x in record["loadavg"])
    peak = record.get("loadavg_max")
    during = "" if peak is None else f", at most {peak:.2f} during the run"
    head = (
        f"Load average (1/5/15 min) {before} before{during}, {after} after; "
        f"the run itself keeps {own_threads} thread(s) busy on {os.cpu_count()} cores."
    )
    if is_idle(record, own_threads):
        return (
            f"{head} The machine was otherwise idle (1-minute load <= {IDLE_BEFORE} at the start "
            f"and never above the run's own threads + {IDLE_MARGIN})."
        )
    return f"{head} The machine was **not** shown to be idle: other processes may have shared it."
