"""Generate a large registry CSV for the import benchmark (deterministic, seeded).

    .venv/bin/python bench/make_registry.py --projects 25000 --out bench/out/registry_100k.csv

Four milestones per project, GB18030 by default, with the mess real files have: mobiles
with spaces, dashes or +86, dates in the four accepted styles, padded cells.
"""

from __future__ import annotations

import argparse
import csv
import random
from datetime import date, timedelta
from pathlib import Path

HEADERS = ["项目编号", "项目名称", "责任单位", "牵头领导", "牵头领导手机", "责任人", "责任人手机",
           "节点", "截止日期", "完成日期", "协办单位", "项目级别", "备注"]
STAGES = ["谋划立项", "组织实施", "阶段成果", "验收结项"]
UNITS = ["新经济发展局", "发展改革局", "投资服务局", "规划建设局", "财政金融局", "生态环境和城市管理局",
         "社区发展治理和社事局", "党政办公室"] + [f"{name}街道办事处" for name in
                                            ["中和", "石羊", "桂溪", "肖家河", "合作", "西园", "芳草", "华阳"]]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰萍"
WORDS = ["人才公寓", "湿地公园", "产业园", "数字经济", "智慧社区", "综合管廊", "学校", "医院", "体育中心",
         "污水处理", "轨道交通", "科创中心", "孵化器", "生态走廊"]


def mobile(rng: random.Random, number: int) -> str:
    digits = f"13{rng.randint(0, 9)}{number:08d}"
    style = rng.random()
    if style < 0.6:
        return digits
    if style < 0.75:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if style < 0.9:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    return f"+86 {digits}"


def day_text(rng: random.Random, day: date) -> str:
    style = rng.random()
    if style < 0.7:
        return day.isoformat()
    if style < 0.8:
        return f"{day.year}/{day.month}/{day.day}"
    if style < 0.9:
        return f"{day.year}.{day.month:02d}.{day.day:02d}"
    return f"{day.year}年{day.month}月{day.day}日"


def write(path: Path, projects: int, encoding: str, seed: int = 4) -> int:
    rng = random.Random(seed)
    leaders = [(rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN), mobile(rng, 90_000_000 + n))
               for n in range(300)]
    start = date(2026, 7, 1)
    rows = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADERS)
        for index in range(projects):
            code = f"GX-2026-{index + 1:05d}"
            name = f"{rng.choice(UNITS)[:2]}{rng.choice(WORDS)}{index % 97}期"
            unit = rng.choice(UNITS)
            lead_name, lead_mobile = rng.choice(leaders)
            owner_name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            owner_mobile = mobile(rng, 10_000_000 + index)
            co_units = "、".join(rng.sample(UNITS, rng.randint(0, 2)))
            level = rng.choice(["省级", "市级", "区级"])
            due = start + timedelta(days=rng.randint(0, 400))
            for stage in STAGES:
                due += timedelta(days=rng.randint(30, 120))
                done = due - timedelta(days=3) if due < date(2026, 9, 1) else None
                writer.writerow([code, name, unit + (" " if rng.random() < 0.05 else ""), lead_name,
                                 lead_mobile, owner_name, owner_mobile, stage, day_text(rng, due),
                                 day_text(rng, done) if done else "", co_units, level, ""])
                rows += 1
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=25_000)
    parser.add_argument("--encoding", default="gb18030")
    parser.add_argument("--out", type=Path, default=Path("bench/out/registry_100k.csv"))
    args = parser.parse_args()
    rows = write(args.out, args.projects, args.encoding)
    print(f"wrote {rows} rows ({args.projects} projects) to {args.out}")


if __name__ == "__main__":
    main()
