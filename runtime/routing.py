"""URL matching, remembered: the API's paths repeat (every create posts to
the same ``.../records``), so the app's URL map keeps the rule and arguments
each (host, script, path, method) matched, and the next request with the
same ones skips Werkzeug's matcher. Only matches are kept, never a 404, 405
or redirect; at most ``MAX_MATCHES`` of them, forgotten together when full
(ids in paths make the set open-ended). Flask refuses new routes once
requests are served, so a kept match cannot go stale.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import Map, MapAdapter, Rule

MAX_MATCHES = 4096

MatchKey = tuple[str, str, str | None, str, str, str, bool]


class RememberingMap(Map):
    """A URL map whose adapters remember their matches."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.matches: dict[MatchKey, tuple[Rule, dict[str, Any]]] = {}

    def add(self, rulefactory: Any) -> None:
        self.matches.clear()
        super().add(rulefactory)

    def bind(self, *args: Any, **kwargs: Any) -> MapAdapter:
        return _remembering(super().bind(*args, **kwargs))

    def bind_to_environ(self, *args: Any, **kwargs: Any) -> MapAdapter:
        # Werkzeug's bind_to_environ calls Map.bind itself, not self.bind.
        return _remembering(super().bind_to_environ(*args, **kwargs))


def _remembering(adapter: MapAdapter) -> MapAdapter:
    adapter.__class__ = RememberingAdapter
    return adapter


class RememberingAdapter(MapAdapter):
    """``match()`` of the request's own path and method, from memory when it can."""

    map: RememberingMap

    def match(  # one signature for both of Werkzeug's overloads
        self, path_info: str | None = None, method: str | None = None, return_rule: bool = False,
        query_args: Any = None, websocket: bool | None = None,
    ) -> tuple[Any, Any]:
        if path_info is not None or method is not None or websocket is not None:
            answer: tuple[Any, Any] = super().match(  # type: ignore[call-overload]
                path_info, method, return_rule, query_args, websocket)
            return answer
        key = (self.server_name, self.script_name, self.subdomain, self.url_scheme, self.path_info,
               self.default_method.upper(), self.websocket)
        found = self.map.matches.get(key)
        if found is None:
            rule, arguments = super().match(return_rule=True, query_args=query_args)
            matches = self.map.matches
            if len(matches) >= MAX_MATCHES:
                matches.clear()
            found = matches[key] = (rule, dict(arguments))
        rule, arguments = found
        return (rule if return_rule else rule.endpoint), dict(arguments)


class QiqiaoFlask(Flask):
    """Flask with a URL map that remembers its matches."""

    url_map_class = RememberingMap
