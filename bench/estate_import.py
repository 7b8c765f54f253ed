"""Bringing in an estate: an owner sheet of 10,000 units with their residents imported into an
empty database (a new estate, its two areas, 100 buildings), the same file again (nothing to
change), and the estate exported back; each against reading the sheet alone (openpyxl and the
row checks of workflows.sheets), the floor any import stands on, in the same run.
"""
from __future__ import annotations

import time
from pathlib import Path

from bench.common import make_app


def run(workdir: Path, rows: int = 10_000, log=print) -> dict:
    import flask_migrate

    from models import db
    from tests.helpers import owner_rows, xlsx_of
    from views import estate_files
    from workflows.estate_import import import_owner_sheet
    from workflows.sheets import read_owner_sheet

    app = make_app(f"sqlite:///{workdir / 'import.sqlite3'}")
    data = xlsx_of(owner_rows(rows, areas=("东区", "西区")))
    log(f"  an owner sheet of {rows:,} rows: {len(data) / 1e6:.1f} MB")
    timings: dict = {"rows": rows, "bytes": len(data)}
    with app.app_context(), app.test_request_context():
        flask_migrate.upgrade()

        def timed(name: str, call):
            started = time.perf_counter()
            result = call()
            timings[name] = time.perf_counter() - started
            log(f"  {name}: {timings[name]:.2f} s")
            return result

        timed("read_s", lambda: read_owner_sheet("owners.xlsx", data))
        first = timed("import_s", lambda: import_owner_sheet(
            None, "基准导入 Import estate", "owners.xlsx", data, create=True))
        again = timed("reimport_s", lambda: import_owner_sheet(
            None, "基准导入 Import estate", "owners.xlsx", data))
        made = timed("export_s", lambda: estate_files.export(None, first.estate_id, "xlsx"))
        back = timed("export_reimport_s", lambda: import_owner_sheet(
            None, None, made.filename, made.body))
        db.session.remove()
    timings.update(created=first.rows_created, unchanged=again.rows_unchanged,
                   back_unchanged=back.rows_unchanged, problems=len(first.problems))
    return timings
