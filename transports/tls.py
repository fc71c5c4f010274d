"""TLS set-up shared by FTPS and WebDAV over HTTPS: verified by default, loud when it is not."""

from __future__ import annotations

import logging
import ssl

from wfmcli.errors import ConfigError
from wfmcli.transports.options import TransportOptions

log = logging.getLogger("wfm.transports")


def warn_if_insecure(options: TransportOptions, where: str) -> None:
    if options.insecure_skip_verify:
        log.warning(
            "TLS certificate checking is OFF for %s (insecure_skip_verify): anyone on the "
            "network path can read and change the files; use ca_bundle instead",
            where,
        )


def client_context(options: TransportOptions, where: str) -> ssl.SSLContext:
    warn_if_insecure(options, where)
    if options.ca_bundle is not None and not options.ca_bundle.is_file():
        raise ConfigError(f"ca_bundle {options.ca_bundle} is not a readable file")
    context = ssl.create_default_context(
        cafile=str(options.ca_bundle) if options.ca_bundle else None
    )
    if options.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def requests_verify(options: TransportOptions, where: str) -> bool | str:
    """The `verify` value requests and botocore take."""
    warn_if_insecure(options, where)
    if options.insecure_skip_verify:
        return False
    if options.ca_bundle is not None:
        if not options.ca_bundle.is_file():
            raise ConfigError(f"ca_bundle {options.ca_bundle} is not a readable file")
        return str(options.ca_bundle)
    return True
