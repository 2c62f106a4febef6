"""A database that cannot take the write refuses the action: a clear error, and nothing runs
unrecorded (the cluster is unchanged, and after a restart the action is not there)."""

import json
import sqlite3
from contextlib import contextmanager

import pytest

pytestmark = pytest.mark.slow


@contextmanager
def database_locked(server):
    """Another process holds the write lock (as a stuck backup or migration would)."""
    url = server.env.get("DATABASE_URL")
    if url is None:
        connection = sqlite3.connect(server.sqlite_path, timeout=5, isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
    else:
        psycopg = pytest.importorskip("psycopg")
        with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=False) as connection:
            for table in ("dashboard_command", "dashboard_storedcluster"):
                connection.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            yield
            connection.rollback()


def test_a_write_the_database_refuses_is_not_run(db_server):
    server = db_server
    server.rest("POST", "/api/clusters", {"name": "still", "seed": 2, "paused": True, "nodes": 1})
    server.rest("POST", "/api/clusters/still/advance", {"seconds": 10})
    server.rest("POST", "/api/clusters", {"name": "live", "seed": 2, "profile": "realistic", "speed": 2, "nodes": 1})
    server.kubectl("live", "create", "configmap", "before")
    before = server.summary("still")
    with database_locked(server):
        code, body = server.call("POST", "/api/clusters/still/faults", {"action": "crash", "target": "etcd-0"})
        assert code == 503 and body["field"] == "database" and "nothing was done" in body["error"], body
        code, body = server.call("PATCH", "/api/clusters/still/clock", {"paused": False})
        assert code == 503 and body["field"] == "database", body
        code, body = server.call("POST", "/api/clusters/live/etcd", {"op": "put", "key": "/refused", "value": "x"})
        assert code == 503 and body["field"] == "database", body
        result = server.kubectl("live", "create", "configmap", "refused", check=False)
        assert result.returncode != 0 and "could not record" in result.stderr, result.stderr
        code, raw = server.request("POST", "/k8s/live/api/v1/namespaces/default/configmaps", json.dumps({"metadata": {"name": "refused"}}).encode(),
                                   {"Content-Type": "application/json"})
        status = json.loads(raw)
        assert code == 503 and (status["kind"], status["code"]) == ("Status", 503), status
        after = server.summary("still")
        assert (after["state_hash"], after["paused"], after["counts"]) == (before["state_hash"], True, before["counts"])
    # The lock is gone: the same action works.
    assert server.call("POST", "/api/clusters/still/faults", {"action": "crash", "target": "etcd-1"})[0] == 200
    done = server.summary("still")
    server.kill()
    server.start()
    assert server.summary("still")["state_hash"] == done["state_hash"]
    crashed = [e["source"] for e in server.all_events("still") if e["kind"] == "net.crash"]
    assert crashed == ["etcd-1"]
    names = server.kubectl("live", "get", "configmaps", "-o", "name").stdout.split()
    assert "configmap/before" in names and "configmap/refused" not in names
    code, body = server.call("POST", "/api/clusters/live/etcd", {"op": "get", "key": "/refused", "timeout": 20})
    assert code == 200 and body["value"] is None
