"""Definitions as typed, immutable objects: what the loader hands the engine.

A definition file (YAML or JSON) is validated against its JSON Schema, then
read into these dataclasses. Everything downstream — field types, the store,
the record service — works on them, never on raw dicts.

Field settings that belong to one field type (a number's ``precision``, a
select's ``options``, a relation's ``target``) stay in ``FieldDef.settings``;
the field type reads them through ``FieldDef.setting``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from engine.core.i18n import Label, label

if TYPE_CHECKING:  # they build on this module's FormDef
    from engine.definitions.flow_files import FlowDef
    from engine.definitions.menus import MenuDef
    from engine.definitions.report_files import DashboardDef, ReportDef
    from engine.definitions.role_files import RoleDef
    from engine.definitions.rule_files import RuleDef

SCHEMA_VERSION = 1

# Keys shared by every field; anything else in a field's mapping is a setting
# of its type.
COMMON_FIELD_KEYS = frozenset({
    "key", "type", "label", "help", "required", "unique", "readonly", "hidden",
    "default", "default_formula", "default_link", "fields", "index", "renamed_from",
})


@dataclass(frozen=True)
class FieldDef:
    """One field of a form (or of a subform, whose own fields are ``fields``)."""

    key: str
    type: str
    label: Label
    help: Label | None = None
    required: bool = False
    unique: bool = False
    readonly: bool = False
    hidden: bool = False
    index: bool = False
    default: Any = None
    default_formula: str | None = None
    default_link: Mapping[str, Any] | None = None
    # An explicit rename for the next publish: the key this field had before.
    renamed_from: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    fields: tuple[FieldDef, ...] = ()

    def setting(self, name: str, default: Any = None) -> Any:
        """A type-specific setting (``precision``, ``options``, ``target`` ...)."""
        return self.settings.get(name, default)

    def child(self, key: str) -> FieldDef | None:
        """A subform's field by key."""
        return next((f for f in self.fields if f.key == key), None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldDef:
        settings = {k: v for k, v in data.items() if k not in COMMON_FIELD_KEYS}
        return cls(
            key=data["key"],
            type=data["type"],
            label=label(data.get("label", data["key"])),
            help=label(data["help"]) if data.get("help") is not None else None,
            required=bool(data.get("required", False)),
            unique=bool(data.get("unique", False)),
            readonly=bool(data.get("readonly", False)),
            hidden=bool(data.get("hidden", False)),
            index=bool(data.get("index", False)),
            default=data.get("default"),
            default_formula=data.get("default_formula"),
            default_link=data.get("default_link"),
            renamed_from=data.get("renamed_from"),
            settings=settings,
            fields=tuple(cls.from_dict(child) for child in data.get("fields", ())),
        )


@dataclass(frozen=True)
class RuleAction:
    """What a form rule does when its condition holds: show, hide, require,
    make read-only, set a value (formula), or refuse with a message."""

    type: str  # show | hide | required | readonly | set_value | error
    fields: tuple[str, ...] = ()
    formula: str | None = None
    message: Label | None = None


@dataclass(frozen=True)
class FormRule:
    """A form rule (业务规则): a condition in the formula language and its actions."""

    key: str
    when: str
    actions: tuple[RuleAction, ...]
    label: Label | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FormRule:
        return cls(
            key=data["key"],
            when=data.get("when", "TRUE"),
            label=label(data["label"]) if data.get("label") is not None else None,
            actions=tuple(
                RuleAction(
                    type=a["type"],
                    fields=tuple(a.get("fields", ())),
                    formula=a.get("formula"),
                    message=label(a["message"]) if a.get("message") is not None else None,
                )
                for a in data.get("actions", ())
            ),
        )


@dataclass(frozen=True)
class SortKey:
    field: str
    desc: bool = False


@dataclass(frozen=True)
class ListView:
    """A saved list: the columns shown, a filter in the filter language, the sort."""

    key: str
    label: Label
    columns: tuple[str, ...] = ()
    filter: Mapping[str, Any] | None = None
    sort: tuple[SortKey, ...] = ()
    page_size: int = 50

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ListView:
        return cls(
            key=data["key"],
            label=label(data.get("label", data["key"])),
            columns=tuple(data.get("columns", ())),
            filter=data.get("filter"),
            sort=tuple(SortKey(s["field"], bool(s.get("desc", False))) for s in data.get("sort", ())),
            page_size=int(data.get("page_size", 50)),
        )


@dataclass(frozen=True)
class IndexDef:
    fields: tuple[str, ...]
    unique: bool = False
    key: str | None = None


@dataclass(frozen=True)
class FormDef:
    """A form: its fields (in order), layout, rules, list views and indexes.

    ``app`` is the key of the app it belongs to; the table is ``<app>_<key>``.
    """

    key: str
    label: Label
    app: str = ""
    fields: tuple[FieldDef, ...] = ()
    title_field: str | None = None
    layout: tuple[Mapping[str, Any], ...] = ()
    rules: tuple[FormRule, ...] = ()
    list_views: tuple[ListView, ...] = ()
    indexes: tuple[IndexDef, ...] = ()
    description: Label | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def table_name(self) -> str:
        return f"{self.app}_{self.key}" if self.app else self.key

    def field(self, key: str) -> FieldDef | None:
        return next((f for f in self.fields if f.key == key), None)

    def get_field(self, key: str) -> FieldDef:
        found = self.field(key)
        if found is None:
            raise KeyError(f"form {self.key!r} has no field {key!r}")
        return found

    def walk(self) -> Iterator[tuple[tuple[str, ...], FieldDef]]:
        """Every field with its path from the form, subform fields included."""
        for f in self.fields:
            yield (f.key,), f
            for child in f.fields:
                yield (f.key, child.key), child

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], app: str = "") -> FormDef:
        return cls(
            key=data["key"],
            label=label(data.get("label", data["key"])),
            app=app or data.get("app", ""),
            fields=tuple(FieldDef.from_dict(f) for f in data.get("fields", ())),
            title_field=data.get("title_field"),
            layout=tuple(data.get("layout", ())),
            rules=tuple(FormRule.from_dict(r) for r in data.get("rules", ())),
            list_views=tuple(ListView.from_dict(v) for v in data.get("list_views", ())),
            indexes=tuple(
                IndexDef(tuple(i["fields"]), bool(i.get("unique", False)), i.get("key"))
                for i in data.get("indexes", ())
            ),
            description=label(data["description"]) if data.get("description") else None,
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
        )


