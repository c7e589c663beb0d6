"""GetStatsHistoryFunction: GET /api/v1/profiles/me/stats/history."""

from social_sync.startup import container_init

with container_init():
    from social_sync.api import serve, stats_history_api

    lambda_handler = serve(stats_history_api())
