"""Workflows: the Celery app and tasks, job records, notifications and the ``submit_*`` functions the API calls."""