@dataclass(frozen=True)
class PrintTemplateDef:
    """A print template (``print/<key>.html``): the Jinja2 source and, from
    its front matter, the form it prints, its label and its paper."""

    key: str
    form: str
    label: Label
    source: str
    paper: str = "A4"
    orientation: str = "portrait"

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "form": self.form, "label": {"zh": self.label.zh, "en": self.label.en},
                "paper": self.paper, "orientation": self.orientation, "source": self.source}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PrintTemplateDef:
        return cls(key=data["key"], form=data["form"], label=label(data.get("label") or data["key"]),
                   source=data["source"], paper=data.get("paper", "A4"),
                   orientation=data.get("orientation", "portrait"))


@dataclass(frozen=True)
class AppDef:
    """An app: its manifest, its forms, its print templates, its menu
    (``menus.yaml``, None when the package has none) and the roles it ships
    (``roles.yaml``; an installed app's live roles are the organization's,
    see engine.org.roles), its rules (``rules/*.yaml``) and its approval flows
    (``flows/*.yaml``), its reports (``reports/*.yaml``) and dashboards
    (``dashboards/*.yaml``). ``fiscal_year_start`` (the manifest's, 1-12) is
    the month a fiscal year starts in: reports' quarters and years follow it."""

    key: str
    label: Label
    version: str = "0.1.0"
    extends: str | None = None
    requires: tuple[str, ...] = ()
    forms: tuple[FormDef, ...] = ()
    schema_version: int = SCHEMA_VERSION
    description: Label | None = None
    icon: str | None = None
    author: str | None = None
    license: str | None = None
    homepage: str | None = None
    prints: tuple[PrintTemplateDef, ...] = ()
    menus: MenuDef | None = None
    roles: tuple[RoleDef, ...] = ()
    rules: tuple[RuleDef, ...] = ()
    flows: tuple[FlowDef, ...] = ()
    reports: tuple[ReportDef, ...] = ()
    dashboards: tuple[DashboardDef, ...] = ()
    fiscal_year_start: int = 1

    def form(self, key: str) -> FormDef | None:
        return next((f for f in self.forms if f.key == key), None)

    def rule(self, key: str) -> RuleDef | None:
        return next((r for r in self.rules if r.key == key), None)

    def flow(self, key: str) -> FlowDef | None:
        return next((f for f in self.flows if f.key == key), None)

    def report(self, key: str) -> ReportDef | None:
        return next((r for r in self.reports if r.key == key), None)

    def dashboard(self, key: str) -> DashboardDef | None:
        return next((d for d in self.dashboards if d.key == key), None)

    def print_template(self, key: str) -> PrintTemplateDef | None:
        return next((p for p in self.prints if p.key == key), None)

    def get_form(self, key: str) -> FormDef:
        found = self.form(key)
        if found is None:
            raise KeyError(f"app {self.key!r} has no form {key!r}")
        return found

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], forms: Iterable[FormDef] = (),
                  prints: Iterable[PrintTemplateDef] = (), *,
                  menus: MenuDef | None = None, roles: Iterable[RoleDef] = (),
                  rules: Iterable[RuleDef] = (), flows: Iterable[FlowDef] = (),
                  reports: Iterable[ReportDef] = (), dashboards: Iterable[DashboardDef] = ()) -> AppDef:
        """The app of a manifest (``app.yaml``), its forms (each given the
        app's key), its print templates, menu, roles, rules, flows, reports
        and dashboards."""
        key = data["key"]
        return cls(
            key=key,
            label=label(data.get("label", key)),
            version=str(data.get("version", "0.1.0")),
            extends=data.get("extends"),
            requires=tuple(data.get("requires", ())),
            forms=tuple(replace(f, app=key) for f in forms),
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
            description=label(data["description"]) if data.get("description") else None,
            icon=data.get("icon"),
            author=data.get("author"),
            license=data.get("license"),
            homepage=data.get("homepage"),
            prints=tuple(prints),
            menus=menus,
            roles=tuple(roles),
            rules=tuple(rules),
            flows=tuple(flows),
            reports=tuple(reports),
            dashboards=tuple(dashboards),
            fiscal_year_start=int(data.get("fiscal_year_start", 1)),
        )


@dataclass(frozen=True)
class Reference:
    """Something a field's settings point at, for the loader to resolve.

    ``kind`` is one of:

    - ``form``: ``value`` is a form key (a relation's ``target``);
    - ``relation``: ``value`` is a relation field of the same form (a lookup's ``relation``);
    - ``lookup_field``: ``value`` is a field of the form reached through ``via``
      (the relation field named in the same settings);
    - ``source``: ``value`` is a subform of this form or ``<form>.<relation>`` (a rollup);
    - ``source_field``: ``value`` is a field of the rollup's source rows;
    - ``formula``: ``value`` is formula text over this form's fields.

    ``setting`` names the setting the value came from, for the error's JSON path.
    """

    kind: str
    value: str
    setting: str
    via: str | None = None
