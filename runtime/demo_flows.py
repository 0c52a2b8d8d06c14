"""The demo's approvals: flow instances in every state, made through the
flow engine as the demo's people over the last few days (a clock of their
own, stepping forward, so the history reads like a week at work):

- contracts: one waiting for the sales manager, one at finance's
  countersign (one of the two has signed), one over 1,000,000 approved by
  the general manager (legal copied), one rejected, one withdrawn;
- a quote discounted 20% waiting for the sales director;
- a payment receipt waiting for finance to confirm the date it arrived;
- an urgent ticket that escalated itself to the service manager.

Everyone signing in finds something in their inbox.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from engine.flows.store import INSTANCES

DAYS_BACK = 6


def show_flows(database: Any, clock: Any, team: dict[str, int]) -> dict[str, int]:
    """Make the instances (see the module docstring); their count by final status."""
    from engine.composition import compose
    from engine.core.clock import FixedClock
    from engine.records import Actor

    start = (clock.now() - dt.timedelta(days=DAYS_BACK)).replace(hour=9, minute=0, second=0, microsecond=0)
    moment = FixedClock(start, str(getattr(clock, "tz", None) or "Asia/Shanghai"))
    engine = compose(database, clock=moment)
    crm = engine.service("crm")
    flows = engine.flows

    def later(hours: float) -> None:
        moment.advance(dt.timedelta(hours=hours))

    def who(login: str) -> Actor:
        return Actor(team[login], "web")

    def act(login: str, action: str = "approve", **kw: Any) -> None:
        task = next(t for t in flows.tasks(team[login], "todo").items if t.instance_id == current[0])
        flows.act(int(task.id or 0), action, actor=who(login), **kw)

    current: list[int] = [0]

    def submit(form: str, record: int, login: str, comment: str | None = None) -> None:
        current[0] = flows.submit("crm", form, record, actor=who(login), comment=comment).id

    customers = [c["id"] for c in crm.list("customer", limit=6, sort="id")["records"]]
    customers = customers or [crm.create("customer", {"name": "远航物流有限公司"})["id"]]
    customer: Callable[[int], int] = lambda n: int(customers[n % len(customers)])  # noqa: E731

    def contract(name: str, amount: str, rep: str, n: int) -> int:
        return int(crm.create("contract", {"name": name, "customer": customer(n), "amount": amount,
                                           "owner": team[rep]})["id"])

    # Rejected: the manager finds the payment terms unacceptable.
    submit("contract", contract("华东仓储一期维保合同", "260000", "chen.jie", 0), "chen.jie")
    later(3)
    act("zhao.lei", "reject", comment="付款条件需要改为分三期，请与客户重新确认后再提交。")
    # Withdrawn: the rep sent the wrong version.
    later(2)
    submit("contract", contract("星河教育软件许可合同", "98000", "wang.fang", 1), "wang.fang")
    later(1)
    flows.withdraw(current[0], actor=who("wang.fang"), comment="合同附件版本有误，撤回修改。")
    # Approved, over 1,000,000: manager, finance (both), general manager; legal copied.
    later(20)
    submit("contract", contract("远航物流智能仓储系统合同", "1380000", "zhang.wei", 2), "zhang.wei",
           comment="客户希望月底前签约。")
    later(2)
    act("zhao.lei", comment="同意，注意交付周期。")
    later(5)
    act("sun.li")
    later(16)
    act("he.jing", comment="回款计划已核对。")
    later(4)
    act("ma.jun", comment="同意签约。")
    # At finance: the manager approved, one of the two in finance signed.
    later(22)
    submit("contract", contract("恒信制造设备采购合同", "560000", "li.na", 3), "li.na")
    later(3)
    act("zhao.lei")
    later(2)
    act("sun.li")
    # Waiting for the sales manager.
    later(19)
    submit("contract", contract("云帆零售门店系统合同", "186000", "zhang.wei", 4), "zhang.wei")
    # A quote discounted 20%: the sales director decides.
    later(3)
    product = crm.list("product", limit=1, sort="id")["records"]
    product_id = product[0]["id"] if product else crm.create("product", {"name": "智能仓储系统",
                                                                         "sales_price": "100000"})["id"]
    quote = crm.create("quote", {"customer": customer(5), "owner": team["li.na"], "items": [
        {"product": product_id, "quantity": 3, "unit_price": "100000", "discount": "0.2"}],
        "discount_reason": "年度框架客户，首单让利。"})["id"]
    submit("quote", int(quote), "li.na")
    # A payment receipt: finance confirms when the money arrived.
    later(20)
    signed = contract("华南分拨中心运维合同", "320000", "zhao.lei", 6)
    receipt = crm.create("payment_receipt", {"contract": signed, "amount": "160000", "method": "bank_transfer",
                                             "received_on": moment.today().isoformat(), "owner": team["zhao.lei"]})
    submit("payment_receipt", int(receipt["id"]), "zhao.lei", comment="客户已告知首期款已付。")
    # An urgent ticket: the service manager is asked to name who handles it.
    later(2)
    crm.create("service_ticket", {"subject": "仓库扫码枪无法连接系统", "customer": customer(2),
                                  "description": "今早起所有扫码枪连接失败，影响出库。", "priority": "urgent",
                                  "owner": team["zhou.min"]}, actor=who("zhou.min"))
    with database.reading() as conn:
        return {str(s): int(n) for s, n in conn.execute(
            sa.select(INSTANCES.c.status, sa.func.count()).group_by(INSTANCES.c.status))}
