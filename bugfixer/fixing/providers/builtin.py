"""The ``builtin`` provider: the offline rule engine behind the provider contract."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from bugfixer.fixing.builtin import fix_python
from bugfixer.fixing.builtin.search import Runner, not_run, search_fix
from bugfixer.fixing.languages import LANGUAGES
from bugfixer.fixing.providers.base import FixPrompt, Provider, ProviderReply, register
from bugfixer.observability.metrics import LlmCall
from bugfixer.sandbox import Sandbox

if TYPE_CHECKING:
    from bugfixer.config import Settings

_PYTHON = {"python", "python3", "py", "python 3"}
_OFF = "I couldn't run the fixed program because the sandbox that runs code is turned off here."


@register("builtin")
class BuiltinProvider(Provider):
    """Answers quickly and for free, but only for the Python mistakes its rules know.

    With a sandbox it runs the program to see the error and runs every candidate fix
    before answering; without one it falls back to rules that are checked statically.
    """

    model = "builtin-rules-1"
    languages = frozenset({"python"})

    def __init__(self, sandbox: Runner | None = None) -> None:
        self._sandbox = sandbox

    @classmethod
    def from_settings(cls, settings: Settings, *, sandbox: Runner | None = None) -> BuiltinProvider:
        return cls(sandbox if sandbox is not None else Sandbox.from_settings(settings))

    async def complete(self, prompt: FixPrompt) -> ProviderReply:
        with LlmCall(self.name, self.model) as call:
            return call.answered(await self._complete(prompt))

    async def _complete(self, prompt: FixPrompt) -> ProviderReply:
        language = prompt.language.strip().lower()
        if language not in _PYTHON:
            shown = LANGUAGES.get(language, prompt.language.strip()) or "this"
            return self._reply(
                f"This fixer only fixes Python, so it can't help with {shown} code. "
                "Nothing was charged for this attempt.",
                None,
            )
        if prompt.feedback:
            return await self._retry(prompt)
        if self._sandbox is not None and self._sandbox.enabled:
            result = await search_fix(prompt.code, prompt.error, prompt.test, self._sandbox)
        else:
            # Compiling candidate fixes is CPU work; keep it off the event loop.
            result = await asyncio.to_thread(fix_python, prompt.code, prompt.error)
            result = not_run(result, _OFF)
        return self._reply(result.explanation, result.fixed_code)

    async def _retry(self, prompt: FixPrompt) -> ProviderReply:
        """A repair retry: the rules are deterministic, so only a different input can help.

        Starting from the rejected fix with the verifier's message as the error lets the
        rules repair what the first pass left; if that gives nothing new, say so.
        """
        if prompt.previous_fix:
            if self._sandbox is not None and self._sandbox.enabled:
                result = await search_fix(
                    prompt.previous_fix, prompt.feedback or "", prompt.test, self._sandbox
                )
            else:
                result = await asyncio.to_thread(
                    fix_python, prompt.previous_fix, prompt.feedback or ""
                )
                result = not_run(result, _OFF)
            if result.fixed_code is not None and result.fixed_code != prompt.previous_fix:
                return self._reply(result.explanation, result.fixed_code)
        return self._reply(
            "The built-in rules have no other fix to offer: the previous attempt was rejected "
            f"({(prompt.feedback or '').strip()[:300]}), and running the rules again gives the "
            "same answer.",
            None,
        )

    def _reply(self, explanation: str, fixed_code: str | None) -> ProviderReply:
        return ProviderReply(
            explanation=explanation,
            fixed_code=fixed_code,
            model=self.model,
            prompt_tokens=0,
            completion_tokens=0,
        )
