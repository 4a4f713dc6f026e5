"""http_fetch inside a real run: the executor's agent loop hands the run's time left to the fetch.

A local socket server trickles one header byte every 0.3 s (each read is quick, the whole would take
minutes). The fetcher's own limit is 10 s; the run has ``max_duration_seconds: 2``: the fetch must end after
about 2 s with a tool error the model reads, and the run goes on.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from test_execute import SLOT, Clock, _handle, _queued_run, _session, _spec

from agentcron.agent import ModelRequest, ModelResponse
from agentcron.agent.tools import build_tools
from agentcron.agent.tools.http_fetch import Fetcher
from agentcron.models import Message, RunMessage, TokenUsage, ToolCall

PUBLIC_IP = "93.184.216.34"


@pytest.fixture
def trickle() -> Iterator[int]:
    """A port whose server answers every connection one header byte at a time, 0.3 s apart."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(connection: socket.socket) -> None:
        with connection:
            try:
                connection.recv(4096)
                connection.sendall(b"HTTP/1.1 200 OK\r\n")
                for byte in b"X-Slow: " + b"y" * 400:
                    if stop.wait(0.3):
                        return
                    connection.sendall(bytes([byte]))
            except OSError:
                return  # the client gave up: what the test wants

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()


class FetchThenAnswer:
    """Asks for one http_fetch, then answers with what the tool said."""

    name = "scripted"

    def __init__(self, url: str) -> None:
        self.url = url
        self.requests: list[ModelRequest] = []

    def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        if len(self.requests) == 1:
            call = ToolCall(id="fetch-1", name="http_fetch", arguments={"url": self.url})
            message = Message(role="assistant", content="", tool_calls=[call])
        else:
            message = Message(role="assistant", content=f"the fetch said: {request.messages[-1].content}")
        return ModelResponse(message=message, usage=TokenUsage(input_tokens=3, output_tokens=2))


def test_the_runs_time_left_bounds_a_fetch_in_a_real_run(stack, trickle: int) -> None:
    run = _queued_run(stack, _spec(tools=["http_fetch"], limits={"max_duration_seconds": 2}))
    provider = FetchThenAnswer(f"http://public.test:{trickle}/slow")

    def tools(names, context):  # the real tool box; only the network is pointed at the local server
        fetcher = Fetcher(
            resolver=lambda host, port: [PUBLIC_IP],
            connector=lambda address, port, timeout: socket.create_connection(("127.0.0.1", port), timeout),
            timeout_seconds=10,
        )
        return build_tools(names, dataclasses.replace(context, fetcher=fetcher))

    started = time.monotonic()
    outcome = _handle(
        stack,
        RunMessage(schedule_id=run.schedule_id, run_id=run.run_id),
        Clock(SLOT),
        provider_for=lambda model: (provider, model),
        tools=tools,
    )
    elapsed = time.monotonic() - started
    assert outcome.status == "success", outcome
    assert 1.8 < elapsed < 6  # the run's 2 s, not the fetcher's 10 s (nor the server's 2 minutes)
    tool_reply = _session(stack, stack.store.get_run(run.schedule_id, run.run_id)).messages[-2]
    assert (tool_reply.role, tool_reply.content) == ("tool", "error: fetch failed: timed out after 2 s")
