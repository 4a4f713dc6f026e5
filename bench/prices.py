"""Published AWS on-demand list prices (us-east-1) the cost model uses, and the arithmetic on them.

Free tiers are left out (they are per account, not per run). Prices are those on the vendors' pricing pages
as checked on PRICES_CHECKED; update the constants, not the code, when they change.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_CHECKED = "2026-11-26"
REGION = "us-east-1"
SOURCES = (
    "Amazon DynamoDB pricing, on-demand capacity (Standard table class)",
    "AWS Lambda pricing (Arm and x86 duration, requests)",
    "Amazon SQS pricing (FIFO requests, 64 KB chunks)",
    "Amazon S3 pricing (S3 Standard requests)",
    "Amazon EventBridge pricing (Scheduler invocations, custom events)",
    "Amazon CloudWatch pricing (Logs standard ingestion)",
)

DYNAMODB_WRITE_REQUEST_UNIT = 0.625 / 1e6  # USD per write request unit
DYNAMODB_READ_REQUEST_UNIT = 0.125 / 1e6  # USD per read request unit
SQS_FIFO_REQUEST = 0.50 / 1e6  # USD per request (each 64 KB chunk of a payload is one request)
S3_PUT_REQUEST = 0.005 / 1e3  # USD per PUT, COPY, POST or LIST request (S3 Standard)
S3_GET_REQUEST = 0.0004 / 1e3  # USD per GET and all other requests (S3 Standard)
LAMBDA_REQUEST = 0.20 / 1e6  # USD per invocation
LAMBDA_GB_SECOND = {"arm64": 0.0000133334, "x86_64": 0.0000166667}  # USD per GB-second, first pricing tier
EVENTBRIDGE_SCHEDULER_INVOCATION = 1.00 / 1e6  # USD per scheduled invocation
EVENTBRIDGE_CUSTOM_EVENT = 1.00 / 1e6  # USD per custom event published (each 64 KB chunk is one event)
CLOUDWATCH_LOGS_INGESTED_GB = 0.50  # USD per GB ingested (standard log class)

MINUTES_PER_MONTH = 60 * 24 * 30  # a 30-day month: the claim function starts once a minute


@dataclass(frozen=True)
class Line:
    """One priced quantity: ``quantity`` units at ``unit_price`` USD each."""

    item: str
    quantity: float
    unit_price: float
    unit: str

    @property
    def usd(self) -> float:
        return self.quantity * self.unit_price

    def as_dict(self, scale: float = 1.0) -> dict[str, float | str]:
        return {
            "item": self.item,
            "quantity": round(self.quantity, 4),
            "unit": self.unit,
            "unit_price_usd": self.unit_price,
            "usd": round(self.usd * scale, 6),
        }


def lambda_gb_second(architecture: str) -> float:
    try:
        return LAMBDA_GB_SECOND[architecture]
    except KeyError:
        raise ValueError(f"no Lambda price for architecture {architecture!r}") from None


def price_table() -> dict[str, float | str]:
    """The constants above as data, for the results file."""
    return {
        "checked": PRICES_CHECKED,
        "region": REGION,
        "dynamodb_write_request_unit_per_million": DYNAMODB_WRITE_REQUEST_UNIT * 1e6,
        "dynamodb_read_request_unit_per_million": DYNAMODB_READ_REQUEST_UNIT * 1e6,
        "sqs_fifo_requests_per_million": SQS_FIFO_REQUEST * 1e6,
        "s3_put_per_thousand": S3_PUT_REQUEST * 1e3,
        "s3_get_per_thousand": S3_GET_REQUEST * 1e3,
        "lambda_requests_per_million": LAMBDA_REQUEST * 1e6,
        "lambda_gb_second_arm64": LAMBDA_GB_SECOND["arm64"],
        "lambda_gb_second_x86_64": LAMBDA_GB_SECOND["x86_64"],
        "eventbridge_scheduler_invocations_per_million": EVENTBRIDGE_SCHEDULER_INVOCATION * 1e6,
        "eventbridge_custom_events_per_million": EVENTBRIDGE_CUSTOM_EVENT * 1e6,
        "cloudwatch_logs_ingestion_per_gb": CLOUDWATCH_LOGS_INGESTED_GB,
        "sources": "; ".join(SOURCES),
    }
