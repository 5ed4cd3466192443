"""Background jobs: the queue (huey) and the threads that take jobs from it on this node."""

from parley.jobs.queue import JobBody, Jobs

__all__ = ["JobBody", "Jobs"]
