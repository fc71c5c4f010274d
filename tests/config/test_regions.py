"""The 18 Genesys Cloud regions, accepted by key, AWS name, domain or host."""

from __future__ import annotations

import pytest

from wfmcli.errors import ConfigError
from wfmcli.genesys.regions import REGIONS, resolve_region


def test_eighteen_unique_regions() -> None:
    assert len(REGIONS) == 18
    assert len({r.domain for r in REGIONS}) == 18
    assert len({r.key for r in REGIONS}) == 18


@pytest.mark.parametrize(
    "spelling",
    [
        "eu_west_1",
        "eu-west-1",
        "mypurecloud.ie",
        "api.mypurecloud.ie",
        "https://api.mypurecloud.ie/",
        "MyPureCloud.IE",
    ],
)
def test_spellings_resolve(spelling: str) -> None:
    region = resolve_region(spelling)
    assert region.api_url == "https://api.mypurecloud.ie"
    assert region.login_url == "https://login.mypurecloud.ie"


def test_every_region_round_trips() -> None:
    for region in REGIONS:
        assert resolve_region(region.domain) is region
        assert resolve_region(region.key) is region


def test_typo_suggests() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_region("euw2.pure.clod")
    assert "did you mean euw2.pure.cloud" in caught.value.one_line()


def test_nonsense_lists_how_to_find_regions() -> None:
    with pytest.raises(ConfigError, match="wfm config regions"):
        resolve_region("zzzzzz")
