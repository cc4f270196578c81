"""Fix providers: the offline builtin engine and any OpenAI-compatible endpoint."""

from bugfixer.fixing.providers.base import (
    FixPrompt,
    Provider,
    ProviderError,
    ProviderReply,
    build_provider,
    provider_names,
    register,
)

__all__ = [
    "FixPrompt",
    "Provider",
    "ProviderError",
    "ProviderReply",
    "build_provider",
    "provider_names",
    "register",
]
