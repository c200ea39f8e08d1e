"""`import` of a 责任分解表 and `persons import|list` through the CLI: output and exit codes."""

from __future__ import annotations

from office_files import CONTACTS, contacts_csv, office_csv

from deadline_watch.cli import main


def test_dry_run_prints_each_phrase_reading(db_url, tmp_path, capsys):
    sheet = tmp_path / "分解表.csv"
    sheet.write_bytes(office_csv(title=None))
    book = tmp_path / "通讯录.csv"
    book.write_bytes(contacts_csv())
    code = main(["--db", db_url, "import", str(sheet), "--contacts", str(book), "--year", "2027", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "第 2 行 完成时限 “6月底前” → 2027-06-30" in out
    assert "第 5 行 完成时限 “每月25日前” → 周期: 每月25日前" in out


def test_phrase_without_year_exits_1_naming_the_row(db_url, tmp_path, capsys):
    sheet = tmp_path / "分解表.csv"
    sheet.write_bytes(office_csv(title=None))
    book = tmp_path / "通讯录.csv"
    book.write_bytes(contacts_csv())
    assert main(["--db", db_url, "import", str(sheet), "--contacts", str(book)]) == 1
    out = capsys.readouterr().out
    assert "第 2 行 line 2 [完成时限] “6月底前”" in out and "--year" in out
    assert "nothing written" in out


def test_year_out_of_range_is_refused_by_the_option(db_url, tmp_path, capsys):
    sheet = tmp_path / "分解表.csv"
    sheet.write_bytes(office_csv())
    assert main(["--db", db_url, "import", str(sheet), "--year", "9999"]) == 2


def test_persons_import_then_list(db_url, tmp_path, capsys):
    book = tmp_path / "通讯录.csv"
    book.write_bytes(contacts_csv())
    assert main(["--db", db_url, "persons", "import", str(book)]) == 0
    out = capsys.readouterr().out
    assert f"新增 created {len(CONTACTS) - 1}" in out
    assert main(["--db", db_url, "persons", "import", str(book)]) == 0
    assert "未变 unchanged 6" in capsys.readouterr().out
    assert main(["--db", db_url, "persons", "list"]) == 0
    listed = capsys.readouterr().out
    assert "郭刚" in listed and "18900009807" not in listed  # masked by default
    assert main(["--db", db_url, "persons", "list", "--full"]) == 0
    assert "+8618900009807" in capsys.readouterr().out


def test_persons_import_refuses_one_mobile_with_two_names(db_url, tmp_path, capsys):
    book = tmp_path / "通讯录.csv"
    book.write_bytes(contacts_csv(CONTACTS + [["郭钢", "18900009807", "", ""]]))
    assert main(["--db", db_url, "persons", "import", str(book)]) == 1
    out = capsys.readouterr().out
    assert "同一手机号对应两个姓名" in out and "第 8 行" in out
    assert main(["--db", db_url, "persons", "list"]) == 0
    assert "没有人员" in capsys.readouterr().out
