"""The contract every fix provider implements, and the registry they join by name."""

from __future__ import annotations

import asyncio
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from bugfixer.config import Settings
    from bugfixer.sandbox import Sandbox


@dataclass(frozen=True)
class FixPrompt:
    """What a provider is asked to fix.

    ``test`` is the user's own test, appended after the program, which must pass.
    ``feedback`` and ``previous_fix`` are set on the single repair retry, after the
    checks rejected ``previous_fix`` with the message in ``feedback``.
    """

    code: str
    error: str
    language: str
    test: str = ""
    feedback: str | None = None
    previous_fix: str | None = None


class ProviderError(Exception):
    """The provider could not answer (network, timeout, 5xx, auth). Costs the user nothing."""


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_MODEL_NAME = 128  # the column's width
MAX_TOKENS = 2**31 - 1  # an INTEGER column on PostgreSQL


def has_lone_surrogate(text: str) -> bool:
    return _LONE_SURROGATE.search(text) is not None


def clean_text(text: str) -> str:
    """``text`` with every unpaired surrogate (which no database can store) as U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", text)


@dataclass(frozen=True)
class ProviderReply:
    """A provider's answer. ``fixed_code`` is None when it has no confident fix.

    Whatever a provider sends is untrusted: a reply of the wrong shape is a ProviderError
    (503, nothing charged), and what is kept is made storable (no lone surrogates, a
    model name that fits its column, token counts that fit theirs).
    """

    explanation: str
    fixed_code: str | None
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.explanation, str):
            raise ProviderError("the provider's explanation is not text")
        if self.fixed_code is not None and not isinstance(self.fixed_code, str):
            raise ProviderError("the provider's fixed code is not text")
        set_ = object.__setattr__  # frozen: cleaned once, here
        set_(self, "explanation", clean_text(self.explanation))
        if self.fixed_code is not None:
            set_(self, "fixed_code", clean_text(self.fixed_code))
        model = self.model if isinstance(self.model, str) else ""
        set_(self, "model", clean_text(model.strip())[:MAX_MODEL_NAME] or "unknown")
        for name in ("prompt_tokens", "completion_tokens"):
            value = getattr(self, name)
            valid = isinstance(value, int) and not isinstance(value, bool)
            set_(self, name, min(max(value, 0), MAX_TOKENS) if valid else 0)


class Provider(ABC):
    """One way of turning a FixPrompt into a ProviderReply."""

    name: ClassVar[str]
    model: str
    # What the fix form offers with this provider (codes of fixing.languages.LANGUAGES);
    # None means every language there.
    languages: ClassVar[frozenset[str] | None] = None

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Settings, *, sandbox: Sandbox | None = None) -> Provider:
        """Build from settings; ``sandbox`` runs code for providers that use one."""

    @abstractmethod
    async def complete(self, prompt: FixPrompt) -> ProviderReply: ...

    async def complete_many(self, prompt: FixPrompt, n: int) -> list[ProviderReply]:
        """``n`` independent answers. Providers that can ask for several in one request
        (``n`` in Chat Completions) override this; others ask ``n`` times at once."""
        return list(await asyncio.gather(*(self.complete(prompt) for _ in range(n))))

    async def stream(self, prompt: FixPrompt) -> AsyncIterator[str | ProviderReply]:
        """Yield text as it is produced, then the final ProviderReply last.

        Providers that cannot stream inherit this: the explanation comes as one chunk.
        """
        reply = await self.complete(prompt)
        yield reply.explanation
        yield reply

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release network resources."""


_REGISTRY: dict[str, type[Provider]] = {}


def register(name: str) -> Callable[[type[Provider]], type[Provider]]:
    def decorate(cls: type[Provider]) -> type[Provider]:
        if name in _REGISTRY:
            raise ValueError(f"provider {name!r} is registered twice")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def provider_names() -> list[str]:
    _load_builtin_providers()
    return sorted(_REGISTRY)


def build_provider(settings: Settings, *, sandbox: Sandbox | None = None) -> Provider:
    """The configured provider; ``sandbox`` overrides the one built from the settings."""
    _load_builtin_providers()
    try:
        cls = _REGISTRY[settings.llm_provider]
    except KeyError:
        raise ValueError(
            f"BUGFIXER_LLM_PROVIDER={settings.llm_provider!r} is not one of {sorted(_REGISTRY)}"
        ) from None
    return cls.from_settings(settings, sandbox=sandbox)


def _load_builtin_providers() -> None:
    # Importing the modules registers them; done lazily so importing this module is cheap.
    from bugfixer.fixing.providers import builtin, openai_compatible  # noqa: F401
