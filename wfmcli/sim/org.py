"""The simulated organisation: everything about the twin's org that does not move with time.

Built deterministically from a seed, so two twins with the same seed serve the same ids, names
and queues. Pure data: no clock, no I/O.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field, replace

# Analytics and notifications spell system presences in UPPER_SNAKE; the presence-definition
# API spells them in PascalCase. Both spellings come from the Genesys SDK models.
SYSTEM_PRESENCES: tuple[str, ...] = (
    "AVAILABLE",
    "AWAY",
    "BUSY",
    "OFFLINE",
    "IDLE",
    "ON_QUEUE",
    "MEAL",
    "TRAINING",
    "MEETING",
    "BREAK",
)
PASCAL_PRESENCE: dict[str, str] = {
    "AVAILABLE": "Available",
    "AWAY": "Away",
    "BUSY": "Busy",
    "OFFLINE": "Offline",
    "IDLE": "Idle",
    "ON_QUEUE": "OnQueue",
    "MEAL": "Meal",
    "TRAINING": "Training",
    "MEETING": "Meeting",
    "BREAK": "Break",
}
DISPLAY_PRESENCE: dict[str, str] = {
    **PASCAL_PRESENCE,
    "ON_QUEUE": "On Queue",
}
ROUTING_STATUSES: tuple[str, ...] = (
    "OFF_QUEUE",
    "IDLE",
    "INTERACTING",
    "NOT_RESPONDING",
    "COMMUNICATING",
)
MEDIA_TYPES: tuple[str, ...] = ("voice", "chat", "email", "message", "callback")

# Genesys' own system "Available" definition id, as it appears in published samples.
_AVAILABLE_ID = "6a3af858-942f-489d-9700-5f9bcdcdae9b"
_SYSTEM_NAMESPACE = uuid.UUID("1b0bbd44-7a9e-4c57-9a8c-9f6ed2b0f3d1")

# Secondary (user-defined) presences an agent's schedule uses, under their system presence.
SECONDARY_PRESENCES: tuple[tuple[str, str], ...] = (
    ("Short Break", "BREAK"),
    ("Lunch", "MEAL"),
    ("E-learning", "TRAINING"),
    ("Team Meeting", "MEETING"),
    ("Coaching", "MEETING"),
    ("Back Office", "BUSY"),
)

LICENSED_ROLE_NAME = "Contact Center Agent"
_OTHER_ROLES = ("employee", "Supervisor", "Master Admin", "Quality Evaluator")
_DIVISION_NAMES = ("Home", "Customer Service", "Sales", "Back Office")

_FIRST = (
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
    "Nils",
    "Olga",
    "Pavel",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Uma",
    "Viktor",
    "Wen",
    "Xavier",
    "Yara",
    "Zoe",
    "Amir",
    "Bianca",
    "Carlos",
    "Dana",
    "Emeka",
    "Freya",
)
_LAST = (
    "Okafor",
    "Schmidt",
    "Rossi",
    "Novak",
    "Silva",
    "Kowalski",
    "Larsen",
    "Dubois",
    "Haddad",
    "Tanaka",
    "Murphy",
    "Fischer",
    "Moreau",
    "Costa",
    "Nielsen",
    "Petrov",
    "Ahmed",
    "Garcia",
    "Jansen",
    "Kim",
    "Lopez",
    "Meyer",
    "Nakamura",
    "O'Brien",
    "Patel",
    "Quist",
    "Reyes",
)
_TOPICS = ("Billing", "Sales", "Support", "Retention", "Claims", "Orders", "Tech", "Accounts")

# Per media: SL goal (fraction, seconds), alerting timeout (s), mean handle parts (s),
# patience (s), flow-out timeout (s).
_MEDIA_PROFILE: dict[str, dict[str, float]] = {
    "voice": {
        "sl": 0.8,
        "sl_s": 20,
        "alert_s": 8,
        "talk": 240,
        "acw": 45,
        "patience": 150,
        "flow_s": 240,
    },
    "chat": {
        "sl": 0.8,
        "sl_s": 60,
        "alert_s": 15,
        "talk": 420,
        "acw": 30,
        "patience": 300,
        "flow_s": 600,
    },
    "email": {
        "sl": 0.9,
        "sl_s": 14400,
        "alert_s": 30,
        "talk": 300,
        "acw": 20,
        "patience": 10**9,
        "flow_s": 10**9,
    },
    "message": {
        "sl": 0.8,
        "sl_s": 120,
        "alert_s": 30,
        "talk": 360,
        "acw": 20,
        "patience": 900,
        "flow_s": 1800,
    },
    "callback": {
        "sl": 0.8,
        "sl_s": 3600,
        "alert_s": 15,
        "talk": 200,
        "acw": 0,
        "patience": 10**9,
        "flow_s": 10**9,
    },
}
_MEDIA_CYCLE = (
    "voice",
    "chat",
    "voice",
    "email",
    "message",
    "voice",
    "callback",
    "chat",
    "voice",
    "email",
    "message",
    "voice",
)


@dataclass(frozen=True)
class Division:
    id: str
    name: str
    home: bool


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    description: str
    licensing: bool


@dataclass(frozen=True)
class PresenceDefinition:
    id: str
    name: str
    system_presence: str  # UPPER_SNAKE
    primary: bool  # a system definition (type System) rather than a secondary one


@dataclass
class User:
    index: int
    id: str
    name: str
    username: str
    email: str
    employee_id: str
    division: Division
    role_ids: tuple[str, ...]
    licensed: bool
    queue_indexes: tuple[int, ...] = ()


@dataclass
class Queue:
    index: int
    id: str
    name: str
    media: str
    division: Division
    sl_target: float
    sl_ms: int
    alert_timeout_ms: int
    short_abandon_ms: int
    mean_talk_s: float
    mean_acw_s: float
    mean_patience_s: float
    flow_out_s: float
    member_indexes: list[int] = field(default_factory=list)
    # more media the queue carries besides `media` (a blended queue: voice + callback + chat)
    extra_media: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    """A group some queues take members from (queue members with `memberBy: group`)."""

    id: str
    name: str
    member_indexes: tuple[int, ...]


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    kind: str  # "voice" (dialer, through a queue) or "messaging" (sms/email)
    queue_index: int | None
    division: Division
    contact_list_id: str


@dataclass(frozen=True)
class Credential:
    client_id: str
    client_secret: str
    name: str


@dataclass
class Org:
    seed: int
    id: str
    name: str
    domain: str
    divisions: list[Division]
    roles: list[Role]
    presences: list[PresenceDefinition]
    users: list[User]
    queues: list[Queue]
    campaigns: list[Campaign]
    credentials: list[Credential]
    timezone: str = "UTC"  # where the agents live: shifts follow its clock
    groups: list[Group] = field(default_factory=list)
    group_of_queue: dict[int, int] = field(default_factory=dict)  # queue index -> group index
    # client id -> the division ids its OAuth client was granted; absent: every division
    division_access: dict[str, set[str]] = field(default_factory=dict)
    user_by_id: dict[str, User] = field(default_factory=dict)
    queue_by_id: dict[str, Queue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.user_by_id = {u.id: u for u in self.users}
        self.queue_by_id = {q.id: q for q in self.queues}

    @property
    def licensed_role(self) -> Role:
        return next(r for r in self.roles if r.licensing)

    def system_definition(self, system_presence: str) -> PresenceDefinition:
        return next(p for p in self.presences if p.primary and p.system_presence == system_presence)

    def secondary_definition(self, name: str) -> PresenceDefinition:
        return next(p for p in self.presences if not p.primary and p.name == name)

    def find_user(self, key: str) -> User | None:
        """A user by id, username or email (what an operator has at hand)."""
        found = self.user_by_id.get(key)
        if found is not None:
            return found
        wanted = key.lower()
        matches = (u for u in self.users if wanted in (u.username.lower(), u.email.lower()))
        return next(matches, None)

    def find_division(self, key: str) -> Division | None:
        """A division by id or (case-insensitive) name."""
        wanted = key.lower()
        return next((d for d in self.divisions if wanted in (d.id, d.name.lower())), None)

    def set_licensed(self, user: User, licensed: bool) -> None:
        """Grant or revoke the licensing role, as an admin would: only the role list changes."""
        role = self.licensed_role.id
        others = tuple(r for r in user.role_ids if r != role)
        user.role_ids = (*others, role) if licensed else others
        user.licensed = licensed

    def add_to_group(self, group: Group, user: User) -> Group:
        """Put a user into a group (a deliberate fault for tests); the group as it now is."""
        index = self.groups.index(group)
        self.groups[index] = replace(group, member_indexes=(*group.member_indexes, user.index))
        return self.groups[index]


def _uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _system_presence_id(name: str) -> str:
    if name == "AVAILABLE":
        return _AVAILABLE_ID
    return str(uuid.uuid5(_SYSTEM_NAMESPACE, name))


def _presences(rng: random.Random) -> list[PresenceDefinition]:
    system = [
        PresenceDefinition(_system_presence_id(sp), DISPLAY_PRESENCE[sp], sp, True)
        for sp in SYSTEM_PRESENCES
    ]
    secondary = [PresenceDefinition(_uid(rng), name, sp, False) for name, sp in SECONDARY_PRESENCES]
    return system + secondary


def _queues(rng: random.Random, count: int, divisions: list[Division]) -> list[Queue]:
    queues = []
    for index in range(count):
        media = _MEDIA_CYCLE[index % len(_MEDIA_CYCLE)]
        profile = _MEDIA_PROFILE[media]
        topic = _TOPICS[index % len(_TOPICS)]
        suffix = "" if index < len(_MEDIA_CYCLE) else f" {index // len(_MEDIA_CYCLE) + 1}"
        queues.append(
            Queue(
                index=index,
                id=_uid(rng),
                name=f"{topic} {media.capitalize()}{suffix}",
                media=media,
                division=divisions[1 + index % (len(divisions) - 1)],
                sl_target=profile["sl"],
                sl_ms=int(profile["sl_s"] * 1000),
                alert_timeout_ms=int(profile["alert_s"] * 1000),
                short_abandon_ms=10_000,
                mean_talk_s=profile["talk"] * rng.uniform(0.8, 1.2),
                mean_acw_s=profile["acw"] * rng.uniform(0.8, 1.2),
                mean_patience_s=profile["patience"],
                flow_out_s=profile["flow_s"],
            )
        )
    return queues


def _users(
    rng: random.Random,
    count: int,
    domain: str,
    divisions: list[Division],
    roles: list[Role],
    queues: list[Queue],
) -> list[User]:
    licensed_role = next(r for r in roles if r.licensing)
    employee = next(r for r in roles if r.name == "employee")
    supervisor = next(r for r in roles if r.name == "Supervisor")
    users = []
    for index in range(count):
        first = _FIRST[rng.randrange(len(_FIRST))]
        last = _LAST[rng.randrange(len(_LAST))]
        handle = f"{first}.{last}{index + 1}".lower().replace("'", "")
        # About one user in ten is a supervisor or back-office user outside the licensing role.
        licensed = index % 10 != 9
        role_ids = (employee.id, licensed_role.id) if licensed else (employee.id, supervisor.id)
        user = User(
            index=index,
            id=_uid(rng),
            name=f"{first} {last}",
            username=f"{handle}@{domain}",
            email=f"{handle}@{domain}",
            employee_id=f"E{100000 + index}",
            division=divisions[1 + index % (len(divisions) - 1)] if index % 7 else divisions[0],
            role_ids=role_ids,
            licensed=licensed,
        )
        if licensed and queues:
            picks = {rng.randrange(len(queues)) for _ in range(rng.choice((1, 1, 2, 3)))}
            user.queue_indexes = tuple(sorted(picks))
            for q in user.queue_indexes:
                queues[q].member_indexes.append(index)
        users.append(user)
    for queue in queues:  # every queue gets at least one agent so its contacts can be answered
        if not queue.member_indexes and users:
            agent = next((u for u in users if u.licensed), users[0])
            agent.queue_indexes = (*agent.queue_indexes, queue.index)
            queue.member_indexes.append(agent.index)
    return users


def build_org(
    seed: int = 1,
    agents: int = 200,
    queues: int = 12,
    credentials: int = 1,
    timezone: str = "UTC",
    mixed_media: bool = False,
) -> Org:
    """The whole org for a seed; the same arguments always give the same org.

    `mixed_media` makes every other voice queue blended (voice + callback + chat), as many real
    orgs run them, and sends the messaging campaigns through a message and an email queue
    (outbound digital); off, every queue carries one media (existing seeds stay as they were).
    """
    rng = random.Random(f"wfm-twin-org:{seed}")
    domain = f"org{seed}.example.com"
    divisions = [Division(_uid(rng), name, name == "Home") for name in _DIVISION_NAMES]
    roles = [Role(_uid(rng), LICENSED_ROLE_NAME, "Licenses a user for workforce management", True)]
    roles += [Role(_uid(rng), name, f"{name} role", False) for name in _OTHER_ROLES]
    presences = _presences(rng)
    queue_list = _queues(rng, queues, divisions)
    users = _users(rng, agents, domain, divisions, roles, queue_list)
    voice_queues = [q for q in queue_list if q.media == "voice"]
    if mixed_media:
        for queue in voice_queues[::2]:
            queue.extra_media = ("callback", "chat")
    campaigns = [
        Campaign(_uid(rng), f"Outbound {q.name}", "voice", q.index, q.division, _uid(rng))
        for q in voice_queues[:2]
    ]
    campaigns += [
        Campaign(_uid(rng), name, "messaging", None, divisions[2], _uid(rng))
        for name in ("SMS Reminders", "Email Renewals")
    ]
    if mixed_media:  # messaging campaigns send through a queue: outbound digital traffic
        for position, media in ((2, "message"), (3, "email")):
            target = next((q for q in queue_list if q.media == media), None)
            if target is not None:
                campaigns[position] = replace(campaigns[position], queue_index=target.index)
    groups: list[Group] = []
    group_of_queue: dict[int, int] = {}
    for queue in queue_list[::3]:  # every third queue takes half its members from a group
        members = tuple(sorted(queue.member_indexes)[::2])
        if members:
            group_of_queue[queue.index] = len(groups)
            groups.append(Group(_uid(rng), f"{queue.name} Team", members))
    creds = [
        Credential(_uid(rng), f"sim-secret-{rng.getrandbits(96):024x}", f"wfm-sim-{i + 1}")
        for i in range(credentials)
    ]
    return Org(
        seed=seed,
        id=_uid(rng),
        name=f"Twin Org {seed}",
        domain=domain,
        divisions=divisions,
        roles=roles,
        presences=presences,
        users=users,
        queues=queue_list,
        campaigns=campaigns,
        credentials=creds,
        timezone=timezone,
        groups=groups,
        group_of_queue=group_of_queue,
    )
