"""Demo data: six construction units, expert employers, vendors and a pool of 30 experts (fictional)."""

# Construction units (项目建设单位) the demo seeds as organisations. Codes are fictional but pass
# the GB 32100-2015 check character.
DEMO_UNITS: list[dict[str, str]] = [
    {"code": "11341500MB5260181F", "name": "六安市教育局", "short": "市教育局"},
    {"code": "11341500MB59083010", "name": "六安市卫生健康委员会", "short": "市卫健委"},
    {"code": "11341500MB6613186E", "name": "六安市公安局", "short": "市公安局"},
    {"code": "11341500MB0913909F", "name": "六安市人力资源和社会保障局", "short": "市人社局"},
    {"code": "11341500MB96030827", "name": "六安市自然资源和规划局", "short": "市自然资源局"},
    {"code": "11341500MB4628194Q", "name": "六安市城市管理局", "short": "市城管局"},
]

UNIT_BY_SHORT: dict[str, dict[str, str]] = {unit["short"]: unit for unit in DEMO_UNITS}

# Vendors (承建单位) that may win demo contracts; some experts work for them.
DEMO_VENDORS: list[dict[str, str]] = [
    {"code": "91341500MA2146100G", "name": "六安大别山软件有限公司"},
    {"code": "91340100MA2330766C", "name": "合肥云擎信息技术有限公司"},
]

# Employers of experts, by a short key used in EXPERT_POOL.
EMPLOYERS: dict[str, tuple[str, str]] = {
    "WXU": ("12341500485787789Y", "皖西学院"),
    "AHU": ("12340000485328792J", "安徽大学"),
    "HFUT": ("123400004851742185", "合肥工业大学"),
    "USTC": ("12100000485096792L", "中国科学技术大学"),
    "LAVTC": ("123400000757938345", "六安职业技术学院"),
    "EVAL": ("12340000908100339P", "安徽省电子政务安全测评中心"),
    "WXDIGI": ("91341500MA2701746M", "六安皖西数字科技有限公司"),
    "CLOUD": ("91341500MA2814538F", "六安市政务云运营有限公司"),
    "HUAXIN": ("91341500MA24019166", "安徽六安华信造价咨询有限公司"),
    "DBS": (DEMO_VENDORS[0]["code"], DEMO_VENDORS[0]["name"]),
    "YUNQING": (DEMO_VENDORS[1]["code"], DEMO_VENDORS[1]["name"]),
    "JHCRYPTO": ("91340100MA2619345R", "安徽江淮密码科技有限公司"),
    "SHUAN": ("91340100MA2145061U", "合肥数安网络安全技术有限公司"),
    "ZHENGHENG": ("91340100MA22310076", "安徽正衡工程咨询有限公司"),
    **{unit["short"]: (unit["code"], unit["name"]) for unit in DEMO_UNITS},
}


def _tie(target: str, reason: str, until: str | None) -> dict:
    code = UNIT_BY_SHORT[target]["code"] if target in UNIT_BY_SHORT else EMPLOYERS[target][0]
    return {"code": code, "reason": reason, "until": until}


# Recent ties (任职/顾问/纠纷/参与论证) that make an expert avoid an organisation until a date.
TIES: dict[str, list[dict]] = {
    "expert12": [_tie("市教育局", "担任信息化顾问", "2027-12-31")],
    "expert18": [_tie("市公安局", "存在合同纠纷", "2026-06-30")],
    "expert23": [_tie("DBS", "三年内曾在该公司任职", "2027-03-31")],
    "expert26": [_tie("市卫健委", "曾参与该单位项目需求论证", "2028-12-31")],
    "expert30": [_tie("市城管局", "担任运维顾问", "2027-06-30")],
}

