"""Directory routes: users, queues and members, divisions, roles, presences, campaigns."""

from __future__ import annotations

import fnmatch

from aiohttp import web

from wfmcli.sim import wire
from wfmcli.sim.httputil import TOKEN_KEY, ApiError, json_response, list_param, paging
from wfmcli.sim.ledger import OFFLINE_RS
from wfmcli.sim.org import ROUTING_STATUSES, SYSTEM_PRESENCES, Group, Queue, User
from wfmcli.sim.runtime import Runtime


def _params(request: web.Request, *names: str) -> dict[str, str]:
    return {n: request.query[n] for n in names if n in request.query}


class Directory:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.org = runtime.org

    def _sees(self, request: web.Request) -> set[str] | None:
        """Division ids the caller's OAuth client may see; None for all of them."""
        return self.org.division_access.get(request[TOKEN_KEY].client_id)

    def _user(self, user_id: str) -> User:
        user = self.org.user_by_id.get(user_id)
        if user is None:
            raise ApiError(404, "not.found", f"User {user_id} not found")
        return user

    async def users(self, request: web.Request) -> web.Response:
        self.rt.catch_up()
        size, number = paging(request, "users")
        expand = set(list_param(request, "expand"))
        ids = list_param(request, "id")
        state = request.query.get("state", "active")
        if state not in ("active", "inactive", "deleted", "any"):
            raise ApiError(400, "invalid.value", f"Invalid state [{state}]")
        users = self.org.users if state in ("active", "any") else []
        sees = self._sees(request)
        if sees is not None:
            users = [u for u in users if u.division.id in sees]
        if ids:
            wanted = set(ids)
            users = [u for u in users if u.id in wanted]
        if request.query.get("sortOrder", "ascending").lower() == "descending":
            users = list(reversed(users))
        page = wire.page(
            users, size, number, "/api/v2/users", _params(request, "expand", "id", "state")
        )
        now = self.rt.center.states.now
        page["entities"] = [
            wire.user_json(self.org, u, now[u.index], expand) for u in page["entities"]
        ]
        return json_response(page)

    async def user(self, request: web.Request) -> web.Response:
        self.rt.catch_up()
        user = self._user(request.match_info["user_id"])
        expand = set(list_param(request, "expand"))
        return json_response(
            wire.user_json(self.org, user, self.rt.center.states.now[user.index], expand)
        )

    async def routing_status(self, request: web.Request) -> web.Response:
        self.rt.catch_up()
        user = self._user(request.match_info["user_id"])
        return json_response(wire.routing_status_json(user, self.rt.center.states.now[user.index]))

    async def presence(self, request: web.Request) -> web.Response:
        self.rt.catch_up()
        user = self._user(request.match_info["user_id"])
        agent = self.rt.center.states.now[user.index]
        return json_response(wire.presence_json(self.org, user, agent))

    async def user_queues(self, request: web.Request) -> web.Response:
        user = self._user(request.match_info["user_id"])
        size, number = paging(request)
        queues = [self.org.queues[q] for q in user.queue_indexes]
        entities = [{**self._queue(q), "joined": True} for q in queues]
        return json_response(wire.page(entities, size, number, f"/api/v2/users/{user.id}/queues"))

    async def queues(self, request: web.Request) -> web.Response:
        size, number = paging(request)
        sees = self._sees(request)
        queues = [q for q in self.org.queues if sees is None or q.division.id in sees]
        ids = set(list_param(request, "id"))
        if ids:
            queues = [q for q in queues if q.id in ids]
        divisions = set(list_param(request, "divisionId"))
        if divisions:
            queues = [q for q in queues if q.division.id in divisions]
        name = request.query.get("name")
        if name:
            queues = [q for q in queues if fnmatch.fnmatchcase(q.name.lower(), name.lower())]
        if request.query.get("sortOrder", "asc").lower() in ("desc", "descending"):
            queues.reverse()
        entities = [self._queue(q) for q in queues]
        params = _params(request, "name", "id", "divisionId")
        return json_response(wire.page(entities, size, number, "/api/v2/routing/queues", params))

    async def queue(self, request: web.Request) -> web.Response:
        queue = self.org.queue_by_id.get(request.match_info["queue_id"])
        if queue is None:
            raise ApiError(404, "not.found", "Queue not found")
        return json_response(self._queue(queue))

    async def members(self, request: web.Request) -> web.Response:
        self.rt.catch_up()
        queue = self.org.queue_by_id.get(request.match_info["queue_id"])
        if queue is None:
            raise ApiError(404, "not.found", "Queue not found")
        size, number = paging(request, "members")
        expand = set(list_param(request, "expand"))
        now = self.rt.center.states.now
        users = [self.org.users[i] for i in sorted(queue.member_indexes)]
        statuses = {s.upper() for s in list_param(request, "routingStatus")}
        if statuses:
            users = [u for u in users if self._status(u) in statuses]
        presences = {p.upper() for p in list_param(request, "presence")}
        if presences:
            users = [
                u for u in users if SYSTEM_PRESENCES[now[u.index].system_presence] in presences
            ]
        if request.query.get("joined", "true").lower() == "false":
            users = []
        group = self._group_of(queue)
        by_group = set(group.member_indexes) if group else set()
        entities = [
            wire.queue_member_json(
                self.org, u, now[u.index], expand, "group" if u.index in by_group else "user"
            )
            for u in users
        ]
        path = f"/api/v2/routing/queues/{queue.id}/members"
        return json_response(wire.page(entities, size, number, path, with_totals=False))

    def _group_of(self, queue: Queue) -> Group | None:
        index = self.org.group_of_queue.get(queue.index)
        return None if index is None else self.org.groups[index]

    def _queue(self, queue: Queue) -> wire.JSON:
        return wire.queue_json(queue, len(queue.member_indexes), self._group_of(queue))

    def _group(self, request: web.Request) -> Group:
        group = next((g for g in self.org.groups if g.id == request.match_info["group_id"]), None)
        if group is None:
            raise ApiError(404, "not.found", "Group not found")
        return group

    async def groups(self, request: web.Request) -> web.Response:
        size, number = paging(request)
        entities = [wire.group_json(g) for g in self.org.groups]
        return json_response(wire.page(entities, size, number, "/api/v2/groups"))

    async def group(self, request: web.Request) -> web.Response:
        return json_response(wire.group_json(self._group(request)))

    async def group_members(self, request: web.Request) -> web.Response:
        group = self._group(request)
        size, number = paging(request)
        expand = set(list_param(request, "expand"))
        now = self.rt.center.states.now
        entities = [
            wire.user_json(self.org, self.org.users[i], now[i], expand)
            for i in group.member_indexes
        ]
        path = f"/api/v2/groups/{group.id}/members"
        return json_response(wire.page(entities, size, number, path))

    async def presences_bulk(self, request: web.Request) -> web.Response:
        self.rt.catch_up()
        ids = list_param(request, "id")
        if len(ids) > 50:
            raise ApiError(400, "invalid.value", "At most 50 user ids per bulk presence request")
        now = self.rt.center.states.now
        users = [self._user(i) for i in ids]
        return json_response(
            [{**wire.presence_json(self.org, u, now[u.index]), "userId": u.id} for u in users]
        )

    def _status(self, user: User) -> str:
        code = self.rt.center.states.now[user.index].routing_status
        return "OFF_QUEUE" if code == OFFLINE_RS else ROUTING_STATUSES[code]

    async def divisions(self, request: web.Request) -> web.Response:
        size, number = paging(request)
        sees = self._sees(request)
        divisions = [d for d in self.org.divisions if sees is None or d.id in sees]
        ids = set(list_param(request, "id"))
        if ids:
            divisions = [d for d in divisions if d.id in ids]
        name = request.query.get("name")
        if name:
            divisions = [d for d in divisions if d.name == name]
        entities = [
            wire.division_json(d, sum(1 for u in self.org.users if u.division.id == d.id))
            for d in divisions
        ]
        return json_response(wire.page(entities, size, number, "/api/v2/authorization/divisions"))

    async def home_division(self, request: web.Request) -> web.Response:
        home = next(d for d in self.org.divisions if d.home)
        count = sum(1 for u in self.org.users if u.division.id == home.id)
        return json_response(wire.division_json(home, count))

    async def roles(self, request: web.Request) -> web.Response:
        size, number = paging(request)
        roles = list(self.org.roles)
        name = request.query.get("name")
        if name:
            roles = [r for r in roles if r.name == name]
        ids = set(list_param(request, "id"))
        if ids:
            roles = [r for r in roles if r.id in ids]
        entities = [
            wire.role_json(r, sum(1 for u in self.org.users if r.id in u.role_ids)) for r in roles
        ]
        return json_response(wire.page(entities, size, number, "/api/v2/authorization/roles"))

    async def role_users(self, request: web.Request) -> web.Response:
        role_id = request.match_info["role_id"]
        if all(r.id != role_id for r in self.org.roles):
            raise ApiError(404, "not.found", f"Role {role_id} not found")
        size, number = paging(request)
        entities = [wire.user_ref(u) for u in self.org.users if role_id in u.role_ids]
        path = f"/api/v2/authorization/roles/{role_id}/users"
        return json_response(wire.page(entities, size, number, path))

    async def presence_definitions(self, request: web.Request) -> web.Response:
        size, number = paging(request)
        entities = [wire.presence_definition_legacy(p) for p in self.org.presences]
        return json_response(wire.page(entities, size, number, "/api/v2/presencedefinitions"))

    async def presence_definitions_new(self, request: web.Request) -> web.Response:
        home = next(d for d in self.org.divisions if d.home)
        entities = [wire.presence_definition_new(p, home) for p in self.org.presences]
        body = {"total": len(entities), "entities": entities}
        return json_response({**body, "selfUri": "/api/v2/presence/definitions"})

    async def system_presences(self, request: web.Request) -> web.Response:
        return json_response(
            [
                {
                    "id": sp,
                    "name": sp.replace("_", " ").title(),
                    "selfUri": f"/api/v2/systempresences/{sp}",
                }
                for sp in SYSTEM_PRESENCES
            ]
        )

    async def campaigns(self, request: web.Request) -> web.Response:
        size, number = paging(request)
        kind = "messaging" if "messaging" in request.path else "voice"
        entities = [wire.campaign_json(self.org, c) for c in self.org.campaigns if c.kind == kind]
        return json_response(wire.page(entities, size, number, request.path))

    async def organization(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "id": self.org.id,
                "name": self.org.name,
                "domain": self.org.domain,
                "defaultLanguage": "en-us",
                "state": "active",
                "selfUri": "/api/v2/organizations/me",
            }
        )


