"""Addresses: local:N starts a cluster, anything else connects; bad ones are one clear error."""

from __future__ import annotations

import pytest

from panoptix.core.errors import PanoptixError
from panoptix.distributed.cluster import ClusterError, connect, gpu_resources, parse_address


@pytest.mark.parametrize("address, expected", [
    ("local:3", ("local", 3)),
    ("local:1", ("local", 1)),
    ("tcp://scheduler:8786", ("remote", None)),
    ("tls://10.0.0.1:8786", ("remote", None)),
    ("scheduler:8786", ("remote", None)),
    ("/shared/scheduler.json", ("remote", None)),
])
def test_parse_address(address, expected):
    assert parse_address(address) == expected


def test_local_without_count_uses_the_cores():
    kind, n = parse_address("local")
    assert kind == "local" and n >= 1


@pytest.mark.parametrize("address", ["local:0", "local:two", "my cluster", 8786])
def test_bad_addresses(address):
    with pytest.raises(ClusterError) as exc:
        parse_address(address)
    assert isinstance(exc.value, PanoptixError)  # the CLI prints it as one red line


def test_unreachable_scheduler_is_a_cluster_error():
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        with connect("tcp://127.0.0.1:9", timeout=1):
            pass


def test_missing_scheduler_file(tmp_path):
    with pytest.raises(ClusterError, match="scheduler file not found"):
        with connect(str(tmp_path / "scheduler.json")):
            pass


def test_an_existing_client_is_used_as_is(dask_client):
    with connect(dask_client) as client:
        assert client is dask_client
        assert len(client.scheduler_info()["workers"]) == 2
    assert dask_client.status == "running"  # not closed: it is the caller's
    assert gpu_resources(dask_client) is None  # no worker advertises a GPU here
