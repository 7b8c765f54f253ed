"""The form of an estate's calendar page (views.calendars): a line of office hours a weekday,
the holiday switch, closed days one a line. The checks are workflows.calendars', shown next to
the inputs they name."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, TextAreaField

from views.forms import Form
from workflows.calendars import (
    WEEKDAY_NAMES,
    WEEKDAYS,
    Settings,
    closed_days_typed,
    spans_typed,
    typed_closed_days,
    typed_spans,
)


class CalendarForm(Form):
    public_holidays = BooleanField(_l("The mainland's public holidays are off, and their "
                                      "make-up working days on"))
    closed_days = TextAreaField(_l("Closed days, one a line: the date, then a note"))


for _key, _name in zip(WEEKDAYS, WEEKDAY_NAMES, strict=True):
    setattr(CalendarForm, f"hours_{_key}", StringField(_name))

# Where the checks' fields (hours.mon, ...) are on the form.
ALIASES = {"hours": "hours_mon", **{f"hours.{key}": f"hours_{key}" for key in WEEKDAYS}}


def calendar_form(settings: Settings | None = None, **kwargs) -> CalendarForm:
    """The form, filled in from the calendar as set when `settings` is given."""
    if settings is not None:
        kwargs.update(public_holidays=settings.public_holidays,
                      closed_days=closed_days_typed(settings.closed_days),
                      **{f"hours_{key}": spans_typed(spans)
                         for key, spans in settings.hours.items()})
    return CalendarForm(**kwargs)


def typed(form: CalendarForm) -> dict:
    """What the form says, as the API gives it: hours, public_holidays, closed_days."""
    return {"hours": {key: typed_spans(getattr(form, f"hours_{key}").data) for key in WEEKDAYS},
            "public_holidays": form.public_holidays.data,
            "closed_days": typed_closed_days(form.closed_days.data)}
