"""The Windows task XML follows the Task Scheduler schema's documented element rules (Microsoft's
task.xsd ships in no package we can install, so its rules for what we emit are written out here:
element names and order-free sets, cardinality, enumerations, booleans, ISO 8601 durations)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from wfmcli.schedule import TASK_NAMESPACE, JobSpec, windows_task

NS = "{" + TASK_NAMESPACE + "}"
# taskType and its children (Task Scheduler Schema, "Task Scheduler Schema Elements")
CHILDREN = {
    "Task": {"RegistrationInfo", "Triggers", "Settings", "Data", "Principals", "Actions"},
    "RegistrationInfo": {"URI", "SecurityDescriptor", "Source", "Date", "Author", "Version",
                         "Description", "Documentation"},
    "Triggers": {"BootTrigger", "RegistrationTrigger", "IdleTrigger", "TimeTrigger",
                 "EventTrigger", "LogonTrigger", "SessionStateChangeTrigger",
                 "CalendarTrigger"},
    "TimeTrigger": {"StartBoundary", "EndBoundary", "Enabled", "ExecutionTimeLimit",
                    "Repetition", "RandomDelay", "Id"},
    "Repetition": {"Interval", "Duration", "StopAtDurationEnd"},
    "Principals": {"Principal"},
    "Principal": {"UserId", "LogonType", "GroupId", "DisplayName", "RunLevel",
                  "ProcessTokenSidType", "RequiredPrivileges"},
    "Settings": {"AllowStartOnDemand", "RestartOnFailure", "MultipleInstancesPolicy",
                 "DisallowStartIfOnBatteries", "StopIfGoingOnBatteries", "AllowHardTerminate",
                 "StartWhenAvailable", "NetworkProfileName", "RunOnlyIfNetworkAvailable",
                 "WakeToRun", "Enabled", "Hidden", "DeleteExpiredTaskAfter", "IdleSettings",
                 "NetworkSettings", "ExecutionTimeLimit", "Priority", "RunOnlyIfIdle",
                 "UseUnifiedSchedulingEngine", "DisallowStartOnRemoteAppSession",
                 "MaintenanceSettings", "Volatile"},
    "Actions": {"Exec", "ComHandler", "SendEmail", "ShowMessage"},
    "Exec": {"Command", "Arguments", "WorkingDirectory"},
}  # fmt: skip
REQUIRED = {"Task": {"Actions"}, "Exec": {"Command"}, "TimeTrigger": {"StartBoundary"}}
ENUMS = {
    "MultipleInstancesPolicy": {"Parallel", "Queue", "IgnoreNew", "StopExisting"},
    "LogonType": {"S4U", "Password", "InteractiveToken", "InteractiveTokenOrPassword",
                  "Group", "ServiceAccount", "None"},
    "RunLevel": {"LeastPrivilege", "HighestAvailable"},
}  # fmt: skip
BOOLEANS = {"Enabled", "StopAtDurationEnd", "DisallowStartIfOnBatteries", "StartWhenAvailable",
            "StopIfGoingOnBatteries", "RunOnlyIfNetworkAvailable"}  # fmt: skip
DURATIONS = {"Interval", "ExecutionTimeLimit", "Duration"}
ISO_DURATION = re.compile(r"^P(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+S)?)?$")


def _check(element: ET.Element) -> None:
    name = element.tag.removeprefix(NS)
    assert element.tag.startswith(NS), f"{element.tag} is outside the task namespace"
    children = [child.tag.removeprefix(NS) for child in element]
    if name in CHILDREN:
        assert set(children) <= CHILDREN[name], f"{name}: unknown {set(children) - CHILDREN[name]}"
        repeatable = {"Triggers", "Principals", "Actions"}
        if name not in repeatable:
            assert len(children) == len(set(children)), f"{name}: an element appears twice"
    assert REQUIRED.get(name, set()) <= set(children), f"{name} lacks {REQUIRED[name]}"
    text = (element.text or "").strip()
    if name in ENUMS:
        assert text in ENUMS[name], f"{name}={text!r}"
    if name in BOOLEANS:
        assert text in ("true", "false"), f"{name}={text!r}"
    if name in DURATIONS:
        assert ISO_DURATION.match(text), f"{name}={text!r}"
    if name == "Interval":
        assert _minutes(text) >= 1 and _minutes(text) <= 31 * 24 * 60  # PT1M .. P31D
    if name == "StartBoundary":
        datetime.fromisoformat(text)
    for child in element:
        _check(child)


def _minutes(text: str) -> int:
    parts = {unit: int(n) for n, unit in re.findall(r"(\d+)([DHMS])", text)}
    return parts.get("D", 0) * 1440 + parts.get("H", 0) * 60 + parts.get("M", 0)


@pytest.mark.parametrize(("every", "lag", "limit"), [(15, 10, 2), (60, 5, 1), (5, 0, 24)])
def test_task_xml_follows_the_schema_rules(
    tmp_path: Path, every: int, lag: int, limit: int
) -> None:
    spec = JobSpec(
        target="prod/nice",
        wfm=Path("C:/Program Files/wfm/wfm.exe"),
        config=tmp_path / "a & b" / "config.yaml",
        log_file=tmp_path / "logs" / "prod-nice.log",
        every=timedelta(minutes=every),
        offset=timedelta(minutes=lag),
        time_limit=timedelta(hours=limit),
        env_file=tmp_path / "schedule" / "prod-nice.env",
    )
    text = windows_task(spec).content.decode("utf-16")
    root = ET.fromstring(text.split("?>", 1)[1])
    assert root.tag == NS + "Task" and root.get("version") == "1.2"
    _check(root)
    principals = {p.get("id") for p in root.iter(NS + "Principal")}
    assert root.find(NS + "Actions").get("Context") in principals  # type: ignore[union-attr]
    arguments = root.find(f"{NS}Actions/{NS}Exec/{NS}Arguments").text  # type: ignore[union-attr]
    assert "--env-file" in arguments and arguments.endswith("run prod/nice")


def test_the_rules_can_fail() -> None:
    bad = ET.fromstring(
        f'<Task xmlns="{TASK_NAMESPACE}"><Settings><MultipleInstancesPolicy>Sometimes'
        "</MultipleInstancesPolicy></Settings><Actions/></Task>"
    )
    with pytest.raises(AssertionError):
        _check(bad)
