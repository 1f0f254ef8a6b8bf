"""Periodic jobs without cron: the periodic entries of the job registry (``whatshybrid.jobs``, each
with an interval setting) and a scheduler that enqueues every due job on the background worker
(django-tasks-db) at most once per interval, however many scheduler processes run.
``manage.py serve`` runs it in a thread; the scaled topology runs ``manage.py scheduler``."""
