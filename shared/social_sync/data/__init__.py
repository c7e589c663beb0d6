"""The data layer: every DynamoDB and SQS call of the service's own code, and nothing else (Powertools'
idempotency utility keeps its records itself, social_sync.idempotency).

One repository per protocol of social_sync.protocols, each over a client it is handed. They store
and read the models of social_sync.models and decide nothing: which profile to change, and how, is
the logic's (social_sync.profiles, .schedule, .verification). They import the models alone, which
tests/unit/test_layering.py checks.
"""
