"""GetStatsHistoryFunction: GET /api/v1/profiles/me/stats/history."""

from social_sync.api import serve, stats_history_api

app = stats_history_api()
lambda_handler = serve(app)
