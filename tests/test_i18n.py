"""The pages speak the reader's language: Chinese for Chinese browsers (and by default), English
for English ones, and the 中文 / English switch overrides the browser for a year (a cookie)."""
import ast
import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from models import Area, Deduction, Estate, Ticket, User, db
from models.transaction import write
from tests.conftest import T0
from tests.pages import csrf_token, field_html, flashes, log_in
from workflows import assessment, cover, deadlines, engine
from workflows.rules import current as current_rules

# Chinese characters (a full-width comma a parser accepts is no Chinese text).
CJK = re.compile(r"[\u3400-\u9fff]")


def login_page(client, language: str | None = None) -> str:
    headers = {"Accept-Language": language} if language else {}
    response = client.get("/login", headers=headers)
    assert response.status_code == 200
    return response.text


@pytest.mark.parametrize("language", ["zh-CN,zh;q=0.9,en;q=0.8", "zh", "zh-TW", None])
def test_a_chinese_browser_and_no_preference_get_the_chinese_login_page(client, language):
    page = login_page(client, language)
    assert '<html lang="zh-CN">' in page
    assert "<h1>登录</h1>" in page and "用户名" in page


@pytest.mark.parametrize("language", ["en", "en-US,en;q=0.9", "en-GB,zh;q=0.5"])
def test_an_english_browser_gets_the_english_login_page(client, language):
    page = login_page(client, language)
    assert '<html lang="en">' in page
    assert "<h1>Log in</h1>" in page and "Username" in page and "登录" not in page


def switch(client, lang: str, next_url: str, language: str):
    token = csrf_token(login_page(client, language))
    return client.post("/language", data={"lang": lang, "next": next_url, "csrf_token": token},
                       headers={"Accept-Language": language})


def test_the_switch_sticks_whatever_the_browser_says(client):
    response = switch(client, "en", "/login", "zh-CN")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    cookie = client.get_cookie("lang")
    assert cookie is not None and cookie.value == "en" and cookie.max_age >= 360 * 24 * 3600
    assert "<h1>Log in</h1>" in login_page(client, "zh-CN")

    switch(client, "zh_CN", "/login", "en")
    assert client.get_cookie("lang").value == "zh_CN"
    assert "<h1>登录</h1>" in login_page(client, "en")


def test_the_switch_works_for_a_logged_in_resident_and_keeps_the_page(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert log_in(client, "resident").status_code == 302
    page = client.get("/", follow_redirects=True)
    assert "My requests" in page.text
    token = csrf_token(page.text)
    response = client.post("/language", data={"lang": "zh_CN", "next": page.request.path,
                                               "csrf_token": token}, follow_redirects=True)
    assert response.request.path == page.request.path
    assert "我的请求" in response.text and '<html lang="zh-CN">' in response.text


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "/\\evil.example",
                                      "javascript:alert(1)", ""])
def test_a_bad_next_is_not_followed(client, next_url):
    response = switch(client, "en", next_url, "en")
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_an_unknown_language_is_ignored(client):
    switch(client, "fr", "/login", "en")
    assert client.get_cookie("lang") is None


def test_the_switch_needs_a_csrf_token(client):
    assert client.post("/language", data={"lang": "en", "next": "/login"}).status_code == 400


# -- the catalog ----------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "translations" / "zh" / "LC_MESSAGES" / "messages.po"


def chinese_catalog():
    with CATALOG.open("rb") as po:
        return read_po(po)


