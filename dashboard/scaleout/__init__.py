"""Scale-out: several server processes behind a load balancer, on Redis and PostgreSQL.

    models.py   ServerProcess and Lease rows
    leases.py   the database half: heartbeats, leases taken by conditional UPDATE, placement
    node.py     this process: its channel, its loops (heartbeat, orphans), hand-off on SIGTERM
    forward.py  HTTP over the channel layer: a request for a cluster another process runs
                is served by that process, streamed responses (kubectl watches) included
    mirror.py   a cluster another process runs, as the WebSocket consumer sees it: one group
                message per cluster per batch, relayed to every local viewer

On only with REDIS_URL (and the history on): without it nothing here runs. README.md.
"""
