"""The demo's rules at work: a few writes through the composed engine (the
one the web app uses, with the rule engine on its bus) once the fake data is
in, so the rule pages, the run log, the notification centre and the todo
lists have something to show from the first sign-in. The date and schedule
rules run on their own from then on: ``qiqiao serve`` runs the worker."""

from __future__ import annotations

import datetime as dt
from typing import Any

NEW_LEADS = (("周宁", "远航物流有限公司", "13912345678"), ("郑悦", "星河教育科技", "13787654321"))


def show_rules(database: Any, clock: Any, team: dict[str, int]) -> None:
    """New leads without an owner (assigned round the sales team, who are
    told), a won opportunity (a draft contract) and a follow-up with a next
    date (a todo on that morning), each written as a person or the system would."""
    from engine.composition import compose
    from engine.records import Actor

    engine = compose(database, clock=clock)
    crm = engine.service("crm")
    for name, company, mobile in NEW_LEADS:  # as a website form or an import leaves them: no owner
        crm.create("lead", {"name": name, "company": company, "mobile": mobile, "source": "website"})
    open_deals: dict[str, Any] = {"and": [{"field": "stage", "op": "in", "value": ["prospecting", "engaging"]},
                                         {"field": "customer", "op": "not_blank"}]}
    mine = {"and": [*open_deals["and"], {"field": "owner", "op": "eq", "value": team["zhang.wei"]}]}
    found = crm.list("opportunity", filter=mine, limit=1)["records"] or \
        crm.list("opportunity", filter=open_deals, limit=1)["records"]
    if found:
        deal = found[0]
        seller = deal.get("owner") or team["zhang.wei"]
        crm.update("opportunity", deal["id"], {"stage": "won", "close_value": deal.get("amount") or "100000",
                                               "close_date": clock.today().isoformat()},
                   version=None, actor=Actor(seller, "web"))
        next_time = dt.datetime.combine(clock.today() + dt.timedelta(days=1), dt.time(10, 0))
        crm.create("follow_up", {"customer": deal["customer"], "opportunity": deal["id"], "method": "visit",
                                 "followed_at": clock.now().replace(second=0, microsecond=0).isoformat(),
                                 "content": "拜访客户，确认合同条款", "next_follow_up_at": next_time.isoformat(),
                                 "next_step": "发送合同草稿"}, actor=Actor(seller, "web"))
