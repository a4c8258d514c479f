"""Machine load during a benchmark run, and the sentence the reports state about it.

A timed run is "on an otherwise idle machine" when nothing else ran beside it.
Where Linux's ``/proc`` is readable this is measured directly: the CPU time that
processes outside the run's own process tree used while it ran is at most
``IDLE_OTHER_CORES`` cores on average (the machine's busy time from
``/proc/stat`` less the run's own process tree, children included). The
1-minute load average at the start is reported but not used then: it averages
the minute *before* the run (often the previous block of the same benchmark),
not the run. Without ``/proc`` the load average is all there is: it must be at
most ``IDLE_BEFORE`` at the start and stay below the run's own threads +
``IDLE_MARGIN`` (sampled every few seconds by :class:`LoadMonitor`), a bound
that is loose for runs whose own processes vary (worker pools)."""

import os
import threading
import time

IDLE_BEFORE = 0.5
IDLE_MARGIN = 0.5
IDLE_OTHER_CORES = 0.05


def _machine_busy_s():
    """Busy CPU seconds of the whole machine since boot (None without ``/proc/stat``)."""
    try:
        with open("/proc/stat") as fh:
            f = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = f[3] + (f[4] if len(f) > 4 else 0)  # idle + iowait
    busy = sum(f[:8]) - idle  # user nice system idle iowait irq softirq steal (guest in user)
    return busy / os.sysconf("SC_CLK_TCK")


def _tree_cpu_s(root=None):
    """CPU seconds of process ``root`` (default: this one) and its live descendants.

    Each process counts its own time and that of its children it has waited
    for, so workers that already exited are included once they are reaped.
    """
    root = os.getpid() if root is None else root
    stats = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    rest = fh.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # exited meanwhile
            stats[int(name)] = (int(rest[1]), sum(int(x) for x in rest[11:15]))
    children = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0))[1]
        todo += children.get(pid, [])
    return total / os.sysconf("SC_CLK_TCK")


class LoadMonitor:
    """Sample ``os.getloadavg()`` in a daemon thread between ``start`` and ``stop``.

    Examples
    --------
    >>> monitor = LoadMonitor(interval=0.01).start()
    >>> record = monitor.stop()
    >>> sorted(record)[:3]  # + other_cores, own_cores where /proc is readable
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
        self._cpu0 = self._cpu()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    @staticmethod
    def _cpu():
        busy = _machine_busy_s()
        return None if busy is None else (time.monotonic(), busy, _tree_cpu_s())

    def stop(self):
        """Stop sampling; return the JSON-ready record of the run's load.

        With ``/proc``: ``other_cores``, the CPU time processes outside this
        process tree used during the run, per second of wall clock.
        """
        self._stop.set()
        self._thread.join()
        after = list(os.getloadavg())
        self.peak = max(self.peak, after[0])
        record = {"loadavg_before": self.before, "loadavg_max": self.peak, "loadavg": after}
        cpu1 = self._cpu()
        if self._cpu0 is not None and cpu1 is not None:
            wall = max(cpu1[0] - self._cpu0[0], 1e-9)
            other = (cpu1[1] - self._cpu0[1]) - (cpu1[2] - self._cpu0[2])
            record.update(
                other_cores=max(other, 0.0) / wall, own_cores=(cpu1[2] - self._cpu0[2]) / wall
            )
        return record


def is_idle(record, own_threads):
    """Whether ``record`` (from :meth:`LoadMonitor.stop`) shows an otherwise idle machine."""
    peak = record.get("loadavg_max")
    if peak is None:  # recorded before the monitor existed: not shown to be idle
        return False
    if "other_cores" in record:  # measured: what else used the CPU during the run
        return record["other_cores"] <= IDLE_OTHER_CORES
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
    if "other_cores" in record:
        head += (
            f" Processes outside the run used {record['other_cores']:.3f} cores on average while "
            f"it ran (the run {record['own_cores']:.2f}; CPU time from /proc)."
        )
    if is_idle(record, own_threads):
        how = (
            f"other processes used <= {IDLE_OTHER_CORES} cores during the run"
            if "other_cores" in record
            else f"1-minute load <= {IDLE_BEFORE} at the start and never above the run's own "
            f"threads + {IDLE_MARGIN}"
        )
        return f"{head} The machine was otherwise idle ({how})."
    return f"{head} The machine was **not** shown to be idle: other processes may have shared it."
