"""The demo estate loaded by `flask seed-demo`: 绿城花园, two areas, six buildings, 72 units.

Every demo login has the password `demo`. `butler` is responsible for the East area, where
`resident` lives (1栋 101); `butler2` for the West area; `butler3` covers for either, and is on
duty for the whole estate at night (18:00–08:00) and at the weekend (this week's duty rota).
Last month's work is written as it happened (so a supervisor can run a whole month-end on it),
then this morning's. The renovations carry their details (works period, contractor, foreman,
workers) and a floor plan, a small PNG drawn here; `resident`'s own was rejected, to resubmit.
"""
from __future__ import annotations

import struct
import zlib
from datetime import datetime, time, timedelta

from flask import current_app

from models import SINCE_RECORDS, Area, AreaButler, Building, Estate, Role, Unit, User, db
from views import uploads
from workflows import assessment, clock, cover, duty, engine, extensions

PASSWORD = "demo"
LOGINS = """Demo logins (password: demo)
  resident    王芳, 1栋 101, East area
  butler      李明, butler of the East area (resident's butler)
  technician  张强, repairs
  supervisor  陈静, 客服主管
  also: butler2 (West area), butler3 (relief, on duty nights and weekends), technician2, admin,
        resident2..resident21"""
REPAIRS = ["水管漏水 Leaking pipe", "门铃不响 Doorbell dead",
           "空调不制冷 Air conditioner not cooling", "窗户关不严 Window does not close",
           "插座没电 Socket dead"]
COMPLAINTS = ["夜间噪音 Noise at night", "电梯停运 Lift out of service",
              "楼道堆放杂物 Clutter in the hall"]
RESIDENT_NAMES = ["刘洋", "赵敏", "孙磊", "周婷", "吴刚", "郑爽", "冯涛", "何丽", "许军", "林娜",
                  "高峰", "马琳", "罗斌", "梁红", "宋杰", "唐雪", "韩冰", "曹阳", "邓超", "彭静"]


# Renovation applications: (title, description, starts in days, lasts days, contractor and phone,
# foreman and phone, workers).
RENOVATIONS = {
    "kitchen": ("厨房翻新 Kitchen renovation", "更换橱柜和台面，不改动水电。 New cabinets and "
                "worktop; no plumbing or wiring moved.", 0, 14,
                "安居装饰工程有限公司 Anju Decoration", "021 5555 0101", "刘师傅 Liu",
                "139 1234 5678", 3),
    "floors": ("更换地板 New floors", "客厅和卧室铺实木地板。 Wooden floors in the living room and "
               "bedrooms.", 3, 10, "美家地板 Meijia Flooring", "021 6666 0202", "陈师傅 Chen",
               "137 0000 1111", 2),
    "bathroom": ("卫生间改造 Bathroom remodel", "卫生间和厨房之间的墙打通，扩大卫生间。 "
                 "Open the wall between bathroom and kitchen for a larger bathroom.", 7, 30,
                 "金螳螂家装 Gold Mantis Home", "0512 6888 0303", "赵工 Zhao", "136 2222 3333", 5),
}


def _user(username: str, role: Role, name: str, unit: Unit | None = None) -> User:
    serial = sum(ord(c) for c in username)
    user = User(username=username, role=role, name=name, unit=unit, phone=f"1380000{serial:04d}",
                # Staff get an address for notices by email (sent once MAIL_SERVER is set).
                email=None if role == Role.RESIDENT else f"{username}@demo.butlerdesk.test",
                is_manager=role == Role.SUPERVISOR)
    user.set_password(PASSWORD)
    db.session.add(user)
    return user


