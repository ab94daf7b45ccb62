"""Outside services the wallet talks to (card payments, SMS, bank payouts, airtime), each behind a small
interface with a sandbox for development and tests, chosen by configuration."""

from __future__ import annotations

from werkzeug.utils import import_string

from webapp.errors import ConfigurationError


def configured(config: dict, setting: str, builtin: dict):
    """The provider `config[setting]` names, built as Class(config): one of `builtin` (name → class, with
    "sandbox" the default), or "package.module:Class" for an adapter of one's own."""
    name = config.get(setting) or "sandbox"
    adapter = builtin.get(name)
    if adapter is None:
        try:
            adapter = import_string(name)
        except ImportError as error:
            raise ConfigurationError(f"{setting}={name!r} cannot be imported: {error}") from None
    return adapter(config)
