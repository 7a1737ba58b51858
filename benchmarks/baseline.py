"""The baselines of ``apply_at_api_limits.py``: naive dynamic providers, one API call per resource and operation.

* ``NaiveWebhook``: one write per resource (``PUT /config/me`` with ``{"webhooks": {event: url}}``, the hosted
  dialect's deep merge); one ``GET /config/me`` per resource to read.
* ``NaiveCategory``: one list call by name per create (adopting a category of that name), then a ``POST``; one
  ``GET /categories/{id}`` per resource to read.
* ``Noop``: the bare dynamic resource, whose methods return at once: the floor of any dynamic provider.

Nothing is shared between resources, nothing is budgeted: a 429 is waited out as its ``Retry-After`` says, so
a run finishes whatever the limits. The services are reached through ``BENCH_*`` environment variables that
the benchmark sets (the Pulumi engine hands its environment to the provider process); stackfox reads none
of them.
"""

from __future__ import annotations

import os
import time
from typing import Any

import httpx
import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

#: Environment variables the benchmark sets for the naive providers.
INCIDENTFOX_URL = "BENCH_INCIDENTFOX_URL"
INCIDENTFOX_TOKEN = "BENCH_INCIDENTFOX_TOKEN"
STACKFLOW_URL = "BENCH_STACKFLOW_URL"
STACKFLOW_TOKEN = "BENCH_STACKFLOW_TOKEN"
SERVICES = {"incidentfox": (INCIDENTFOX_URL, INCIDENTFOX_TOKEN), "stackflow": (STACKFLOW_URL, STACKFLOW_TOKEN)}
MAX_ATTEMPTS = 30


def _call(service: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request, repeated only after a 429 (waiting ``Retry-After``); any other error fails the operation."""
    url_key, token_key = SERVICES[service]
    headers = {"Authorization": f"Bearer {os.environ[token_key]}"}
    for _ in range(MAX_ATTEMPTS):
        response = httpx.request(method, os.environ[url_key].rstrip("/") + path, headers=headers, timeout=30, **kwargs)
        if response.status_code != 429:
            return response.raise_for_status()
        time.sleep(float(response.headers.get("retry-after", "1")))
    raise RuntimeError(f"{method} {path}: still 429 after {MAX_ATTEMPTS} attempts")


def _data(response: httpx.Response) -> Any:
    """What a body holds under ``data`` (IncidentFox's hosted envelope, StackFlow's listings), else the body."""
    body = response.json()
    return body["data"] if isinstance(body, dict) and "data" in body else body


def _replaces(olds: dict[str, Any], news: dict[str, Any], key: str) -> list[str]:
    return [key] if olds.get(key) != news.get(key) else []


class NaiveWebhookProvider(ResourceProvider):
    """``webhooks.<event>`` of the team's config, one ``PUT`` per create, update or delete."""

    def _put(self, event: str, url: str | None) -> None:
        _call("incidentfox", "PUT", "/config/me", json={"webhooks": {event: url}})

    def create(self, props: dict[str, Any]) -> CreateResult:
        self._put(props["event"], props["url"])
        return CreateResult(f"webhooks/{props['event']}", dict(props))

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = _replaces(olds, news, "event")
        return DiffResult(changes=bool(replaces) or olds.get("url") != news.get("url"), replaces=replaces)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._put(news["event"], news["url"])
        return UpdateResult(dict(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        config = _data(_call("incidentfox", "GET", "/config/me"))
        url = (config.get("effective_config", config).get("webhooks") or {}).get(props["event"])
        return ReadResult(id_, {**props, "url": url})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._put(props["event"], None)


class NaiveCategoryProvider(ResourceProvider):
    """A StackFlow category found by name on create (one list call), then one call per operation."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        listed = _data(_call("stackflow", "GET", "/categories", params={"name": props["name"], "limit": 100}))
        found = [item for item in listed if item["name"] == props["name"]]
        body = {key: props[key] for key in ("name", "label", "default_priority")}
        category = found[0] if found else _call("stackflow", "POST", "/categories", json=body).json()
        return CreateResult(category["id"], dict(props))

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = _replaces(olds, news, "name")
        changed = bool(replaces) or any(olds.get(key) != news.get(key) for key in ("label", "default_priority"))
        return DiffResult(changes=changed, replaces=replaces)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        changes = {key: news[key] for key in ("label", "default_priority")}
        _call("stackflow", "PATCH", f"/categories/{id_}", json=changes)
        return UpdateResult(dict(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        category = _call("stackflow", "GET", f"/categories/{id_}").json()
        return ReadResult(id_, {**props, **{key: category[key] for key in ("name", "label", "default_priority")}})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        _call("stackflow", "PATCH", f"/categories/{id_}", json={"active": False})


class NoopProvider(ResourceProvider):
    """Does nothing, at once: what the engine and a dynamic provider cost by themselves."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(f"noop-{props['index']}", dict(props))

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=False)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, dict(props))


class NaiveWebhook(Resource, module="baseline", name="NaiveWebhook"):
    """The URL IncidentFox calls on ``event``, written with one ``PUT`` of its own."""

    def __init__(
        self, resource_name: str, *, event: str, url: str, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(NaiveWebhookProvider(), resource_name, {"event": event, "url": url}, opts)


class NaiveCategory(Resource, module="baseline", name="NaiveCategory"):
    """A StackFlow category, looked up and created with calls of its own."""

    def __init__(
        self,
        resource_name: str,
        *,
        name: str,
        label: str,
        default_priority: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"name": name, "label": label, "default_priority": default_priority}
        super().__init__(NaiveCategoryProvider(), resource_name, props, opts)


class Noop(Resource, module="baseline", name="Noop"):
    """A dynamic resource that does nothing."""

    def __init__(self, resource_name: str, *, index: int, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(NoopProvider(), resource_name, {"index": index}, opts)
