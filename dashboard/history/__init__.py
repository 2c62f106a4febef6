"""History: a cluster survives restarts, travels in time, forks and moves as a file.

    timeline.py  the active timeline in memory: entries, head, following recorded commands
    recorder.py  History: validate, store (wait for the commit), apply; checkpoints; seek
    store.py     the database half (dashboard/models.py), on one database thread
    transfer.py  export and import (YAML), events as JSON Lines

See dashboard/history/README.md for the model and the guarantees.
"""
