"""agentcron: a serverless scheduler for AI-agent tasks on AWS."""

__version__ = "0.1.0"
