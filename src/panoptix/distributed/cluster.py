"""Reaching a Dask cluster: ``local:N`` starts one here, anything else connects to a scheduler.

The one string users pass around (``--dask local:2``, ``--dask tcp://scheduler:8786``) is
an *address*:

============================  ===========================================================
``local`` / ``local:N``       a :class:`distributed.LocalCluster` of ``N`` worker processes
                              (one thread each; default: one per CPU core), closed afterwards
``tcp://host:8786``,          an existing scheduler (``dask scheduler``, ``dask-ssh``,
``tls://...``, ``ws://...``   ``SSHCluster``, dask-kubernetes...); left running afterwards
``path/scheduler.json``       the scheduler file a ``dask scheduler --scheduler-file`` wrote
a ``distributed.Client``      used as it is
============================  ===========================================================
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Iterator

from ..core.errors import PanoptixError

__all__ = ["ClusterError", "parse_address", "connect", "gpu_resources"]

_LOCAL = re.compile(r"^local(?::(\d+))?$")


class ClusterError(PanoptixError):
    """The Dask scheduler cannot be reached or the address is not understood."""


def parse_address(address) -> tuple[str, int | None]:
    """``("local", n_workers)`` or ``("remote", None)``; ClusterError for a bad address.

    Examples
    --------
    >>> parse_address("local:3"), parse_address("tcp://scheduler:8786")
    (('local', 3), ('remote', None))
    >>> parse_address("local")[0]
    'local'
    """
    if address is None:
        address = "local"
    if not isinstance(address, str):
        raise ClusterError(f"a Dask address must be a string such as 'local:2' or 'tcp://host:8786', "
                           f"got {type(address).__name__}")
    m = _LOCAL.match(address.strip())
    if m:
        n = int(m.group(1)) if m.group(1) else (os.cpu_count() or 1)
        if n < 1:
            raise ClusterError(f"{address}: a local cluster needs at least one worker")
        return "local", n
    if "://" in address or address.endswith(".json") or re.match(r"^[\w.-]+:\d+$", address):
        return "remote", None
    raise ClusterError(f"not a Dask address: {address!r} (use local:N, tcp://host:port or a scheduler JSON file)")


@contextlib.contextmanager
def connect(address="local:2", *, timeout: float = 30, **local_options) -> Iterator:
    """A :class:`distributed.Client` for ``address``, closed (with its local cluster) on exit.

    Parameters
    ----------
    address : str or distributed.Client
        ``"local:N"``, a scheduler URL (``tcp://scheduler:8786``), a scheduler JSON file, or a
        Client (used as is and left open).
    timeout : float
        Seconds to wait for the scheduler.
    **local_options
        Passed to :class:`distributed.LocalCluster` (``memory_limit``, ``resources``...).

    Raises
    ------
    ClusterError
        The address is not understood or the scheduler does not answer.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ClusterError("Dask is not installed: pip install 'panoptix[dask]'") from None

    if isinstance(address, Client):
        yield address
        return
    kind, n = parse_address(address)
    if kind == "local":
        opts = dict(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")  # any free port
        opts.update(local_options)
        try:
            cluster = LocalCluster(**opts)
        except (OSError, RuntimeError, TimeoutError) as exc:
            raise ClusterError(f"cannot start a local Dask cluster: {exc}") from None
        try:
            client = Client(cluster)
        except BaseException:
            cluster.close()
            raise
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    try:
        if address.endswith(".json"):
            if not os.path.exists(address):
                raise ClusterError(f"{address}: scheduler file not found")
            client = Client(scheduler_file=address, timeout=timeout)
        else:
            client = Client(address, timeout=timeout)
    except ClusterError:
        raise
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        yield client
    finally:
        client.close()


def gpu_resources(client) -> dict | None:
    """``{"GPU": 1}`` when some worker advertises a ``GPU`` resource (``dask worker --resources GPU=1``),
    so that model tasks are placed on GPU workers only; otherwise None."""
    try:
        workers = client.scheduler_info().get("workers", {})
    except (OSError, AttributeError):
        return None
    if any(w.get("resources", {}).get("GPU", 0) >= 1 for w in workers.values()):
        return {"GPU": 1}
    return None
