"""Classroom mode: a presenter shares a cluster with an audience (README "Classroom").

models.py   the rows (Classroom, Viewer, Sandbox)
access.py   roles: who may do what to a cluster, in memory
service.py  creating, joining, forking, ending; keeps access.py and the rows in step
"""