_ROWS = [  # username, name, employer key, title, specialties, status
    ("expert01", "王志远", "WXU", "教授", ["SOFTWARE", "DATA"], "ACTIVE"),
    ("expert02", "李晓燕", "AHU", "教授", ["SECURITY", "CRYPTO"], "ACTIVE"),
    ("expert03", "张宏伟", "USTC", "副教授", ["NETWORK", "SECURITY"], "ACTIVE"),
    ("expert04", "刘建华", "ZHENGHENG", "高级工程师（注册造价工程师）", ["COST"], "ACTIVE"),
    ("expert05", "陈静", "HUAXIN", "高级会计师", ["COST"], "ACTIVE"),
    ("expert06", "杨帆", "HFUT", "教授", ["SOFTWARE", "NETWORK"], "ACTIVE"),
    ("expert07", "赵国庆", "市教育局", "高级工程师", ["DOMAIN", "SOFTWARE"], "ACTIVE"),
    ("expert08", "黄丽娟", "市卫健委", "高级工程师", ["DOMAIN", "DATA"], "ACTIVE"),
    ("expert09", "周文斌", "市公安局", "高级工程师", ["SECURITY", "NETWORK"], "ACTIVE"),
    ("expert10", "吴海燕", "SHUAN", "高级工程师", ["SECURITY"], "ACTIVE"),
    ("expert11", "徐立新", "JHCRYPTO", "正高级工程师", ["CRYPTO", "SECURITY"], "ACTIVE"),
    ("expert12", "孙明辉", "WXU", "副教授", ["DATA", "SOFTWARE"], "ACTIVE"),
    ("expert13", "马俊杰", "CLOUD", "高级工程师", ["NETWORK"], "ACTIVE"),
    ("expert14", "朱慧敏", "AHU", "副教授", ["DATA"], "ACTIVE"),
    ("expert15", "胡志强", "DBS", "高级工程师", ["SOFTWARE"], "ACTIVE"),
    ("expert16", "郭晓东", "YUNQING", "高级工程师", ["SOFTWARE", "DATA"], "ACTIVE"),
    ("expert17", "何玉兰", "LAVTC", "副教授", ["DOMAIN", "COST"], "ACTIVE"),
    ("expert18", "高鹏", "EVAL", "高级工程师", ["SECURITY", "CRYPTO"], "ACTIVE"),
    ("expert19", "林春梅", "市人社局", "高级经济师", ["DOMAIN", "COST"], "ACTIVE"),
    ("expert20", "罗永刚", "市自然资源局", "高级工程师", ["DATA", "DOMAIN"], "ACTIVE"),
    ("expert21", "梁红", "市城管局", "高级工程师", ["DOMAIN"], "ACTIVE"),
    ("expert22", "宋振华", "USTC", "教授", ["CRYPTO"], "ACTIVE"),
    ("expert23", "郑伟", "WXDIGI", "高级工程师", ["SOFTWARE", "NETWORK"], "ACTIVE"),
    ("expert24", "谢芳", "HUAXIN", "注册造价工程师", ["COST"], "ACTIVE"),
    ("expert25", "韩冰", "HFUT", "副教授", ["SECURITY", "DATA"], "ACTIVE"),
    ("expert26", "唐建军", "ZHENGHENG", "高级经济师", ["COST", "DOMAIN"], "ACTIVE"),
    ("expert27", "冯雪", "AHU", "副教授", ["NETWORK"], "ACTIVE"),
    ("expert28", "于海涛", "WXU", "副教授", ["SOFTWARE"], "SUSPENDED"),
    ("expert29", "董丽", "LAVTC", "高级工程师", ["DATA", "DOMAIN"], "ACTIVE"),
    ("expert30", "程刚", "SHUAN", "高级工程师", ["NETWORK", "SECURITY"], "ACTIVE"),
]

# The 专家库 of the demo: 30 experts; users of the same usernames log in to score.
EXPERT_POOL: list[dict] = [
    {
        "username": username,
        "name": name,
        "employer": employer,
        "title": title,
        "specialties": specialties,
        "avoid_orgs": TIES.get(username, []),
        "status": status,
    }
    for username, name, employer, title, specialties, status in _ROWS
]