def test_every_message_of_the_chinese_catalog_is_translated_and_none_is_fuzzy():
    catalog = chinese_catalog()
    untranslated = [m.id for m in catalog if m.id and not all(
        m.string if isinstance(m.string, tuple) else (m.string,))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert len(catalog) > 300
    assert untranslated == [] and fuzzy == []


def test_every_text_marked_in_the_code_is_in_the_catalog():
    """What `pybabel extract -F babel.cfg` finds (views, workflows, templates) is all in
    translations/zh: a new text needs `pybabel extract` and `pybabel update`, and a translation."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    marked = {(context, message[0] if isinstance(message, tuple) else message)
              for _file, _line, message, _comments, context
              in extract_from_dir(str(ROOT), method_map, options_map)}
    catalog = chinese_catalog()
    missing = sorted((c or "", m) for c, m in marked if catalog.get(m, context=c) is None)
    assert len(marked) > 300 and missing == []


# -- the staff's pages in Chinese -----------------------------------------------------------------

# Words a Chinese page may hold in Latin letters: the brand, the switch to English, file formats,
# the rules file's path and the diagram library's name.
LATIN_ALLOWED = {"ButlerDesk", "English", "xlsx", "CSV", "Excel", "JPEG", "PNG", "WebP", "PDF",
                 "MB", "KB", "workflows", "rules", "toml", "Mermaid"}
# The texts people read besides an element's content.
READ_ATTRIBUTES = re.compile(r'\s(?:aria-label|title|alt|placeholder|data-left|data-over'
                             r'|data-minutes-seconds|data-hours-minutes|data-days-hours)'
                             r'="([^"]*)"')


def read_text(html: str) -> str:
    """What a reader sees or hears of a page: its text and the attributes read out, without
    scripts, styles and source code (the diagram's Mermaid source)."""
    html = re.sub(r"<(script|style|pre|code)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<!--.*?-->", " ", html, flags=re.S)
    attributes = " ".join(READ_ATTRIBUTES.findall(html))
    return unescape(re.sub(r"<[^>]+>", " ", html) + " " + attributes)


def english_left(html: str, username: str = "") -> list[str]:
    """Words in Latin letters on a page, but for those any Chinese page may show and the
    reader's login name (on the log-out button); {time}, {days} ... in a countdown's texts are
    for its script."""
    text = re.sub(r"\{(?:time|days|hours|minutes|seconds)\}", " ", read_text(html))
    return sorted(set(re.findall(r"[A-Za-z]{2,}", text)) - LATIN_ALLOWED - {username})


CHINESE_NAMES = {"resident": "王芳", "neighbour": "刘洋", "west_resident": "周敏", "butler": "李明",
                 "other_butler": "赵磊", "relief_butler": "孙伟", "technician": "张强",
                 "other_technician": "吴刚", "supervisor": "陈静"}


def person(username: str) -> User:
    return db.session.scalar(db.select(User).where(User.username == username))


def fire(ticket_id: int, trigger: str, who: str, **data) -> None:
    engine.fire(ticket_id, trigger, person(who), db.session.get(Ticket, ticket_id).version, **data)


@pytest.fixture
def scene(app, estate, clock) -> dict[str, int]:
    """A Monday morning (T0 + 25 min) with Chinese names: a call registered late whose on-site
    visit was missed (recorded), a repair overdue that no sweep has seen yet, one due within 30
    minutes, a complaint promised within 4 hours, one waiting for the resident, a repair with
    a technician; in the assessment a bonus, an appealed and a waived line, and October closed."""
    with app.app_context():
        for username, name in CHINESE_NAMES.items():
            person(username).name = name
        for area in db.session.scalars(db.select(Area)):
            area.name = {"East": "东区", "West": "西区"}[area.name]
        for place in db.session.scalars(db.select(Estate)):  # the workflows page's estate picker
            place.name = "花园小区"
        db.session.commit()
        butler, supervisor = person("butler"), person("supervisor")
        clock.move_to(T0 - timedelta(minutes=15))  # a call of 30 minutes ago, registered then
        late = engine.open_ticket(butler, "repair", "楼道灯不亮", unit_id=estate.unit_b,
                                  reported_at=T0 - timedelta(minutes=30)).id
        clock.move_to(T0)
        unseen = engine.open_ticket(person("resident"), "repair", "卫生间下水道堵塞").id
        dispatched = engine.open_ticket(person("neighbour"), "repair", "空调漏水").id
        fire(dispatched, "dispatch", "butler", technician_id=estate.technician)
        waiting = engine.open_ticket(person("resident"), "complaint", "电梯噪音").id
        fire(waiting, "accept", "butler")
        fire(waiting, "wait_resident", "butler", note="请告诉我们噪音出现的时间")
        assessment.record_finding(supervisor, estate.butler, "5", "10月20日未巡查",
                                  occurred_at="2026-10-20T10:00:00+08:00")
        assessment.close_month(supervisor, "2026-10", "十月考核结束")
    clock.shift(timedelta(minutes=25))
    with app.app_context():
        with write():  # the late call's on-site visit, due 5 minutes after it was registered
            deadlines.settle(current_rules(), T0 + timedelta(minutes=25), late)
        supervisor = person("supervisor")
        soon = engine.open_ticket(person("resident"), "repair", "厨房水龙头漏水").id
        promised = engine.open_ticket(person("neighbour"), "complaint", "楼下装修太吵").id
        fire(promised, "accept", "butler")
        fire(promised, "progress_update", "butler", note="已联系施工方",
             promised_at=T0 + timedelta(hours=2, minutes=25))
        missed = db.session.scalar(db.select(Deduction.id).where(Deduction.ticket_id == late))
        assessment.appeal(person("butler"), missed, "住户当时不在家")
        bonus = assessment.record_finding(supervisor, estate.butler, "3-bonus", "做成一笔家电清洗")
        wrong = assessment.record_finding(supervisor, estate.other_butler, "7", "咨询未答复")
        assessment.waive(supervisor, wrong.id, "已核实当日已答复")
        cover.request_leave(person("butler"), None, T0 + timedelta(days=1),
                            T0 + timedelta(days=2), reason="家中有事")
        away = cover.request_leave(supervisor, estate.other_butler, T0, T0 + timedelta(hours=8),
                                   reason="看病")
        cover.approve_leave(supervisor, away.id, estate.relief_butler)
        return {"late": late, "unseen": unseen, "dispatched": dispatched, "waiting": waiting,
                "soon": soon, "promised": promised, "bonus": bonus.id}


def chinese(browser, who: str):
    return browser(who, language="zh-CN,zh;q=0.9")


def in_english(browser, who: str):
    """A Chinese browser switched to English: the `lang` cookie wins."""
    client = browser(who, language="zh-CN,zh;q=0.9")
    client.set_cookie("lang", "en")
    return client


STAFF_PAGES = [
    ("supervisor", "/supervisor/overdue"),
    ("supervisor", "/supervisor/workflows"),
    ("supervisor", "/supervisor/workflows?estate=1"),
    ("supervisor", "/estates/1/rules"),
    ("supervisor", "/supervisor/waiting"),
    ("supervisor", "/supervisor/deliveries"),
    ("supervisor", "/assessment/?month=2026-11"),
    ("supervisor", "/assessment/?month=2026-10"),
    ("supervisor", "/assessment/spot-checks?month=2026-10"),
    ("supervisor", "/assessment/findings/new"),
    ("supervisor", "/cover/leave"),
    ("supervisor", "/supervisor/for-residents"),
    ("supervisor", "/cover/areas"),
    ("butler", "/cover/leave"),
    ("butler", "/queue/"),
    ("butler", "/queue/handover"),
    ("technician", "/queue/"),
    ("butler", "/tickets/new"),
    ("butler", "/notices/"),
    ("supervisor", "/notices/"),
    ("technician", "/notices/"),
]


@pytest.mark.parametrize("who, path", STAFF_PAGES)
def test_the_staff_pages_speak_chinese_through_and_through(scene, estate, browser, who, path):
    page = chinese(browser, who).get(path)
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert english_left(page.text, who) == []


@pytest.mark.parametrize("who, page", [("butler", "card"), ("supervisor", "card"),
                                       ("butler", "late"), ("butler", "dispatched"),
                                       ("butler", "waiting"), ("supervisor", "promised")])
def test_scorecards_and_ticket_pages_speak_chinese(scene, estate, browser, who, page):
    path = (f"/assessment/butlers/{estate.butler}?month=2026-11" if page == "card"
            else f"/tickets/{scene[page]}")
    reply = chinese(browser, who).get(path)
    assert reply.status_code == 200
    assert english_left(reply.text, who) == []


def test_the_overdue_page_in_chinese_and_in_english(scene, browser):
    html = chinese(browser, "supervisor").get("/supervisor/overdue").text
    for text in ("当前超时", "已超时 35 分钟", "已记录", "尚未记录", "30 分钟内到期",
                 "4 小时内到期", "剩余 20 分 00 秒", "-2 (第 4 条)", "到场", "李明", "优秀"):
        assert text in html, text
    html = in_english(browser, "supervisor").get("/supervisor/overdue").text
    assert '<html lang="en">' in html
    for text in ("Overdue now", "35 min overdue", "not yet recorded", "20 min 00 s left",
                 "(art. 4)", "Arrival on site", "Excellent"):
        assert text in html, text
    assert "当前超时" not in html and "已超时" not in html


def test_the_assessment_month_in_chinese_and_in_english(scene, browser):
    html = chinese(browser, "supervisor").get("/assessment/?month=2026-11").text
    for text in ("<h1>考核 · 花园小区 · 2026-11</h1>", "本月尚未结束，月末后才能结账。", "优秀",
                 "各管家得分，2026-11", "第 4 条：-2（1 次）", "月度结账"):
        assert text in html, text
    closed = chinese(browser, "supervisor").get("/assessment/?month=2026-10").text
    assert "已结账" in closed and "陈静 于 2026-11-16 09:00 结账 — 十月考核结束。" in closed
    html = in_english(browser, "supervisor").get("/assessment/?month=2026-11").text
    for text in ("<h1>Assessment · 花园小区 · 2026-11</h1>", "Excellent",
                 "Scores per butler, 2026-11", "Closing the month"):
        assert text in html, text
    assert "月度结账" not in html and "本月尚未结束" not in html and "优秀" not in html


def test_the_hand_over_in_chinese_and_in_english(scene, browser):
    html = chinese(browser, "butler").get("/queue/handover").text
    for text in ("<h1>交接班 <small>(6)</small></h1>", "李明 的待办工作",
                 "3 件已超时，1 件将在 30 分钟内到期。", "超时自", "可执行：派工、取消",
                 "维修工：张强", "交班人", "接班人", "已暂停，等待业主"):
        assert text in html, text
    html = in_english(browser, "butler").get("/queue/handover").text
    for text in ("Hand-over", "3 overdue, 1 due within 30 min.", "overdue since",
                 "Can be done: Dispatch a technician, Cancel", "Handed over by"):
        assert text in html, text
    assert "交接班" not in html


def test_a_step_the_engine_refuses_is_explained_in_chinese(scene, browser):
    client = chinese(browser, "butler")
    ticket = scene["soon"]
    page = client.get(f"/tickets/{ticket}").text
    reply = client.post(f"/tickets/{ticket}/fire/complete", data={
        "complete-version": "1", "complete-csrf_token": csrf_token(page)})
    assert reply.status_code == 409
    [message] = flashes(reply.text, "error")
    assert message == "工单处于“已报修”状态，不能“完工”；现在可以：派工、取消。"
    assert english_left(reply.text, "butler") == []

    english = in_english(browser, "butler")
    reply = english.post(f"/tickets/{ticket}/fire/complete", data={
        "complete-version": "1", "complete-csrf_token": csrf_token(english.get(
            f"/tickets/{ticket}").text)})
    [message] = flashes(reply.text, "error")
    assert message == ("Cannot 'Record completion' while the ticket is 'Reported'; possible now: "
                       "Dispatch a technician, Cancel.")
    assert "What you can do" in reply.text and "您可以" not in reply.text


def test_the_engines_field_messages_are_chinese_next_to_their_inputs(scene, browser):
    client = chinese(browser, "butler")
    ticket = scene["soon"]
    page = client.get(f"/tickets/{ticket}").text
    reply = client.post(f"/tickets/{ticket}/fire/dispatch", data={
        "dispatch-version": "1", "dispatch-csrf_token": csrf_token(page)})
    assert reply.status_code == 422
    assert '<p class="error">必填</p>' in field_html(reply.text, "dispatch-technician_id")
    assert english_left(reply.text, "butler") == []

    ticket = scene["promised"]
    for promised, message in (("2026-11-16T08:00", "必须晚于现在"),
                              ("2026-11-30T08:00", "不能晚于现在起 2 天")):
        page = client.get(f"/tickets/{ticket}").text
        version = re.search(r'name="progress_update-version" type="hidden" value="(\d+)"',
                            page).group(1)
        reply = client.post(f"/tickets/{ticket}/fire/progress_update", data={
            "progress_update-version": version, "progress_update-note": "还在联系",
            "progress_update-promised_at": promised,
            "progress_update-csrf_token": csrf_token(page)})
        assert reply.status_code == 422
        assert f'<p class="error">{message}</p>' in field_html(
            reply.text, "progress_update-promised_at")
        assert english_left(reply.text, "butler") == []

    english = in_english(browser, "butler")
    page = english.get(f"/tickets/{ticket}").text
    reply = english.post(f"/tickets/{ticket}/fire/progress_update", data={
        "progress_update-version": version, "progress_update-note": "Still calling",
        "progress_update-promised_at": "2026-11-30T08:00",
        "progress_update-csrf_token": csrf_token(page)})
    assert '<p class="error">must be at most 2 days from now</p>' in field_html(
        reply.text, "progress_update-promised_at")


def test_the_assessments_refusals_are_chinese(scene, estate, browser):
    client = chinese(browser, "supervisor")
    page = client.get("/assessment/?month=2026-10").text
    reply = client.post("/assessment/reopen?month=2026-10", data={
        "reopen-reason": "", "reopen-csrf_token": csrf_token(page)})
    assert reply.status_code == 422
    assert '<p class="error">必填</p>' in field_html(reply.text, "reopen-reason")
    reply = client.post("/assessment/close?month=2026-11", data={
        "close-csrf_token": csrf_token(page)}, follow_redirects=True)
    assert flashes(reply.text, "error") == ["2026-11 尚未结束；月份结束后才能结账。"]
    english = in_english(browser, "supervisor")
    page = english.get("/assessment/?month=2026-10").text
    reply = english.post("/assessment/close?month=2026-11", data={
        "close-csrf_token": csrf_token(page)}, follow_redirects=True)
    assert flashes(reply.text, "error") == [
        "2026-11 is not over yet; a month is closed after it ends."]


def test_a_renovations_details_are_refused_in_chinese(scene, estate, browser):
    client = chinese(browser, "resident")
    page = client.get("/tickets/new?kind=renovation").text
    reply = client.post("/tickets/new", data={
        "kind": "renovation", "title": "厨房改造", "works_start": "2026-11-20",
        "works_end": "2026-11-18", "contractor_name": "安居装饰", "contractor_phone": "电话",
        "foreman_name": "刘工", "foreman_phone": "138 0013 8000", "workers": "4",
        "csrf_token": csrf_token(page)})
    assert reply.status_code == 422
    assert "不能早于开工日期" in field_html(reply.text, "works_end")
    assert "请填写电话号码，例如 138 0013 8000" in field_html(reply.text, "contractor_phone")
    assert english_left(reply.text, "resident") == []


def test_a_time_left_follows_the_page_language(app, clock):
    from views import time_left

    cases = [(timedelta(minutes=20), "in 20 min", "20 分钟后"),
             (timedelta(hours=1, minutes=5), "in 1 h 05 min", "1 小时 05 分钟后"),
             (timedelta(days=2, hours=3), "in 2 d 3 h", "2 天 3 小时后"),
             (-timedelta(minutes=12), "12 min overdue", "已超时 12 分钟")]
    for language, column in (("en", 1), ("zh-CN", 2)):
        with app.test_request_context(headers={"Accept-Language": language}):
            assert [time_left(T0 + case[0]) for case in cases] == [c[column] for c in cases]


def test_the_countdown_script_gets_its_words_in_the_page_language(scene, browser):
    html = chinese(browser, "butler").get("/queue/").text
    assert ('data-left="剩余 {time}" data-over="已超时 {time}" '
            'data-minutes-seconds="{minutes} 分 {seconds} 秒" '
            'data-hours-minutes="{hours} 小时 {minutes} 分" '
            'data-days-hours="{days} 天 {hours} 小时"') in html
    # In words, never "已超时 35:00": minutes and seconds, hours and minutes, days and hours.
    assert ">剩余 20 分 00 秒<" in html and ">已超时 35 分 00 秒<" in html
    html = in_english(browser, "butler").get("/queue/").text
    assert ('data-left="{time} left" data-over="{time} overdue" '
            'data-minutes-seconds="{minutes} min {seconds} s" '
            'data-hours-minutes="{hours} h {minutes} min" data-days-hours="{days} d {hours} h"'
            ) in html
    assert ">20 min 00 s left<" in html


def _literals_in(path: Path) -> list[tuple[int, str]]:
    """The string literals of a Python file but its docstrings, with their lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                       ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings]


def test_no_chinese_is_written_in_python_outside_the_rules_and_the_catalog():
    """What the app says in Chinese is in the catalog (Flask-Babel) or in the rules file; the
    demo's made-up estate (demo.py) and the benchmarks' data are data, not the app, and so are
    the headings an office's owner sheet is read by (workflows/sheets.py: the file's format)."""
    root = Path(__file__).resolve().parent.parent
    files = [root / "app.py", root / "config.py", root / "commands.py",
             *(root / "models").glob("*.py"), *(root / "views").glob("*.py"),
             *(p for p in (root / "workflows").glob("*.py") if p.name != "sheets.py")]
    found = [f"{path.relative_to(root)}:{line}: {text!r}" for path in files
             for line, text in _literals_in(path) if CJK.search(text)]
    assert found == []
