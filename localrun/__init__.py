"""Run Social Sync on one machine with no AWS account and no Docker.

`python -m localrun run` starts AWS's DynamoDB Local and serves every HTTP API route
that template.yaml declares, checking bearer tokens the way the HTTP API JWT
authorizer does against a local issuer; `token` mints a token that issuer signs;
`invoke` runs one function's handler with an event file, like `sam local invoke`.
"""
