"""The local stack behind ``make run``: the data resources of template.yaml created on a moto endpoint.

``agentcron.local.resources`` reads template.yaml and creates its tables, buckets and queues through any boto3
endpoint (moto in-process for the tests, an embedded moto server for ``make run``), so the template stays the
single source of truth for keys, indexes and queue attributes.
"""
