"""What the server keeps of each cluster: enough to rebuild it exactly (dashboard/history).

A cluster is its configuration, its seed and its command log (event sourcing); replaying
the log rebuilds it event for event. The rest is bookkeeping: where the clock stood, and
checkpoints that let a rebuild start part way instead of from time zero.

    StoredCluster  name, config, clock (paused, speed), position and head of its timeline
    Command        one entry of the active timeline: seq, virtual position, the command
    Checkpoint     a pickled cluster at a position of the active timeline (a cache)
    Branch         a future that was set aside when the presenter acted in the past
    UploadedScenario  a scenario file a user uploaded (POST /api/scenarios), as sent
    LessonRun      a live scenario run between steps, so it outlives its server process
"""

from django.db import models


class StoredCluster(models.Model):
    name = models.CharField(max_length=63, unique=True)
    config = models.JSONField()  # ClusterConfig.as_dict(): name and seed included
    paused = models.BooleanField(default=False)
    speed = models.FloatField(default=1.0)
    # Where the cluster stands (virtual microseconds, actions executed) ...
    time_us = models.BigIntegerField(default=0)
    processed = models.BigIntegerField(default=0)
    # ... and the furthest point its active timeline has reached (equal unless the presenter
    # went back in time: then the commands between the two are still ahead of it).
    head_us = models.BigIntegerField(default=0)
    head_processed = models.BigIntegerField(default=0)
    next_seq = models.BigIntegerField(default=1)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Command(models.Model):
    """`command` is the validated command ({"type": "fault", ...}) or, for a change of the
    clock, {"type": "clock", "paused", "speed"} (kept for the record; replay ignores it)."""

    cluster = models.ForeignKey(StoredCluster, on_delete=models.CASCADE, related_name="commands")
    seq = models.BigIntegerField()
    at_us = models.BigIntegerField()
    after = models.BigIntegerField()  # actions executed before it took effect
    command = models.JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "seq"], name="command_seq_unique")]
        ordering = ["seq"]


class Checkpoint(models.Model):
    cluster = models.ForeignKey(StoredCluster, on_delete=models.CASCADE, related_name="checkpoints")
    at_us = models.BigIntegerField()
    processed = models.BigIntegerField()
    state = models.BinaryField()  # zlib-compressed pickle of the Cluster

    class Meta:
        indexes = [models.Index(fields=["cluster", "processed"])]


class Branch(models.Model):
    """An abandoned future: the commands after `fork_*` and the head it had reached."""

    cluster = models.ForeignKey(StoredCluster, on_delete=models.CASCADE, related_name="branches")
    fork_us = models.BigIntegerField()
    fork_processed = models.BigIntegerField()
    head_us = models.BigIntegerField()
    head_processed = models.BigIntegerField()
    commands = models.JSONField()  # [{"seq", "at", "after", "command"}, ...]
    created = models.DateTimeField(auto_now_add=True)


class UploadedScenario(models.Model):
    """Every server process (and a restarted one) reads the file here (dashboard/scenarios.py
    parses it once per process); built-in lessons are files in scenarios/, never rows."""

    id = models.CharField(max_length=63, primary_key=True)  # the scenario's id
    text = models.TextField()  # the file as uploaded (at most cluster.scenario.MAX_BYTES)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.id


class LessonRun(models.Model):
    """A live run as dashboard/scenarios.py saves it at every step's start and end: a process
    that does not hold the run (a restarted one, or in scale-out the new owner of its main
    cluster) rebuilds it from here over the clusters as they are then."""

    id = models.CharField(max_length=32, primary_key=True)  # the run id: "<n>", or "<n>-p<process>" in scale-out
    scenario = models.CharField(max_length=63)
    lang = models.CharField(max_length=8, default="en")
    names = models.JSONField()  # {"main": cluster name, "<compared key>": cluster name}
    state = models.JSONField()  # cluster.scenario.ScenarioRun.saved(), plus the run's own flags
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.id


# Classroom mode's rows live with their component (dashboard/classroom/models.py).
from .classroom.models import Classroom, Sandbox, Viewer  # noqa: E402, F401

# Scale-out's rows: server processes and cluster leases (dashboard/scaleout/models.py).
from .scaleout.models import Lease, ServerProcess  # noqa: E402, F401
