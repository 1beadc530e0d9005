"""A client for OpenAI-compatible chat-completions providers (``POST <base>/chat/completions``).

It sends messages and tool definitions, and reads either the JSON reply or, when a token
callback is given, the server-sent-event stream (``data: {chunk}`` lines ending with
``data: [DONE]``), assembling content and tool-call deltas into one :class:`ChatReply`.
Failures are AbiErrors: a provider that is unreachable or answers 5xx is ``Unavailable``
(the balancer counts it against the replica), a 4xx is ``agents.llm_rejected``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from abi.errors import AbiError, Unavailable

TokenSink = Callable[[str], Awaitable[None]]


class LlmRejected(AbiError):
    """The provider refused the request (4xx): fix the model name, key or parameters."""

    code = "agents.llm_rejected"
    status = 502


@dataclass
class ToolCall:
    """A function call the model asks for; ``arguments`` is the raw JSON text."""

    id: str
    name: str
    arguments: str

    def to_message(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass
class ChatReply:
    """The assistant's message: content, tool calls, finish reason and token counts."""

    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def to_message(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.content or None}
        if self.tool_calls:
            message["tool_calls"] = [call.to_message() for call in self.tool_calls]
        return message


class ChatClient:
    """One provider endpoint (base URL + model + optional bearer key)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.http = http
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Content-Type": "application/json", **(extra or {})}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _body(
        self,
        messages: Sequence[dict[str, Any]],
        tools: Sequence[dict[str, Any]],
        stream: bool,
        options: dict[str, Any],
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": list(messages), **options}
        if tools:
            body["tools"] = list(tools)
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    async def complete(
        self,
        messages: Sequence[dict[str, Any]],
        tools: Sequence[dict[str, Any]] = (),
        *,
        on_token: TokenSink | None = None,
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> ChatReply:
        """One chat completion; streamed through ``on_token`` when it is given."""
        body = self._body(messages, tools, on_token is not None, options)
        request = self.http.build_request(
            "POST", self.url, json=body, headers=self._headers(headers), timeout=self.timeout
        )
        try:
            response = await self.http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"LLM provider {self.url} is unreachable: {type(exc).__name__}: {exc}",
                code="agents.llm_unavailable",
            ) from exc
        try:
            if response.status_code >= 400:
                await self._raise_for(response)
            if on_token is not None:
                return await _read_stream(response, on_token)
            payload = json.loads(await response.aread())
            return _parse_reply(payload)
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"LLM provider {self.url} failed mid-answer: {type(exc).__name__}: {exc}",
                code="agents.llm_unavailable",
            ) from exc
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise Unavailable(
                f"LLM provider {self.url} sent a malformed reply: {exc}",
                code="agents.llm_bad_reply",
            ) from exc
        finally:
            await response.aclose()

    async def _raise_for(self, response: httpx.Response) -> None:
        text = (await response.aread()).decode(errors="replace")[:500]
        message = f"LLM provider {self.url} answered {response.status_code}: {text}"
        if response.status_code >= 500 or response.status_code == 429:
            raise Unavailable(message, code="agents.llm_unavailable")
        raise LlmRejected(message, provider_status=response.status_code)


def _parse_reply(payload: dict[str, Any]) -> ChatReply:
    choice = payload["choices"][0]
    message = choice.get("message") or {}
    usage = payload.get("usage") or {}
    calls = [
        ToolCall(
            id=str(call.get("id") or f"call_{i}"),
            name=str(call["function"]["name"]),
            arguments=str(call["function"].get("arguments") or "{}"),
        )
        for i, call in enumerate(message.get("tool_calls") or [])
    ]
    return ChatReply(
        content=message.get("content") or "",
        tool_calls=calls,
        finish_reason=choice.get("finish_reason"),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
    )


async def _read_stream(response: httpx.Response, on_token: TokenSink) -> ChatReply:
    reply = ChatReply()
    parts: list[str] = []
    calls: dict[int, ToolCall] = {}
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            break
        chunk = json.loads(data)
        usage = chunk.get("usage")
        if usage:
            reply.prompt_tokens = int(usage.get("prompt_tokens") or 0)
            reply.completion_tokens = int(usage.get("completion_tokens") or 0)
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                parts.append(delta["content"])
                await on_token(delta["content"])
            for piece in delta.get("tool_calls") or []:
                index = int(piece.get("index", len(calls)))
                call = calls.setdefault(index, ToolCall(id="", name="", arguments=""))
                call.id = piece.get("id") or call.id
                function = piece.get("function") or {}
                call.name += function.get("name") or ""
                call.arguments += function.get("arguments") or ""
            if choice.get("finish_reason"):
                reply.finish_reason = choice["finish_reason"]
    reply.content = "".join(parts)
    reply.tool_calls = [
        ToolCall(call.id or f"call_{i}", call.name, call.arguments or "{}")
        for i, call in sorted(calls.items())
    ]
    return reply
