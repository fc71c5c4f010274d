"""The scheme registry, plug-ins through entry points, options and secrets."""

from __future__ import annotations

import importlib.metadata
import logging
from pathlib import Path

import pytest

from wfmcli.errors import ConfigError
from wfmcli.transports import open_transport, register, registry, schemes, transport_class
from wfmcli.transports.local import LocalTransport
from wfmcli.transports.options import TransportOptions, parse_options
from wfmcli.transports.url import parse_url


class MemoryTransport(LocalTransport):
    scheme = "mem"


def test_builtin_table_is_sorted_and_complete() -> None:
    assert list(registry.BUILTIN) == sorted(registry.BUILTIN)
    assert schemes() == ["file", "ftp", "ftps", "https", "s3", "sftp", "webdav", "webdavs"]
    for scheme in schemes():
        assert transport_class(scheme).scheme == scheme


def test_register_refuses_to_clobber_unless_asked() -> None:
    register("mem", MemoryTransport)
    with pytest.raises(ValueError, match="already served"):
        register("mem", LocalTransport)
    register("mem", LocalTransport, clobber=True)
    assert transport_class("mem") is LocalTransport


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        open_transport("gopher://host/x")
    assert "sftp" in (caught.value.hint or "")


def test_failed_import_names_what_to_install() -> None:
    register("broken", "no_such_module_for_wfm:Thing")
    with pytest.raises(ConfigError) as caught:
        transport_class("broken")
    assert "cannot be loaded" in caught.value.message


def test_entry_point_plugins_load_and_a_broken_one_only_warns(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    group = registry.ENTRY_POINT_GROUP
    fake = [
        importlib.metadata.EntryPoint("mem", f"{__name__}:MemoryTransport", group),
        importlib.metadata.EntryPoint("bad", "no_such_module_for_wfm:Transport", group),
        importlib.metadata.EntryPoint("odd", "pathlib:Path", group),
    ]

    def entry_points(*, group: str) -> list[importlib.metadata.EntryPoint]:
        return fake if group == registry.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(registry.importlib.metadata, "entry_points", entry_points)
    registry.reset()
    with caplog.at_level(logging.WARNING, logger="wfm.transports"):
        known = schemes()
    assert "mem" in known and "sftp" in known
    assert "bad" not in known and "odd" not in known
    warnings = " ".join(record.message for record in caplog.records)
    assert "'bad'" in warnings and "'odd'" in warnings
    local = tmp_path / "a.txt"
    local.write_text("hi")
    with open_transport(f"mem://{tmp_path}/out", {}) as transport:
        transport.put(local, "a.txt")
    assert (tmp_path / "out" / "a.txt").read_text() == "hi"


def test_options_are_converted_and_checked() -> None:
    allowed = frozenset({"timeout", "retries", "overwrite", "ca_bundle", "password"})
    options = parse_options(
        "ftps", allowed, {"timeout": "2.5", "retries": "1", "overwrite": "no", "ca_bundle": "~/ca"}
    )
    assert (options.timeout, options.retries, options.overwrite) == (2.5, 1, False)
    assert options.ca_bundle == Path("~/ca").expanduser()
    with pytest.raises(ConfigError, match="overwrite"):
        parse_options("ftp", allowed, {"overwrite": "maybe"})
    with pytest.raises(ConfigError, match="retries"):
        parse_options("ftp", allowed, {"retries": "99"})


def test_secrets_stay_out_of_reprs_and_urls() -> None:
    options = TransportOptions(password="tops3cret-value")
    assert "tops3cret-value" not in repr(options)
    url = parse_url("sftp://me:an0ther-secret@host:2222/in")
    assert "an0ther-secret" not in url.display()
    assert "an0ther-secret" not in repr(url)
    assert url.display() == "sftp://me@host:2222/in"


def test_ftps_port_990_means_implicit_tls() -> None:
    implicit = open_transport("ftps://h:990/x")
    explicit = open_transport("ftps://h/x")
    forced = open_transport("ftps://h:2121/x?tls=implicit")
    assert [t.implicit for t in (implicit, explicit, forced)] == [True, False, True]  # type: ignore[attr-defined]
    with pytest.raises(ConfigError):
        open_transport("ftps://h/x?tls=sometimes")


def test_remote_paths_follow_each_scheme_convention() -> None:
    assert open_transport("ftp://h/out").remote_path("a.csv") == "out/a.csv"
    assert open_transport("ftp://h//srv/out").remote_path("a.csv") == "/srv/out/a.csv"
    assert open_transport("sftp://u@h/srv/out").remote_path("a.csv") == "/srv/out/a.csv"
    assert open_transport("sftp://u@h/~/out").remote_path("a.csv") == "out/a.csv"
    assert open_transport("s3://bucket/p/q").remote_path("a.csv") == "p/q/a.csv"
    assert open_transport("s3://bucket").remote_path("a.csv") == "a.csv"
    assert open_transport("webdav://h/dav/").remote_path("a.csv") == "/dav/a.csv"
