"""GetStatsHistoryFunction: GET /api/v1/profiles/me/stats/history."""

from social_sync.api import serve, stats_history_api

route = stats_history_api()
lambda_handler = serve(route)
