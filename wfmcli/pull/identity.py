"""Which Genesys Cloud org a scope's frame cache and delivery state belong to.

A scope name is only a label in one configuration file: two files can both call a scope `prod`
and point it at different orgs. So the cache folder of a scope and its delivery-state folder each
hold `org.json`: the org id Genesys returned (GET /api/v2/organizations/me), the API host
(the region) and the client ids seen using it. Writing for another org is refused with one line;
a client id belongs to exactly one org, so a known one needs no request to confirm.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from wfmcli.errors import ConfigError

if TYPE_CHECKING:
    from wfmcli.pull.run import PullSource

IDENTITY_FILE = "org.json"
ORG_PATH = "/api/v2/organizations/me"


@dataclass(frozen=True)
class OrgIdentity:
    org_id: str
    region: str  # the API host: api.mypurecloud.ie (a twin: its host, whatever its port)
    org_name: str = ""
    client_ids: tuple[str, ...] = field(default=())

    def label(self) -> str:
        name = f"{self.org_name} " if self.org_name else ""
        return f"org {name}({self.org_id}) in {self.region}"


def region_of(api_url: str) -> str:
    return urlsplit(api_url).hostname or api_url


@dataclass
class IdentityFile:
    folder: Path
    what: str  # "frame cache" or "delivery state", for the message

    @property
    def path(self) -> Path:
        return self.folder / IDENTITY_FILE

    def load(self) -> OrgIdentity | None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return OrgIdentity(
                str(raw["org_id"]),
                str(raw["region"]),
                str(raw.get("org_name", "")),
                tuple(str(c) for c in raw.get("client_ids", [])),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{self.path} is damaged ({exc})", hint="move it aside; the next pull rewrites it"
            ) from exc

    def known(self, region: str, client_ids: tuple[str, ...]) -> OrgIdentity | None:
        """The recorded org when these credentials were seen using it before (no request)."""
        stored = self.load()
        if stored and stored.region == region and set(stored.client_ids) & set(client_ids):
            return stored
        return None

    def claim(self, current: OrgIdentity, scope: str) -> OrgIdentity:
        """Record `current` as this folder's org, or refuse when another org wrote it."""
        stored = self.load()
        if stored is not None and (stored.org_id, stored.region) != (
            current.org_id,
            current.region,
        ):
            raise ConfigError(
                f"the {self.what} of scope {scope!r} ({self.folder}) belongs to "
                f"{stored.label()}, but this configuration's scope {scope!r} is {current.label()}",
                hint="give this scope its own name, or move that folder aside to start afresh",
            )
        ids = tuple(sorted({*(stored.client_ids if stored else ()), *current.client_ids}))
        merged = OrgIdentity(current.org_id, current.region, current.org_name, ids)
        if merged != stored:
            self._write(merged)
        return merged

    def check(self, region: str, client_ids: tuple[str, ...], scope: str) -> None:
        """For readers that call no API (wfm report from the cache): refuse data an org wrote
        that these credentials were never seen using."""
        stored = self.load()
        if stored is None or self.known(region, client_ids):
            return
        raise ConfigError(
            f"the {self.what} of scope {scope!r} ({self.folder}) was written for "
            f"{stored.label()}, which this configuration's credentials were never seen using",
            hint="pull again (wfm refuses it if the org differs), or move that folder aside",
        )

    def _write(self, identity: OrgIdentity) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        temp = self.folder / f".{IDENTITY_FILE}.{os.getpid()}.tmp"
        temp.write_text(json.dumps(asdict(identity), indent=1), encoding="utf-8")
        temp.replace(self.path)


def claim_state(folder: Path, scope: str, source: PullSource) -> OrgIdentity:
    """The delivery state folder's org: confirmed from org.json when these credentials were seen
    before, else asked of Genesys once (one request) and recorded; another org's is refused."""
    identity = IdentityFile(folder, "delivery state")
    ids = tuple(sorted(c.client_id for c in source.credentials))
    region = region_of(source.api_url)
    known = identity.known(region, ids)
    if known is not None:
        return known
    from wfmcli.genesys.sync import SyncGenesysClient

    with SyncGenesysClient(
        source.api_url, source.login_url, source.credentials[:1], proxy=source.proxy
    ) as client:
        me = client.get(ORG_PATH)
    return identity.claim(OrgIdentity(str(me["id"]), region, str(me.get("name", "")), ids), scope)
