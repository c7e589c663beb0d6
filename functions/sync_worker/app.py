"""SyncWorkerFunction: refresh the queued profiles from RapidAPI, reporting partial batch failures."""

from social_sync.startup import container_init

with container_init():
    from social_sync.jobs import worker

    lambda_handler = worker()
