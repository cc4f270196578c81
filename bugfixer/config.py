"""Every setting of the product, read from the environment (or a .env file) and validated.

Each field is documented by its description; ``tests/test_docs.py`` checks the README
names every one of them.
"""

from __future__ import annotations

import hmac
import math
import os
import re
import secrets
import shutil
from collections import Counter
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    NonNegativeFloat,
    PrivateAttr,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev", "development", "test"}
MIN_SECRET_LENGTH = 32
# Estimated from the characters' spread; `openssl rand -hex 16` or `secrets.token_urlsafe()`
# pass easily; "a" * 40 (0 bits) or "abcd" * 10 (80 bits) do not.
MIN_SECRET_BITS = 96
# Secret (sk_) or restricted (rk_) key, live or test, then Stripe's random part (24 or
# 99 characters); a 24-character one estimates at about 100 bits.
STRIPE_KEY_SHAPE = re.compile(r"(sk|rk)_(live|test)_[0-9A-Za-z]{20,}")
MIN_STRIPE_KEY_BITS = 64


def estimated_bits(secret: str) -> float:
    """Shannon entropy of the secret's characters times its length: a floor for guessing."""
    counts = Counter(secret)
    return -sum(n * math.log2(n / len(secret)) for n in counts.values())


class PlanSetting(BaseModel):
    code: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    name: str = Field(min_length=1, max_length=60)
    description: str = ""
    amount_cents: int = Field(gt=0)
    currency: str = Field("usd", pattern=r"^[a-z]{3}$")
    interval: Literal["day", "week", "month", "year"]
    interval_count: int = Field(1, ge=1, le=36)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BUGFIXER_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    env: Literal["development", "production", "test"] = Field(
        "development", description="development, test or production (strict secrets)."
    )
    instance_dir: Path = Field(
        Path("instance"), description="Folder for local state: SQLite file, generated secret."
    )
    database_url: str = Field(
        "", description="SQLAlchemy URL; default a SQLite file in the instance folder."
    )
    secret_key: SecretStr = Field(
        SecretStr(""),
        description="Signs cookies. Generated into the instance folder when unset, "
        "except in production where it is required.",
    )
    free_fixes: int = Field(3, ge=0, le=1000, description="Free fixes per visitor.")
    free_fixes_per_network_per_day: int = Field(
        30,
        ge=0,
        le=1_000_000,
        description="Anonymous free fixes from one network (/24 or /64) in a rolling day; "
        "0 = no cap. Signed-in accounts are not counted.",
    )
    reservation_ttl_s: int = Field(
        600,
        ge=5,
        le=86_400,
        description="Seconds a free fix stays held for a request that never finishes "
        "(a killed process) before it is given back.",
    )
    shutdown_timeout_s: float = Field(
        30.0,
        ge=0,
        le=3600,
        description="On SIGTERM, seconds in-flight requests get to finish; fixes still "
        "running then are stopped and give their free fix back.",
    )
    max_code_chars: int = Field(20_000, ge=100, le=1_000_000, description="Largest code input.")
    max_error_chars: int = Field(10_000, ge=100, le=1_000_000, description="Largest error input.")
    max_test_chars: int = Field(
        10_000, ge=100, le=1_000_000, description="Largest user test (run after the fix)."
    )
    fix_candidates: int = Field(
        1,
        ge=1,
        le=8,
        description="Answers asked for per fix (one request with n where the provider "
        "supports it); the best by evidence is shown. Each fix is still one charge.",
    )

    llm_provider: Literal["builtin", "openai"] | None = Field(
        None, description="builtin or openai; default openai when an API key is set."
    )
    llm_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("BUGFIXER_LLM_BASE_URL", "OPENAI_BASE_URL"),
        description="Base URL of an OpenAI-compatible API (OPENAI_BASE_URL also read).",
    )
    llm_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("BUGFIXER_LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key of the LLM endpoint (OPENAI_API_KEY also read).",
    )
    llm_model: str = Field("gpt-4o-mini", min_length=1, description="Chat model name.")
    llm_timeout_s: float = Field(30.0, gt=0, le=600, description="Seconds per LLM request.")
    llm_max_retries: int = Field(2, ge=0, le=5, description="Retries on LLM 5xx or timeout.")
    llm_max_tokens: int = Field(
        8192,
        ge=256,
        le=131072,
        description="Most tokens one LLM answer may have (bounds the time and cost of a "
        "model that does not stop).",
    )
    llm_input_usd_per_mtok: float = Field(
        0.15, ge=0, description="Price of a million prompt tokens, for cost estimates."
    )
    llm_output_usd_per_mtok: float = Field(
        0.60, ge=0, description="Price of a million completion tokens, for cost estimates."
    )
    llm_prices: dict[str, tuple[NonNegativeFloat, NonNegativeFloat]] | None = Field(
        None,
        description="JSON {model: [input_usd_per_mtok, output_usd_per_mtok]} for cost "
        "estimates; default: the two price settings for BUGFIXER_LLM_MODEL. Models not "
        "listed are priced with the two price settings.",
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level."
    )
    server_timing: bool = Field(
        False,
        description="Send a Server-Timing header (our time vs the provider's) with each "
        "response; it also tells clients how long each request took.",
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="text for people, json for log shippers (one object per line)."
    )
    metrics_token: SecretStr = Field(
        SecretStr(""),
        description="Bearer token for /metrics; unset = only loopback peers may scrape.",
    )
    migrate_on_start: bool = Field(
        True,
        description="Upgrade the database when the app starts; false when migrations run "
        "as their own step (the app then reports not ready until they have).",
    )

    public_url: str = Field(
        "",
        description="The site's public base URL, used in emailed links (required in production).",
    )
    contact_email: str = Field(
        "",
        description="Where customers write for help and refunds; shown in the footer and on "
        "the legal pages (required in production).",
    )
    operator_name: str = Field(
        "Code Bug Fixer",
        min_length=1,
        max_length=200,
        description="Who runs this site, as the Terms, Privacy and Refund pages name it.",
    )
    terms_file: Path | None = Field(
        None, description="Text file replacing the default Terms of service page."
    )
    privacy_file: Path | None = Field(
        None, description="Text file replacing the default Privacy policy page."
    )
    refund_file: Path | None = Field(
        None, description="Text file replacing the default Refund policy page."
    )
    trial_policy: Literal["fingerprint", "cookie"] = Field(
        "fingerprint",
        description="fingerprint: a new browser on the same network and User-Agent shares the "
        "trial; cookie: every new cookie gets its own trial.",
    )
    trusted_proxies: str = Field(
        "", description="Comma-separated proxy IPs/CIDRs whose X-Forwarded-For is believed."
    )
    admin_emails: str = Field("", description="Comma-separated emails of admin accounts.")

    smtp_host: str = Field("", description="SMTP server; without it mail goes to the log/outbox.")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port.")
    smtp_username: str = Field("", description="SMTP login, if the server wants one.")
    smtp_password: SecretStr = Field(SecretStr(""), description="SMTP password.")
    smtp_sender: str = Field(
        "Code Bug Fixer <no-reply@localhost>", description="From address of outgoing mail."
    )
    smtp_starttls: bool = Field(True, description="Upgrade the SMTP connection with STARTTLS.")

    rate_limit_login: str = Field(
        "10/minute;100/hour",
        description="Sign-in attempts per IP, and per email from one IP.",
    )
    rate_limit_login_email: str = Field(
        "100/hour;500/day",
        description="Sign-in attempts per email from everywhere (slower, so one IP's wrong "
        "guesses do not lock the owner out).",
    )
    rate_limit_confirm: str = Field(
        "3/minute;10/day", description="Confirmation emails sent again, per account."
    )
    rate_limit_signup: str = Field(
        "5/minute;30/hour", description="Sign-ups per IP, per browser and per email."
    )
    rate_limit_reset: str = Field(
        "5/minute;20/hour", description="Password reset requests per IP and per email."
    )
    rate_limit_fix: str = Field("60/minute", description="Fixes per visitor or account.")
    rate_limit_fix_ip: str = Field("1200/minute", description="Fixes per IP address.")
    rate_limit_storage: str = Field(
        "memory://",
        description="Where rate limit counters live: memory:// (this process) or "
        "redis://host:port/db (shared by every worker and machine).",
    )

    stripe_secret_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("STRIPE_SECRET_KEY", "BUGFIXER_STRIPE_SECRET_KEY"),
        description="Stripe secret key (sk_test_/sk_live_); unset = the built-in emulator.",
    )
    stripe_publishable_key: str = Field(
        "",
        validation_alias=AliasChoices("STRIPE_PUBLISHABLE_KEY", "BUGFIXER_STRIPE_PUBLISHABLE_KEY"),
        description="Stripe publishable key (shown to nobody yet; kept for Stripe.js use).",
    )
    stripe_webhook_secret: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("STRIPE_WEBHOOK_SECRET", "BUGFIXER_STRIPE_WEBHOOK_SECRET"),
        description="Signing secret of the webhook endpoint (whsec_...).",
    )
    plans: list[PlanSetting] | None = Field(
        None, description="JSON list of plans (code, name, description, amount_cents, ...)."
    )
    past_due_grace_days: int = Field(
        3, ge=0, le=60, description="Days a past-due subscription keeps unlimited fixes."
    )

    sandbox: Literal["bwrap", "off"] | None = Field(
        None,
        description="bwrap runs user programs under bubblewrap to verify fixes; off never runs "
        "them. Default bwrap when the binary exists, else off (production refuses that "
        "unless off is set explicitly).",
    )
    sandbox_wall_s: float = Field(5.0, gt=0, le=300, description="Wall-clock seconds per run.")
    sandbox_cpu_s: float = Field(2.0, gt=0, le=300, description="CPU seconds per run.")
    sandbox_memory_mb: int = Field(
        256, ge=32, le=65536, description="Address space per sandboxed process, MiB."
    )
    sandbox_file_mb: int = Field(
        16, ge=1, le=4096, description="Size of the private temporary folder (and any file), MiB."
    )
    sandbox_processes: int = Field(
        64, ge=1, le=4096, description="Processes and threads a run may have at once."
    )
    sandbox_output_bytes: int = Field(
        64_000, ge=1000, le=10_000_000, description="Output kept per stream; more stops the run."
    )
    sandbox_concurrency: int | None = Field(
        None, ge=1, le=1024, description="Sandboxed runs at once per process; default CPU count."
    )
    sandbox_python: str = Field(
        "",
        description="Interpreter that runs user programs in the sandbox; default the server's "
        "own (or /usr/bin/python3 when the sandbox user cannot read it).",
    )

    _sandbox_missing: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.llm_provider is None:
            self.llm_provider = "openai" if self.llm_api_key else "builtin"
        for name in ("trusted_proxies", "admin_emails"):
            setattr(
                self, name, ",".join(p.strip() for p in getattr(self, name).split(",") if p.strip())
            )
        self._resolve_sandbox()
        if self.stripe_secret_key and not self.stripe_webhook_secret:
            raise ValueError("STRIPE_WEBHOOK_SECRET must be set when STRIPE_SECRET_KEY is")
        if self.env == "production" and not self.stripe_secret_key:
            raise ValueError(
                "STRIPE_SECRET_KEY must be set when BUGFIXER_ENV=production "
                "(the built-in Stripe emulator is for development only)"
            )
        if self.env == "production" and not self.public_url:
            raise ValueError("BUGFIXER_PUBLIC_URL must be set when BUGFIXER_ENV=production")
        if self.env == "production":
            key = self.secret_key.get_secret_value()
            if (
                key.lower() in PLACEHOLDER_SECRETS
                or len(key) < MIN_SECRET_LENGTH
                or estimated_bits(key) < MIN_SECRET_BITS
            ):
                raise ValueError(
                    f"BUGFIXER_SECRET_KEY must be set to a random value of at least "
                    f"{MIN_SECRET_LENGTH} characters when BUGFIXER_ENV=production "
                    "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
            self._check_stripe_key()
        if self.env == "production" and not self.contact_email:
            raise ValueError(
                "BUGFIXER_CONTACT_EMAIL must be set when BUGFIXER_ENV=production "
                "(customers need an address for help and refunds)"
            )
        return self

    def _check_stripe_key(self) -> None:
        """A live server with a key of the wrong shape would fail at the first checkout."""
        key = self.stripe_secret_key.get_secret_value() if self.stripe_secret_key else ""
        random_part = key.split("_", 2)[-1]
        if not STRIPE_KEY_SHAPE.fullmatch(key) or estimated_bits(random_part) < MIN_STRIPE_KEY_BITS:
            raise ValueError(
                "STRIPE_SECRET_KEY must be a Stripe secret or restricted key "
                "(sk_live_..., sk_test_..., rk_live_... or rk_test_... as the dashboard shows it) "
                "when BUGFIXER_ENV=production"
            )

    def _resolve_sandbox(self) -> None:
        if self.sandbox_concurrency is None:
            self.sandbox_concurrency = os.cpu_count() or 1
        installed = shutil.which("bwrap") is not None
        if self.sandbox == "bwrap" and not installed:
            raise ValueError("BUGFIXER_SANDBOX=bwrap but bubblewrap (bwrap) is not installed")
        if self.sandbox is None:
            if not installed and self.env == "production":
                raise ValueError(
                    "bubblewrap (bwrap) is not installed: install it so fixes are verified by "
                    "running them, or set BUGFIXER_SANDBOX=off to serve unverified fixes"
                )
            self.sandbox = "bwrap" if installed else "off"
            self._sandbox_missing = not installed

    @property
    def sandbox_missing(self) -> bool:
        """The sandbox is off only because bubblewrap is missing (worth a start-up warning)."""
        return self._sandbox_missing

    @property
    def local_mode(self) -> bool:
        """Development conveniences (the mail outbox page) are on."""
        return self.env != "production"

    @cached_property
    def llm_price_table(self) -> dict[str, tuple[float, float]]:
        """USD per million (prompt, completion) tokens by model."""
        if self.llm_prices is not None:
            return dict(self.llm_prices)
        return {self.llm_model: (self.llm_input_usd_per_mtok, self.llm_output_usd_per_mtok)}

    def llm_price(self, model: str) -> tuple[float, float]:
        default = (self.llm_input_usd_per_mtok, self.llm_output_usd_per_mtok)
        return self.llm_price_table.get(model, default)

    @property
    def max_fix_body_bytes(self) -> int:
        """The largest fix request body: any field may be escaped (JSON ``\\uXXXX`` pairs or
        percent-encoded UTF-8) at up to 12 bytes a character, plus room for the rest."""
        return 12 * (self.max_code_chars + self.max_error_chars + self.max_test_chars) + 64 * 1024

    @property
    def admin_email_list(self) -> set[str]:
        return {e.lower() for e in self.admin_emails.split(",") if e}

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [p for p in self.trusted_proxies.split(",") if p]

    @property
    def stripe_emulated(self) -> bool:
        """No Stripe key: the built-in emulator at /_stripe stands in for Stripe."""
        return self.stripe_secret_key is None

    @cached_property
    def webhook_secret(self) -> str:
        if self.stripe_webhook_secret:
            return self.stripe_webhook_secret.get_secret_value()
        digest = hmac.new(self.signing_key.encode(), b"devstripe-webhooks", "sha256").hexdigest()
        return f"whsec_dev_{digest[:32]}"

    @cached_property
    def devstripe_key(self) -> str:
        """The built-in emulator's API key: secret to this instance, like the signing key."""
        digest = hmac.new(self.signing_key.encode(), b"devstripe-api-key", "sha256").hexdigest()
        return f"sk_test_dev_{digest[:32]}"

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.instance_dir / 'bugfixer.sqlite3').resolve()}"

    @cached_property
    def signing_key(self) -> str:
        """The configured secret, or one generated once and kept in the instance folder."""
        key = self.secret_key.get_secret_value()
        if key:
            return key
        path = self.instance_dir / "secret_key"
        if not path.exists():
            self.instance_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


class SettingsError(Exception):
    """Raised with a readable message naming the offending setting."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = "_".join(str(p) for p in err["loc"]).upper()
            name = loc if loc.startswith(("BUGFIXER_", "OPENAI_")) else f"BUGFIXER_{loc}"
            lines.append(f"{name}: {err['msg']}" if loc else err["msg"])
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from None