def seed() -> None:
    staff = {
        "butler": _user("butler", Role.BUTLER, "李明 Li Ming"),
        "butler2": _user("butler2", Role.BUTLER, "王磊 Wang Lei"),
        "butler3": _user("butler3", Role.BUTLER, "赵丽 Zhao Li"),
        "technician": _user("technician", Role.TECHNICIAN, "张强 Zhang Qiang"),
        "technician2": _user("technician2", Role.TECHNICIAN, "黄伟 Huang Wei"),
        "supervisor": _user("supervisor", Role.SUPERVISOR, "陈静 Chen Jing"),
        "admin": _user("admin", Role.ADMIN, "系统管理员 Admin"),
    }
    estate = Estate(name="阳光花园 Sunny Garden", supervisors=[staff["supervisor"]])
    areas = [Area(estate=estate, name="东区 East", butler=staff["butler"]),
             Area(estate=estate, name="西区 West", butler=staff["butler2"])]
    units = []
    for number in range(1, 7):
        building = Building(area=areas[(number - 1) // 3], name=f"{number}栋")
        for floor in range(1, 7):
            for door in (1, 2):
                units.append(Unit(building=building, number=f"{floor}0{door}"))
    db.session.add_all(areas + units)
    db.session.add_all(AreaButler(area=area, butler=area.butler, starts_at=SINCE_RECORDS)
                       for area in areas)
    db.session.flush()

    resident = _user("resident", Role.RESIDENT, "王芳 Wang Fang", units[0])
    neighbours = [_user(f"resident{i + 2}", Role.RESIDENT, name, units[(i + 1) * 3])
                  for i, name in enumerate(RESIDENT_NAMES)]
    db.session.commit()
    _last_month(resident, neighbours, staff)
    _demo_tickets(resident, neighbours, staff)
    _leave(staff)
    _rota(estate, staff)


def _rota(estate: Estate, staff: dict[str, User]) -> None:
    """This week's duty rota, as the supervisor would have entered it before it began: each
    area's own butler in the day (08:00–18:00, Monday to Friday), butler3 (赵丽, the relief
    butler) on duty at night and from Friday 18:00 over the weekend."""
    tz = current_app.config["TZ"]
    week = duty.week_of(clock.now())
    monday = week.astimezone(tz).date()

    def at(day: int, hour: int) -> datetime:
        return datetime.combine(monday + timedelta(days=day), time(hour), tz)

    relief = staff["butler3"].id
    shifts, reached = [], at(0, 0)
    for day in range(5):
        for starts, ends, who in ((reached, at(day, 8), relief), (at(day, 8), at(day, 18), None)):
            shifts.append({"starts_at": starts, "ends_at": ends, "on_duty_id": who})
        reached = at(day, 18)
    shifts.append({"starts_at": reached, "ends_at": at(7, 0), "on_duty_id": relief})
    with clock.replaying_at(week - timedelta(days=3)):
        duty.set_rota(staff["supervisor"], estate.id, week, week + duty.WEEK, shifts)


def _leave(staff: dict[str, User]) -> None:
    """butler2 asks for two days' leave next week, for the supervisor to approve with butler3
    (赵丽, the relief butler) as substitute on Leave."""
    tz = current_app.config["TZ"]
    today = clock.now().astimezone(tz).date()
    monday = datetime.combine(today + timedelta(days=7 - today.weekday()), time(9), tz)
    cover.request_leave(staff["butler2"], None, monday, monday + timedelta(days=2, hours=9),
                        reason="家中有事，请假两天。 Family matters, two days.")


def _last_month(resident: User, neighbours: list[User], staff: dict[str, User]) -> None:
    """Repairs and complaints handled through last month, a few of them late, all closed."""
    tz = current_app.config["TZ"]
    first_of_this_month = clock.now().astimezone(tz).replace(day=1).date()
    last_month = (first_of_this_month - timedelta(days=1)).replace(day=1)
    butler, technician = staff["butler"], staff["technician"]
    people = [resident, *neighbours]

    def at(day: int, hour: float) -> datetime:
        return (datetime.combine(last_month + timedelta(days=day), time(), tz)
                + timedelta(hours=hour))

    def step(moment, action, *args, **kwargs):
        with clock.replaying_at(moment):
            return action(*args, **kwargs)

    for n in range(24):
        day, who = n + 1, people[(n * 5) % len(people)]
        start = at(day, 8 + n % 9)
        late = n % 5 == 4  # one in five is handled late: that is what the assessment catches
        if n % 3:
            ticket = step(start, engine.open_ticket, who, "repair", REPAIRS[n % len(REPAIRS)])
            steps = [(5 / 60, "dispatch", ticket.assignee, {"technician_id": technician.id}),
                     (0.6 if late else 0.25, "arrive", technician, {}),
                     (2, "complete", technician, {}),
                     (26, "visit", ticket.assignee, {"rating": 3 if late else 5}),
                     (27, "close", ticket.assignee, {})]
        else:
            ticket = step(start, engine.open_ticket, who, "complaint",
                          COMPLAINTS[n % len(COMPLAINTS)])
            steps = [(1, "accept", ticket.assignee, {"note": "已登记。"}),
                     (60 if late else 20, "reply", ticket.assignee,
                      {"note": "已联系相关部门处理。"}),
                     (62 if late else 22, "confirm", who, {}),
                     (80 if late else 40, "visit", ticket.assignee, {"rating": 3 if late else 4}),
                     (81 if late else 41, "close", ticket.assignee, {})]
        for hours, trigger, actor, data in steps:
            ticket = step(start + timedelta(hours=hours), engine.fire, ticket.id, trigger, actor,
                          ticket.version, **data)

    supervisor = staff["supervisor"]
    assessment.record_finding(supervisor, butler.id, "5", "15日未做区域巡视记录。",
                              occurred_at=at(14, 18))
    assessment.record_finding(supervisor, staff["butler2"].id, "3-bonus",
                              "为6栋业主办理家政保洁特约服务。", occurred_at=at(20, 15))


def _demo_tickets(resident: User, neighbours: list[User], staff: dict[str, User]) -> None:
    """A believable morning: work in every state, one clock close to running out, one missed."""
    now = clock.now()
    butler, butler2, technician = staff["butler"], staff["butler2"], staff["technician"]

    engine.open_ticket(resident, "repair", "厨房水龙头漏水 Kitchen tap leaking",
                       "水龙头一直滴水，关不紧。")
    engine.open_ticket(butler, "repair", "楼道灯不亮 Stairwell light out", "3楼楼道灯坏了。",
                       unit_id=neighbours[0].unit_id, reported_at=now - timedelta(minutes=14))
    late = engine.open_ticket(butler, "repair", "卫生间下水堵塞 Bathroom drain blocked",
                              "夜间来电，值班室登记。", unit_id=neighbours[1].unit_id,
                              reported_at=now - timedelta(minutes=45))
    engine.fire(late.id, "dispatch", butler, late.version, technician_id=technician.id)

    done = engine.open_ticket(neighbours[2], "repair", "门锁损坏 Door lock broken", "")
    for trigger, actor, data in [("dispatch", butler, {"technician_id": technician.id}),
                                 ("arrive", technician, {}), ("complete", technician, {})]:
        done = engine.fire(done.id, trigger, actor, done.version, **data)
    # The resident is away: more time asked for the follow-up, for the supervisor to decide.
    extensions.request_extension(butler, done.id, "follow_up", now + timedelta(hours=96),
                                 "业主出差，周五回来再回访。 The resident is away until Friday.")

    complaint = engine.open_ticket(neighbours[3], "complaint", "楼上装修噪音 Noise from upstairs",
                                   "每天早上七点开始施工。")
    engine.fire(complaint.id, "accept", butler, complaint.version, note="已登记，联系楼上业主。")
    engine.open_ticket(neighbours[12], "complaint", "垃圾清运不及时 Rubbish not collected",
                       "西区5栋垃圾桶已满两天。")

    plan = _floor_plan_png()
    permit = _renovation(neighbours[4], "kitchen", plan)
    for trigger, data in [("approve", {}), ("start_works", {}), ("inspect", {"result": "ok"})]:
        permit = engine.fire(permit.id, trigger, butler, permit.version, **data)
    _renovation(neighbours[13], "floors", plan)
    bathroom = _renovation(resident, "bathroom", plan)
    engine.fire(bathroom.id, "reject", butler, bathroom.version,
                reason="平面图显示要拆除承重墙，不能批准；请修改方案后重新提交。 The plan removes "
                       "a load-bearing wall: change it and resubmit.")
    engine.open_ticket(butler2, "repair", "电梯异响 Lift noise", "6栋电梯运行有异响。",
                       unit_id=neighbours[14].unit_id)


def _renovation(who: User, name: str, plan: bytes):
    """A renovation application of `who` with its details, and its floor plan added."""
    title, description, starts_in, lasts, contractor, phone, foreman, mobile, workers = (
        RENOVATIONS[name])
    start = clock.now().astimezone(current_app.config["TZ"]).date() + timedelta(days=starts_in)
    permit = engine.open_ticket(who, "renovation", title, description, details={
        "works_start": start, "works_end": start + timedelta(days=lasts),
        "contractor_name": contractor, "contractor_phone": phone, "foreman_name": foreman,
        "foreman_phone": mobile, "workers": workers})
    files = uploads.store([uploads.Checked(plan, "png", "平面图 floor-plan.png")])
    engine.attach(permit.id, who, files, kind="floor_plan")
    return permit


def _floor_plan_png(width: int = 240, height: int = 160) -> bytes:
    """A flat's floor plan, walls dark on white, as a small greyscale PNG (no imaging library)."""
    def wall(x: int, y: int) -> bool:
        outer = x < 4 or y < 4 or x >= width - 4 or (y >= height - 4 and not 176 <= x < 204)
        inner = (138 <= x < 142 and not 60 <= y < 84) or (98 <= y < 102 and x < 140
                                                          and not 40 <= x < 64)
        return outer or inner

    rows = b"".join(b"\x00" + bytes(48 if wall(x, y) else 255 for x in range(width))
                    for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
