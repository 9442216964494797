#!/usr/bin/python3
"""ical_reader.py FILE ZONE DAY... - an independent reader for the
calendar tests: the events of each DAY (YYYY-MM-DD) of iCalendar FILE in
ZONE, one line "DAY H:MM SUMMARY" or "DAY all day SUMMARY", sorted.

Independent of the calendar service: it shares no code with it and does
not use recurring_ical_events.  It uses icalendar only to unfold and split
content lines into names, parameters and text values; dates and times are
parsed here from the text, time zones are mapped by name to zoneinfo (no
VTIMEZONE, no pytz), repetitions are expanded with dateutil's rrule over
wall-clock times (RFC 5545: a rule repeats the local time), EXDATE and
RECURRENCE-ID compared as UTC instants.
"""

import datetime as dt
import sys
import zoneinfo

import icalendar
from dateutil.rrule import rrulestr

WINDOWS = {"W. Europe Standard Time": "Europe/Berlin"}
ZONE = zoneinfo.ZoneInfo(sys.argv[2])


def zone_of(tzid):
    if tzid is None:
        return None
    tzid = tzid.strip('"')
    tzid = tzid.replace("/freeassociation.sourceforge.net/", "")
    return zoneinfo.ZoneInfo(WINDOWS.get(tzid, tzid))


def value(prop):
    """(wall-clock datetime or date, zone or None, is_utc) of a DTSTART-
    like property, from its text."""
    text = prop.to_ical().decode()
    if len(text) == 8:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8])), None
    t = dt.datetime.strptime(text[:15], "%Y%m%dT%H%M%S")
    if text.endswith("Z"):
        return t, dt.timezone.utc
    return t, zone_of(prop.params.get("TZID"))


def instant(t, z):
    if isinstance(t, dt.datetime):
        return t.replace(tzinfo=z or ZONE)
    return dt.datetime(t.year, t.month, t.day, tzinfo=ZONE)


def duration(text):
    """An RFC 5545 dur-value of hours, minutes, days or weeks."""
    n, out, num = text.lstrip("+P"), dt.timedelta(0), ""
    for c in n:
        if c.isdigit():
            num += c
        elif c in "WDHMS":
            out += dt.timedelta(**{{"W": "weeks", "D": "days", "H": "hours",
                                    "M": "minutes", "S": "seconds"}[c]:
                                   int(num)})
            num = ""
    return out


def occurrences(ev):
    """[(start wall, zone, end instant, summary)] of an event's set."""
    start, z = value(ev["DTSTART"])
    if "DTEND" in ev:
        e, ez = value(ev["DTEND"])
        if isinstance(e, dt.datetime):
            length = instant(e, ez) - instant(start, z)
        else:
            length = e - start
    elif "DURATION" in ev:
        length = duration(ev["DURATION"].to_ical().decode())
    else:
        length = dt.timedelta(days=0 if isinstance(start, dt.datetime)
                              else 1)
    starts = [start]
    if "RRULE" in ev:
        rule = ev["RRULE"].to_ical().decode()
        if "UNTIL=" in rule and z is not None:
            # UNTIL is UTC: compare in wall-clock time of the zone
            head, until = rule.split("UNTIL=")
            u, rest = until[:16], until[16:]
            uw = dt.datetime.strptime(u, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=dt.timezone.utc).astimezone(z).replace(tzinfo=None)
            rule = head + "UNTIL=" + uw.strftime("%Y%m%dT%H%M%S") + rest
        base = start if isinstance(start, dt.datetime) else \
            dt.datetime(start.year, start.month, start.day)
        starts = list(rrulestr(rule, dtstart=base))[:5000]
        if not isinstance(start, dt.datetime):
            starts = [s.date() for s in starts]
    ex = set()
    exd = ev.get("EXDATE", [])
    for prop in exd if isinstance(exd, list) else [exd]:
        tz = zone_of(prop.params.get("TZID"))
        for item in prop.to_ical().decode().split(","):
            t = dt.datetime.strptime(item[:15], "%Y%m%dT%H%M%S")
            ex.add(instant(t, dt.timezone.utc if item.endswith("Z") else tz))
    return [(s, z, length, str(ev.get("SUMMARY", "")))
            for s in starts if instant(s, z) not in ex]


def main():
    cal = icalendar.Calendar.from_ical(open(sys.argv[1], "rb").read())
    masters, overrides = {}, {}
    for ev in cal.walk("VEVENT"):
        if "RECURRENCE-ID" in ev:
            r, rz = value(ev["RECURRENCE-ID"])
            overrides[(str(ev["UID"]), instant(r, rz))] = ev
        else:
            masters[str(ev["UID"])] = ev
    items = []
    for uid, ev in masters.items():
        for s, z, length, summ in occurrences(ev):
            o = overrides.pop((uid, instant(s, z)), None)
            if o is not None:
                items += occurrences(o)
            else:
                items.append((s, z, length, summ))
    for o in overrides.values():
        items += occurrences(o)
    out = []
    for d in sys.argv[3:]:
        day = dt.date.fromisoformat(d)
        lo = dt.datetime(day.year, day.month, day.day, tzinfo=ZONE)
        n = day + dt.timedelta(days=1)
        hi = dt.datetime(n.year, n.month, n.day, tzinfo=ZONE)
        for s, z, length, summ in items:
            a = instant(s, z)
            if isinstance(s, dt.datetime):
                b = a + length
                if a < hi and (b > lo or (a == b and a >= lo)):
                    loc = a.astimezone(ZONE)
                    out.append((d, 1, loc, "%s %d:%02d %s"
                                % (d, loc.hour, loc.minute, summ)))
            else:
                end = s + (length if length else dt.timedelta(days=1))
                if s <= day < end:
                    out.append((d, 0, a, "%s all day %s" % (d, summ)))
    for row in sorted(out, key=lambda r: (r[0], r[1], r[2], r[3])):
        print(row[3])


main()
