"""The runtime web pages for business users (DESIGN §13): server-rendered
Jinja2, htmx for the parts that change, a little Alpine.js for widget state.

``register_web`` adds them to the app: the static files, the templates'
language and formatting helpers, the error pages and the pages themselves.
Views are thin: they call the engine's services with the reader's ``Actor``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g

from runtime.security import csrf_token
from runtime.web import (  # noqa: F401 (lists_actions: routes of lists.bp)
    account,
    admin,
    approvals,
    approvals_instance,
    approvals_record,
    form_pickers,
    forms,
    home,
    import_wizard,
    inbox,
    lists,
    lists_actions,
    record_page,
    record_page_rules,
    reports,
)
from runtime.web.assets import register_assets
from runtime.web.errors import register_error_pages
from runtime.web.i18n import (
    HTML_LANG,
    LANGUAGES,
    current_language,
    format_day,
    format_moment,
    format_number,
    gettext,
    label_text,
    ngettext,
)


def register_web(app: Flask) -> None:
    assets = register_assets(app)
    env = app.jinja_env
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(asset_url=assets.url, csrf_token=csrf_token, language=current_language,
                       html_lang=lambda: HTML_LANG[current_language()], languages=LANGUAGES,
                       label=label_text, reader=_reader, options_css_url=home.options_css_url)
    env.filters.update(moment=format_moment, day=format_day, number=format_number, label=label_text)
    register_error_pages(app)
    app.register_blueprint(account.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(lists.bp)
    app.register_blueprint(record_page.bp)
    app.register_blueprint(record_page_rules.bp)
    app.register_blueprint(forms.bp)
    app.register_blueprint(form_pickers.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(import_wizard.bp)
    app.register_blueprint(inbox.bp)
    app.register_blueprint(approvals.bp)
    app.register_blueprint(approvals_record.bp)
    app.register_blueprint(approvals_instance.bp)
    app.register_blueprint(reports.bp)


def _reader() -> Any:
    """The signed-in reader's identity, for the layout (None on the sign-in page)."""
    return g.get("identity")
