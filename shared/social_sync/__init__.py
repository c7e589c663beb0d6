"""Social Sync: the Lambda layer shared by every function of the service."""
