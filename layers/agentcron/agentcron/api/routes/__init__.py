"""The route groups of the HTTP API: each module holds one Powertools router with its resource's routes,
which :func:`agentcron.api.app.create_app` includes in the resolver."""
