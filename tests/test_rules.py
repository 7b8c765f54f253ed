"""The rules file: the defaults load, and a broken file stops start-up with a clear message.

Each broken file is a copy of workflows/rules.toml with one line changed; the app refuses to start
(SystemExit) with "ButlerDesk cannot start: rules.toml:<line>: [<kind>.<section>.<name>] <field>:
<what is wrong>", so whoever edited it can go straight to the line.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.helpers import edited, start_refused
from workflows.rules import load_rules, parse_duration
from workflows.words import duration as format_duration

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "workflows" / "rules.toml"
TEXT = RULES.read_text(encoding="utf-8")


# -- the defaults ---------------------------------------------------------------------------------

def test_the_default_rules_load_with_the_durations_and_points_of_the_standard():
    rules = load_rules(RULES)

    assert set(rules.kinds) == {"repair", "complaint", "renovation"}
    assert rules.backdate_limit == timedelta(days=7)
    deadlines = {(kind.name, d.name): (d.within, d.points, d.article, d.calendar)
                 for kind in rules.kinds.values() for d in kind.deadlines.values()}
    # The renovation office's paperwork and inspection count office time (two working days).
    assert deadlines == {
        ("repair", "on_site"): (timedelta(minutes=20), -2, 4, "calendar"),
        ("repair", "completion"): (timedelta(hours=24), -2, 4, "calendar"),
        ("repair", "follow_up"): (timedelta(hours=48), -2, 2, "calendar"),
        ("complaint", "reply"): (timedelta(hours=48), -5, 10, "calendar"),
        ("complaint", "follow_up"): (timedelta(hours=48), -2, 2, "calendar"),
        ("renovation", "review"): (timedelta(hours=18), -2, 6, "office"),
        ("renovation", "inspection"): (timedelta(hours=24), -2, 6, "calendar"),
        ("renovation", "rectification"): (timedelta(hours=72), -2, 6, "calendar"),
        ("renovation", "acceptance"): (timedelta(hours=18), -2, 6, "office"),
    }


def test_the_default_rules_describe_each_workflow():
    rules = load_rules(RULES)
    repair, complaint, renovation = (rules.kind(k) for k in ("repair", "complaint", "renovation"))

    assert (repair.initial, complaint.initial, renovation.initial) == ("reported", "submitted",
                                                                       "applied")
    assert {s.name for s in repair.states.values() if s.final} == {"closed", "cancelled"}
    assert [t.name for t in repair.triggers_from("reported")] == ["dispatch", "cancel", "nudge",
                                                                "reassign"]
    assert repair.triggers["dispatch"].requires == ("technician_id",)
    assert repair.triggers["reopen"].window == timedelta(days=7)
    assert complaint.deadlines["reply"].paused_in == {"waiting_resident"}
    assert complaint.deadlines["reply"].rearmed_by == {"progress_update"}
    assert complaint.deadlines["reply"].due_from == "promised_at"
    assert renovation.deadlines["inspection"].repeats
    assert renovation.triggers["inspect"].dest_choices == {"ok": "in_progress",
                                                           "violation": "rectifying"}
    # every kind's machine knows exactly the triggers of the rules
    for kind in rules.kinds.values():
        assert set(kind.machine.events) == set(kind.triggers)


def test_the_app_starts_on_the_default_rules(app):
    assert set(app.extensions["butlerdesk.rules"].kinds) == {"repair", "complaint", "renovation"}


def test_durations_are_written_as_in_the_rules_file():
    assert parse_duration("20m") == timedelta(minutes=20)
    assert parse_duration("24h") == timedelta(hours=24)
    assert parse_duration("7d") == timedelta(days=7)
    assert [format_duration(parse_duration(t)) for t in ("20m", "1h", "48h", "7d")] == [
        "20 minutes", "1 hour", "2 days", "7 days"]
    for wrong in ("20 minutes", "20", "m20", "1.5h", "", 20):
        with pytest.raises(ValueError):
            parse_duration(wrong)


# -- a broken file stops start-up -----------------------------------------------------------------

BROKEN = [
    # (table, line as it is, line broken, field named, what the message says)
    ("repair.deadlines.on_site", 'within = "20m"', 'within = "20 minutes"',
     "within", "'20 minutes' is not a duration like 20m, 24h or 7d"),
    ("renovation.deadlines.acceptance", 'within = "18h"', 'within = "2 days"',
     "within", "'2 days' is not a duration"),
    ("repair.deadlines.completion", "points = -2", "points = 2",
     "points", "a missed deadline loses points: give a negative number"),
    ("complaint.deadlines.reply", "points = -5", "points = -5.5",
     "points", "-5.5 is not a whole number"),
    ("renovation.deadlines.acceptance", "article = 6", 'article = "six"',
     "article", "'six' is not a whole number"),
    ("complaint.deadlines.follow_up", 'met_in = ["visited"]', 'met_in = ["vistied"]',
     "met_in", "unknown state 'vistied'"),
    ("complaint.deadlines.reply", 'paused_in = ["waiting_resident"]', 'paused_in = ["waiting"]',
     "paused_in", "unknown state 'waiting'"),
    ("repair.deadlines.on_site", 'starts_in = ["reported"]', 'starts_in = ["new"]',
     "starts_in", "unknown state 'new'"),
    ("complaint.deadlines.reply", 'rearmed_by = ["progress_update"]', 'rearmed_by = ["progress"]',
     "rearmed_by", "unknown trigger 'progress'"),
    ("complaint.deadlines.reply", 'due_from = "promised_at"', 'due_from = "reason"',
     "due_from", "every rearmed_by trigger must require 'reason'"),
    ("renovation.deadlines.review", 'calendar = "office"', 'calendar = "working"',
     "calendar", "'working' is not one of: 'calendar', 'office'"),
    ("renovation.deadlines.review", 'within = "18h"', 'within = "2d"',
     "within", "in office time give working hours or minutes (e.g. 18h)"),
    ("complaint.deadlines.reply", 'due_from = "promised_at"',
     'calendar = "office"\ndue_from = "promised_at"',
     "calendar", "(due_from) is due then: office time does not apply"),
    ("renovation.deadlines.inspection", 'within = "24h"', 'withn = "24h"',
     "withn", "unknown field (expected one of:"),
    ("renovation.deadlines.inspection", "repeats = true", 'repeats = "yes"',
     "repeats", "'yes' is not true or false"),
    ("repair.triggers.dispatch", 'roles = ["butler", "supervisor"]',
     'roles = ["butler", "janitor"]',
     "roles", "must list some of: butler, resident, supervisor, technician"),
    ("repair.triggers.visit", 'requires = ["rating"]', 'requires = ["stars"]',
     "requires", "unknown field 'stars'"),
    ("repair.triggers.arrive", 'from = ["dispatched"]', 'from = ["dispatchd"]',
     "from", "unknown state 'dispatchd'"),
    ("repair.triggers.reopen", 'window = { since = "completed", within = "7d" }',
     'window = { since = "completed", within = "a week" }', "window", "'a week' is not a duration"),
    ("complaint", 'initial = "submitted"', 'initial = "new"', "initial", "unknown state 'new'"),
    ("repair.deadlines.on_site", 'within = "20m"', 'within = "0m"', "within", "no time at all"),
    ("repair.deadlines.on_site", 'starts_in = ["reported"]', "starts_in = []",
     "starts_in", "must name at least one state"),
    ("repair.triggers.arrive", 'from = ["dispatched"]', "from = []",
     "from", "must name at least one state"),
    ("repair.triggers.arrive", 'to = "on_site"', 'to = ["on_site", "completed"]',
     "to", 'must be one state, "=" or'),
    ("renovation.details.works", 'type = "date range"', 'type = "period"',
     "type", "'period' is not a type of detail (types: text, phone, number, date, date range,"),
    ("renovation.details.workers", "min = 1", 'min = "one"', "min", "'one' is not a whole number"),
    ("repair.resident.reported", 'deadline = "on_site"', 'deadline = "onsite"',
     "deadline", "unknown deadline 'onsite'"),
    ("repair.triggers.cancel.resident", 'style = "danger"', 'style = "red"',
     "style", "'red' is not danger or secondary"),
    ("repair", 'spot_check = { states = ["closed"], finding = "4" }',
     'spot_check = { states = ["closed"], finding = "99" }', "spot_check", "unknown finding '99'"),
]


@pytest.mark.parametrize("table, old, new, field, says", BROKEN,
                         ids=[f"{case[0]}.{case[3]}:{case[2]}" for case in BROKEN])
def test_a_broken_line_stops_start_up_naming_the_line_the_entry_and_the_field(
        tmp_path, table, old, new, field, says):
    broken, line = edited(tmp_path, table, old, new)

    message = start_refused(tmp_path, broken)

    assert message.startswith(
        f"ButlerDesk cannot start: rules.toml:{line}: [{table}] {field}: "), message
    assert says in message


def test_a_state_without_a_text_for_the_resident_stops_start_up(tmp_path):
    block = re.search(r"\[repair\.resident\.cancelled\]\n(?:.+\n)+\n", TEXT).group(0)
    broken = tmp_path / "rules.toml"
    broken.write_text(TEXT.replace(block, ""), encoding="utf-8")
    line = TEXT.splitlines().index("[repair]") + 1

    message = start_refused(tmp_path, broken)

    assert message == (f"ButlerDesk cannot start: rules.toml:{line}: [repair] no "
                       "[repair.resident.cancelled]: every state needs the text a resident reads "
                       "in it")


def test_a_resident_text_names_only_what_it_may(tmp_path):
    broken, line = edited(
        tmp_path, "repair.resident.reported",
        'due = { en = "We are sending a technician; they are due by {due}.", '
        'zh = "我们正在安排维修工，将于 {due} 前上门。" }',
        'due = { en = "We are sending a technician; they are due by {when}.", '
        'zh = "我们正在安排维修工，将于 {due} 前上门。" }')
    assert start_refused(tmp_path, broken) == (
        f"ButlerDesk cannot start: rules.toml:{line}: [repair.resident.reported] due: en: "
        "unknown {when} (it may name: due, technician)")


def test_a_state_no_trigger_reaches_stops_start_up(tmp_path):
    broken, line = edited(tmp_path, "repair.states",
                          'on_site    = { en = "On site", zh = "已到场" }',
                          'on_site    = { en = "On site", zh = "已到场" }\n'
                          'lost       = { en = "Lost", zh = "丢失" }')
    text = broken.read_text(encoding="utf-8").replace(
        "[repair.resident.cancelled]", '[repair.resident.lost]\ntext = { en = "?", zh = "?" }\n\n'
        "[repair.resident.cancelled]")
    broken.write_text(text, encoding="utf-8")
    assert "[repair.states] lost: no trigger leads to 'lost' from 'reported'" in start_refused(
        tmp_path, broken)


def test_kinds_sharing_a_detail_name_must_share_the_detail(tmp_path):
    copy = re.search(r"^\[renovation\.details\.workers\]\n(?:.+\n)+", TEXT, re.M).group(0)
    text = TEXT.replace("[repair.triggers.dispatch]",
                        copy.replace("renovation.", "repair.").replace("max = 200", "max = 20")
                        + "\n[repair.triggers.dispatch]")
    broken = tmp_path / "rules.toml"
    broken.write_text(text, encoding="utf-8")
    said = start_refused(tmp_path, broken)
    assert ("[repair.details.workers] differs from [renovation.details.workers]" in said
            or "[renovation.details.workers] differs from [repair.details.workers]" in said)


def test_a_missing_field_names_the_entry_at_its_header(tmp_path):
    broken, line = edited(tmp_path, "repair.deadlines.on_site", 'within = "20m"', None)

    message = start_refused(tmp_path, broken)

    assert message == (f"ButlerDesk cannot start: rules.toml:{line}: [repair.deadlines.on_site] "
                       "missing field 'within'")
    assert TEXT.splitlines()[line - 1] == "[repair.deadlines.on_site]"


def test_a_state_with_a_deadline_needs_the_text_read_once_it_is_late(tmp_path):
    late = next(line for line in TEXT.splitlines() if line.startswith("late = { en = \"We are"))
    broken, line = edited(tmp_path, "repair.resident.reported", late, None)
    assert start_refused(tmp_path, broken).startswith(
        f"ButlerDesk cannot start: rules.toml:{line}: [repair.resident.reported] late: "
        "`deadline`, `due` and `late` go together")


def test_a_trigger_a_resident_fires_needs_the_words_they_read_once_done(tmp_path):
    done = 'done = { en = "Your request is cancelled.", zh = "您的请求已取消。" }'
    broken, _line = edited(tmp_path, "repair.triggers.cancel.resident", done, None)
    assert "[repair.triggers.cancel.resident] done: a trigger a resident fires needs the words " \
        "the resident reads once it is done" in start_refused(tmp_path, broken)


def test_a_step_clears_only_what_the_ticket_keeps(tmp_path):
    broken, line = edited(tmp_path, "repair.triggers.reopen",
                          'clears = ["rating", "technician_id"]', 'clears = ["reason"]')
    assert start_refused(tmp_path, broken) == (
        f"ButlerDesk cannot start: rules.toml:{line}: [repair.triggers.reopen] clears: 'reason' "
        "is not kept on the ticket (kept: rating, technician_id, assignee_id, title, "
        "description, details)")


def test_a_file_that_is_not_toml_names_the_line(tmp_path):
    broken, line = edited(tmp_path, "repair.deadlines.on_site", 'within = "20m"', "within = 20m")

    message = start_refused(tmp_path, broken)

    assert message.startswith("ButlerDesk cannot start: rules.toml: not valid TOML: "), message
    assert f"line {line}" in message


def test_a_missing_rules_file_stops_start_up(tmp_path):
    missing = tmp_path / "nowhere" / "rules.toml"

    message = start_refused(tmp_path, missing)

    assert message == (f"ButlerDesk cannot start: {missing}: cannot read the rules file "
                       "(No such file or directory)")


def test_states_given_as_a_value_instead_of_a_table_is_a_clear_refusal(tmp_path):
    block = re.search(r"\[repair\.states\]\n(?:.+\n)+\n", TEXT).group(0)
    text = TEXT.replace(block, "").replace('initial = "reported"\n',
                                           'initial = "reported"\nstates = "reported"\n')
    broken = tmp_path / "rules.toml"
    broken.write_text(text, encoding="utf-8")
    line = text.splitlines().index('states = "reported"') + 1

    message = start_refused(tmp_path, broken)

    assert message == (f"ButlerDesk cannot start: rules.toml:{line}: [repair] states: "
                       "must be a table of states")


def test_a_final_flag_that_is_not_true_or_false_is_refused(tmp_path):
    broken, line = edited(tmp_path, "repair.states",
                          'closed     = { en = "Closed", zh = "已关闭", final = true }',
                          'closed     = { en = "Closed", zh = "已关闭", final = "no" }')

    message = start_refused(tmp_path, broken)

    # not read as true: "no" would otherwise have made the state final
    assert message == (f"ButlerDesk cannot start: rules.toml:{line}: [repair.states] closed: "
                       "final: 'no' is not true or false")


def test_a_single_name_may_stand_for_a_list(tmp_path):
    broken, _ = edited(tmp_path, "complaint.deadlines.reply", 'rearmed_by = ["progress_update"]',
                       'rearmed_by = "progress_update"')
    assert load_rules(broken).kind("complaint").deadlines["reply"].rearmed_by == {"progress_update"}


def test_the_flask_command_refuses_to_start_on_a_broken_file(tmp_path):
    broken, line = edited(tmp_path, "repair.deadlines.on_site", "points = -2", "points = 2")
    flask = Path(sys.executable).parent / "flask"
    command = [str(flask)] if flask.exists() else [sys.executable, "-m", "flask"]
    env = {**os.environ, "RULES_FILE": str(broken),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}"}

    result = subprocess.run([*command, "--app", "app", "sweep"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert re.search(rf"ButlerDesk cannot start: rules\.toml:{line}: "
                     r"\[repair\.deadlines\.on_site\] points: a missed deadline loses points",
                     result.stderr), result.stderr
