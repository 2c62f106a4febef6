"""The scale-out rows (imported by dashboard/models.py, so they belong to the dashboard app).

    ServerProcess  one server process: its channel-layer address, its heartbeat, how many
                   clusters it runs (placement picks the least loaded), whether it drains
    Lease          who runs a stored cluster now, until when (renewed every few seconds;
                   taken with a conditional UPDATE, so two processes never both hold it)

Times are the database's own clock (Now()), so processes on machines whose clocks differ
still agree on who holds what.
"""

from django.db import models


class ServerProcess(models.Model):
    channel = models.CharField(max_length=200, unique=True)  # its process channel on the channel layer
    address = models.CharField(max_length=200, default="")  # host:pid, for people reading the table
    heartbeat_until = models.DateTimeField()
    clusters = models.IntegerField(default=0)
    viewers = models.IntegerField(default=0)
    draining = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.address or self.channel


class Lease(models.Model):
    cluster = models.OneToOneField("dashboard.StoredCluster", on_delete=models.CASCADE, related_name="lease")
    owner = models.CharField(max_length=200, default="")  # a ServerProcess.channel; "" when released
    until = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.cluster_id} -> {self.owner or '-'}"