def add_routes(app: web.Application, runtime: Runtime) -> None:
    d = Directory(runtime)
    get = app.router.add_get
    get("/api/v2/users", d.users)
    get("/api/v2/users/presences/purecloud/bulk", d.presences_bulk)
    get("/api/v2/users/{user_id}", d.user)
    get("/api/v2/users/{user_id}/routingstatus", d.routing_status)
    get("/api/v2/users/{user_id}/presences/purecloud", d.presence)
    get("/api/v2/users/{user_id}/queues", d.user_queues)
    get("/api/v2/routing/queues", d.queues)
    get("/api/v2/routing/queues/{queue_id}", d.queue)
    get("/api/v2/routing/queues/{queue_id}/members", d.members)
    get("/api/v2/routing/queues/{queue_id}/users", d.members)
    get("/api/v2/authorization/divisions", d.divisions)
    get("/api/v2/authorization/divisions/home", d.home_division)
    get("/api/v2/authorization/roles", d.roles)
    get("/api/v2/authorization/roles/{role_id}/users", d.role_users)
    get("/api/v2/presencedefinitions", d.presence_definitions)
    get("/api/v2/presence/definitions", d.presence_definitions_new)
    get("/api/v2/systempresences", d.system_presences)
    get("/api/v2/outbound/campaigns", d.campaigns)
    get("/api/v2/outbound/messagingcampaigns", d.campaigns)
    get("/api/v2/organizations/me", d.organization)
    get("/api/v2/groups", d.groups)
    get("/api/v2/groups/{group_id}", d.group)
    get("/api/v2/groups/{group_id}/members", d.group_members)
