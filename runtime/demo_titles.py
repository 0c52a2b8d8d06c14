"""Titles for the demo's CRM records that a sales team would write: a deal
is "华信科技 — ERP 升级项目", not a person's name (a field's fake value is
guessed from its key alone, which cannot tell a deal's name from a person's).
A form the demo fills whose title needs more than its key says adds a
``Titler`` here.

Each ``Titler`` sets the title of a fake row, knowing the names of the
customers the row points at (``customer_name``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from engine.fields import demo

NEEDS = (
    "ERP 升级", "CRM 实施", "数据中心扩容", "年度软件续约", "MES 改造", "门店收银系统", "仓储条码化",
    "办公网络改造", "云迁移", "信息安全评估", "IT 运维外包", "员工培训", "生产线传感器部署", "数据平台建设",
)
DEAL_PATTERNS = ("{customer} — {need}项目", "{customer}{need}项目", "{customer} — {product}采购",
                 "{customer} {year} 年{need}")

Titler = Callable[[dict[str, Any], Callable[[Any], str | None], random.Random], None]


def short_name(company: str) -> str:
    """"上海华信科技有限公司" -> "华信科技": how a sales team names a customer."""
    name = company.removesuffix("有限公司")
    for city in demo.CITIES_FOR_COMPANIES:
        if name.startswith(city) and len(name) > len(city) + 1:
            return name[len(city):]
    return name


def _words(rng: random.Random, customer: str | None) -> dict[str, Any]:
    return {"customer": short_name(customer) if customer else rng.choice(demo.CITIES_FOR_COMPANIES) + "客户",
            "need": rng.choice(NEEDS), "product": rng.choice(demo.PRODUCTS), "year": rng.choice((2025, 2026))}


def _titled(key: str, patterns: tuple[str, ...]) -> Titler:
    def title(row: dict[str, Any], customer_name: Callable[[Any], str | None], rng: random.Random) -> None:
        row[key] = rng.choice(patterns).format(**_words(rng, customer_name(row.get("customer"))))

    return title


TITLERS: dict[str, Titler] = {
    "opportunity": _titled("name", DEAL_PATTERNS),
}
