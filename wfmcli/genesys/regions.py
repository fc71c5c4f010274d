"""The Genesys Cloud regions, as data: accepted by SDK key, AWS region name, domain or API host.

Source: the Genesys Python SDK's region table (18 rows). The login host is the API host with
`api.` replaced by `login.`, as the SDKs derive it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from wfmcli.errors import ConfigError


@dataclass(frozen=True)
class Region:
    key: str  # the SDK enum key, which is also the AWS region name with underscores
    domain: str
    label: str = ""

    @property
    def api_url(self) -> str:
        return f"https://api.{self.domain}"

    @property
    def login_url(self) -> str:
        return f"https://login.{self.domain}"


REGIONS: tuple[Region, ...] = (
    Region("us_east_1", "mypurecloud.com", "US East (Virginia)"),
    Region("us_east_2", "use2.us-gov-pure.cloud", "US East 2 (FedRAMP)"),
    Region("us_west_2", "usw2.pure.cloud", "US West (Oregon)"),
    Region("ca_central_1", "cac1.pure.cloud", "Canada (Central)"),
    Region("sa_east_1", "sae1.pure.cloud", "South America (Sao Paulo)"),
    Region("mx_central_1", "mxc1.pure.cloud", "Mexico (Central)"),
    Region("eu_west_1", "mypurecloud.ie", "EU (Ireland)"),
    Region("eu_west_2", "euw2.pure.cloud", "EU (London)"),
    Region("eu_central_1", "mypurecloud.de", "EU (Frankfurt)"),
    Region("eu_central_2", "euc2.pure.cloud", "EU (Zurich)"),
    Region("eusc_de_east_1", "edee1.eusc-pure.cloud", "EU sovereign (Germany East)"),
    Region("me_central_1", "mec1.pure.cloud", "Middle East (UAE)"),
    Region("ap_south_1", "aps1.pure.cloud", "Asia Pacific (Mumbai)"),
    Region("ap_southeast_1", "apse1.pure.cloud", "Asia Pacific (Jakarta)"),
    Region("ap_southeast_2", "mypurecloud.com.au", "Asia Pacific (Sydney)"),
    Region("ap_northeast_1", "mypurecloud.jp", "Asia Pacific (Tokyo)"),
    Region("ap_northeast_2", "apne2.pure.cloud", "Asia Pacific (Seoul)"),
    Region("ap_northeast_3", "apne3.pure.cloud", "Asia Pacific (Osaka)"),
)


def _spellings(region: Region) -> tuple[str, ...]:
    return (
        region.key,
        region.key.replace("_", "-"),
        region.domain,
        f"api.{region.domain}",
        f"login.{region.domain}",
    )


_BY_SPELLING: dict[str, Region] = {
    spelling: region for region in REGIONS for spelling in _spellings(region)
}


def resolve_region(name: str) -> Region:
    """A region by any accepted spelling; an unknown one raises with the closest matches."""
    cleaned = name.strip().lower().removeprefix("https://").rstrip("/")
    region = _BY_SPELLING.get(cleaned)
    if region is not None:
        return region
    close = difflib.get_close_matches(cleaned, list(_BY_SPELLING), n=2, cutoff=0.6)
    hint = (
        f"did you mean {' or '.join(close)}?"
        if close
        else "use a domain such as mypurecloud.ie or a key such as eu_west_1 "
        "(wfm config regions lists all 18)"
    )
    raise ConfigError(f"unknown Genesys Cloud region {name!r}", hint=hint)
