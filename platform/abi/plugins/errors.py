"""Typed plugin errors: one stable code per way a plugin can fail (plugin-sdk/ABI.md §5).

Load-time refusals (bad manifest, bad module, bad signature) are :class:`InvalidInput`
(HTTP 400); failures of a call (traps, limits, guest errors) are :class:`PluginCallError`
(HTTP 422), which carries the usage of the failed call when one was measured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from abi.errors import AbiError, InvalidInput, PayloadTooLarge, Unavailable

if TYPE_CHECKING:
    from abi.plugins.usage import Usage


class PluginInvalid(InvalidInput):
    """A manifest, module or bundle is refused before anything is stored or run."""

    code = "plugin.invalid"


class ManifestInvalid(PluginInvalid):
    """plugin.toml is missing, malformed or breaks a rule; the message names the key."""

    code = "plugin.manifest_invalid"


class ModuleInvalid(PluginInvalid):
    """The Wasm module does not validate, or its imports or exports break ABI v1."""

    code = "plugin.invalid_module"


class ModuleTooLarge(PayloadTooLarge):
    """The module (or the whole bundle) is over the module size limit."""

    code = "plugin.module_too_large"


class AbiMismatch(PluginInvalid):
    """The module's ``abi_version()`` is not the ABI version this host speaks."""

    code = "plugin.abi_mismatch"


class ImportNotRequested(PluginInvalid):
    """The module imports a host function whose capability the manifest does not request."""

    code = "plugin.import_not_requested"


class BundleMalformed(PluginInvalid):
    """A plugin folder, bundle or signature.json is unreadable, incomplete or holds unexpected
    files."""

    code = "plugin.bundle_malformed"


class SignatureInvalid(PluginInvalid):
    """A signature is missing or does not verify, or a key file is not an Ed25519 key."""

    code = "plugin.signature_invalid"


class UnknownPublisher(PluginInvalid):
    """A bundle is signed by a key that is not among the trusted publishers."""

    code = "plugin.unknown_publisher"


class GrantInvalid(PluginInvalid):
    """A grant names a capability the plugin does not request, or widens its parameters."""

    code = "plugin.grant_invalid"


class ConfigInvalid(PluginInvalid):
    """A tenant's config values do not match the plugin's ``config_schema``."""

    code = "plugin.config_invalid"


class SandboxFull(Unavailable):
    """Every pre-reserved instance slot is in use (``plugins.instance_slots``); retry later."""

    code = "plugin.busy"


class PluginCallError(AbiError):
    """A plugin call ended without output; ``code`` says why (ABI.md §5)."""

    code = "plugin.trap"
    status: ClassVar[int] = 422

    def __init__(
        self, message: str, *, code: str | None = None, usage: Usage | None = None, **details: Any
    ) -> None:
        super().__init__(message, code=code, **details)
        self.usage = usage
