"""The route groups of the HTTP API; each module registers its routes on a resolver."""
