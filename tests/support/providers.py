"""In-process providers for tests that need a failure or a pause on cue."""

from __future__ import annotations

import asyncio

from bugfixer.fixing.providers.base import FixPrompt, Provider, ProviderError, ProviderReply


class ScriptedProvider(Provider):
    """Answers from a list of steps: a ProviderReply, an exception, or ("sleep", seconds)."""

    name = "scripted"
    model = "scripted-1"

    def __init__(
        self, *steps: object, default: ProviderReply | None = None, delay_s: float = 0.0
    ) -> None:
        self.steps = list(steps)
        self.delay_s = delay_s
        self.default = default or ProviderReply(
            explanation="Added the missing colon.",
            fixed_code="def f():\n    return 1\n",
            model=self.model,
            prompt_tokens=10,
            completion_tokens=5,
        )
        self.prompts: list[FixPrompt] = []

    @classmethod
    def from_settings(cls, settings):  # type: ignore[no-untyped-def]
        return cls()

    async def complete(self, prompt: FixPrompt) -> ProviderReply:
        self.prompts.append(prompt)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        step = self.steps.pop(0) if self.steps else self.default
        while isinstance(step, tuple) and step[0] == "sleep":
            await asyncio.sleep(step[1])
            step = self.steps.pop(0) if self.steps else self.default
        if isinstance(step, BaseException):
            raise step
        assert isinstance(step, ProviderReply)
        return step


def failing(message: str = "upstream 502") -> ProviderError:
    return ProviderError(message)
