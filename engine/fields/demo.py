"""Vocabulary for demo values (``FieldType.fake``): Chinese names, companies,
products, places. Every choice goes through the ``random.Random`` the caller
passes, so a seeded generator gives the same demo data on every run."""

from __future__ import annotations

import random

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN_NAMES = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
    "明", "超", "秀英", "霞", "平", "刚", "桂英", "建华", "晓东", "海燕", "志强", "文博", "思远",
)
CITIES_FOR_COMPANIES = ("北京", "上海", "深圳", "杭州", "广州", "成都", "苏州", "南京", "武汉", "西安")
COMPANY_WORDS = ("华信", "中科", "启明", "金石", "博远", "星辰", "锦程", "鼎盛", "恒通", "天成", "瑞丰", "海纳")
COMPANY_TRADES = ("科技", "信息技术", "贸易", "电子", "制造", "网络", "医疗器械", "新材料", "物流")
PRODUCTS = (
    "企业版年度订阅", "标准版软件许可", "实施服务", "培训服务", "服务器", "交换机", "扫码枪",
    "工业传感器", "定制开发", "运维支持", "云存储扩容", "数据迁移服务",
)
PHRASES = (
    "客户对方案很感兴趣，约定下周演示", "已发送报价单，等待客户确认", "需求调研完成",
    "合同条款已确认", "客户要求延期交付", "已安排售后工程师上门", "电话回访，客户满意",
    "竞争对手报价更低，需要申请折扣", "采购流程进行中", "项目已立项",
)
# (province, city, district)
PLACES = (
    ("广东省", "深圳市", "南山区"), ("广东省", "广州市", "天河区"), ("浙江省", "杭州市", "西湖区"),
    ("江苏省", "苏州市", "工业园区"), ("北京市", "北京市", "海淀区"), ("上海市", "上海市", "浦东新区"),
    ("四川省", "成都市", "武侯区"), ("湖北省", "武汉市", "洪山区"), ("陕西省", "西安市", "雁塔区"),
)
STREETS = ("科技园路", "文一西路", "星湖街", "中关村大街", "张江路", "天府大道", "光谷大道", "高新路")
# (lat, lng, place) of some business districts
SPOTS = (
    ("22.540503", "113.934528", "深圳市南山区科技园"), ("31.230416", "121.473701", "上海市人民广场"),
    ("39.984120", "116.307484", "北京市海淀区中关村"), ("30.274084", "120.155070", "杭州市西湖区"),
    ("23.129110", "113.264385", "广州市越秀区"), ("30.572815", "104.066801", "成都市天府广场"),
)


JOB_TITLES = (
    "总经理", "副总经理", "采购经理", "采购专员", "技术总监", "IT 经理", "财务总监", "运营经理",
    "销售总监", "项目经理", "行政主管", "工程师",
)
DEPARTMENTS = ("采购部", "信息技术部", "财务部", "总经办", "运营部", "研发部", "行政部", "生产部")
SERIES = ("GTX", "MG", "GTK", "企业版", "标准版")
# Keys whose text is a place (a headquarters, a city): the city of a demo place.
PLACE_WORDS = ("location", "city", "headquarters", "hq", "place", "region")
CODE_WORDS = ("code", "_id", "number", "sku", "wechat")


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)


def company_name(rng: random.Random) -> str:
    return (
        rng.choice(CITIES_FOR_COMPANIES) + rng.choice(COMPANY_WORDS)
        + rng.choice(COMPANY_TRADES) + "有限公司"
    )


def mobile_number(rng: random.Random) -> str:
    return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))


def text_for_key(key: str, rng: random.Random) -> str:
    """A plausible text for a field, guessed from its key."""
    if any(word in key for word in ("company", "customer", "account", "vendor", "supplier")):
        return company_name(rng)
    if any(word in key for word in ("contact", "person", "owner", "manager", "name")):
        return company_name(rng) if "company" in key else person_name(rng)
    if any(word in key for word in PLACE_WORDS):
        return rng.choice(PLACES)[1]
    if any(word in key for word in CODE_WORDS):
        return code(key, rng)
    if any(word in key for word in ("product", "item")):
        return rng.choice(PRODUCTS)
    if key in ("job_title", "position"):
        return rng.choice(JOB_TITLES)
    if "department" in key:
        return rng.choice(DEPARTMENTS)
    if "series" in key:
        return rng.choice(SERIES)
    return rng.choice(PHRASES)


def code(key: str, rng: random.Random) -> str:
    """An identifier-like text: ``OPP-20417`` for ``opportunity_id``, ``wx_k3j9q2m7`` for a WeChat id."""
    if "wechat" in key:
        return "wx_" + "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(8))
    prefix = "SKU" if key in ("code", "sku") else key.split("_")[0][:3].upper()
    return f"{prefix}-{rng.randint(10000, 99999)}"
