"""ScheduledSyncFunction: on the EventBridge schedule, queue the profiles due for a refresh."""

from social_sync.startup import container_init

with container_init():
    from social_sync.jobs import dispatcher

    lambda_handler = dispatcher()
