"""The classroom rows (imported by dashboard/models.py, so they belong to the dashboard app).

Keys are never stored, only their sha256 digests (access.digest): a copy of the database
gives no one the presenter's powers.

    Classroom  a shared cluster: join code, presenter key digest, controller, lock, forks,
               the live lesson run it follows
    Viewer     one who joined: id, display name, key digest, their sandbox
    Sandbox    a cluster forked by a viewer key; outlives the classroom (the fork stays theirs)
"""

from django.db import models


class Classroom(models.Model):
    code = models.CharField(max_length=6, unique=True)
    cluster = models.CharField(max_length=63)
    others = models.JSONField(default=list)  # the lesson run's other clusters (compared side by side), shared alike
    presenter = models.CharField(max_length=64)  # sha256 hex of the presenter key
    controller = models.CharField(max_length=16, null=True)  # a viewer id
    locked = models.BooleanField(default=False)
    forks_allowed = models.BooleanField(default=True)
    scenario = models.CharField(max_length=63, null=True)
    run = models.CharField(max_length=16, null=True)  # the live scenario run (saved as a LessonRun row: taken up after a restart)
    lang = models.CharField(max_length=8, default="en")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.code


class Viewer(models.Model):
    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="viewers")
    viewer = models.CharField(max_length=16)
    name = models.CharField(max_length=40, blank=True)
    key = models.CharField(max_length=64)  # sha256 hex
    sandbox = models.CharField(max_length=63, null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["classroom", "viewer"], name="viewer_id_unique")]


class Sandbox(models.Model):
    cluster = models.CharField(max_length=63, unique=True)
    owner = models.CharField(max_length=64)  # sha256 hex of the key that forked it
    created = models.DateTimeField(auto_now_add=True)
