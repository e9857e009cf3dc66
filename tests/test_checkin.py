"""Appointment holders checking in at the kiosk: by QR payload or by typed reference."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loket import codes
from loket.config import default_config_text
from loket.engine import Engine
from loket.errors import Refused

pytestmark = pytest.mark.backends


@pytest.fixture
def booking(office, clock):
    """An appointment for service B at 09:30 local (08:30 UTC), half an hour from now."""
    return office.add_appointment("B", clock.now + timedelta(minutes=30), name="An Peeters")


def snapshot(engine):
    """Everything a check-in could change."""
    return [
        engine.store._q(f"SELECT * FROM {table} ORDER BY 1").fetchall()
        for table in ("tickets", "appointments", "events")
    ]


def test_reference_looks_like_xxxx_xxxx_without_look_alike_characters(booking):
    assert len(booking.display_reference) == 9 and booking.display_reference[4] == "-"
    assert not set(booking.reference) & set("01ILOUV")


def test_scanned_qr_payload_gives_an_appointment_ticket(office, booking):
    result = office.check_in(booking.qr_payload)
    assert result.outcome == "accepted"
    ticket = result.receipt.ticket
    assert (ticket.number, ticket.kind, ticket.appointment_at) == (
        "R001",
        "appointment",
        booking.starts_at,
    )


@pytest.mark.parametrize("typed", ["{ref}", "{low}", "{dash}", " {spaced} "])
def test_typed_reference_is_accepted_in_any_case_with_or_without_dash_or_spaces(
    office, booking, typed
):
    ref = booking.reference
    text = typed.format(
        ref=ref,
        low=booking.display_reference.lower(),
        dash=booking.display_reference,
        spaced=f"{ref[:4]} {ref[4:]}",
    )
    assert office.check_in(text).outcome == "accepted"


def test_checking_in_twice_gives_the_same_ticket_never_a_second(office, booking):
    first = office.check_in(booking.qr_payload).receipt.ticket
    again = office.check_in(booking.display_reference)
    assert again.outcome == "already_checked_in" and again.receipt.ticket.id == first.id
    assert len(office.store.all_tickets()) == 1


def test_a_served_visitor_scanning_again_is_told_so_without_a_place_in_line(office, booking):
    office.check_in(booking.qr_payload)
    office.call_next("1")
    office.finish("1")
    before = snapshot(office)
    again = office.check_in(booking.qr_payload)
    assert (again.outcome, again.number, again.receipt) == ("already_served", "R001", None)
    assert snapshot(office) == before


@pytest.mark.parametrize("end", ["no_show", "call_only"])
def test_a_visitor_already_called_is_sent_to_the_desk_not_back_in_line(office, booking, end):
    office.check_in(booking.qr_payload)
    office.call_next("1")
    if end == "no_show":
        office.no_show("1")
    again = office.check_in(booking.display_reference)
    assert (again.outcome, again.number, again.receipt) == ("missed", "R001", None)


def test_yesterdays_checked_in_qr_scanned_today_is_another_day(office, clock, booking):
    office.check_in(booking.qr_payload)
    clock.advance(days=1)
    again = office.check_in(booking.qr_payload)
    assert (again.outcome, again.day, again.receipt) == ("other_day", booking.day, None)


def test_too_early_says_from_what_time_and_changes_nothing(office, clock):
    booking = office.add_appointment("B", clock.now + timedelta(minutes=31))
    before = snapshot(office)
    result = office.check_in(booking.qr_payload)
    assert result.outcome == "too_early" and result.receipt is None
    assert result.allowed_from == clock.now + timedelta(minutes=1)
    assert snapshot(office) == before


def test_exactly_early_minutes_before_is_welcome(office, clock, booking):
    assert office.check_in(booking.reference).outcome == "accepted"


def test_too_late_gets_a_walk_in_ticket_for_the_same_service(office, clock, booking):
    clock.advance(minutes=30 + 16)
    result = office.check_in(booking.reference)
    assert result.outcome == "too_late"
    assert (result.receipt.ticket.kind, result.receipt.ticket.service) == ("walk_in", "B")
    assert office.check_in(booking.reference).receipt.ticket.id == result.receipt.ticket.id


def test_too_late_is_refused_when_the_office_says_so(new_database, clock):
    config = default_config_text().replace('late_action = "walk_in"', 'late_action = "refuse"')
    with Engine(new_database(), clock=clock) as engine:
        engine.init(config)
        booking = engine.add_appointment("A", clock.now - timedelta(minutes=20))
        before = snapshot(engine)
        result = engine.check_in(booking.reference)
        assert (result.outcome, result.receipt) == ("too_late", None)
        assert snapshot(engine) == before


def test_appointment_on_another_day_says_which_day(office, clock):
    booking = office.add_appointment("A", clock.now + timedelta(days=2))
    result = office.check_in(booking.qr_payload)
    assert (result.outcome, result.day, result.receipt) == ("other_day", "2026-12-03", None)


def test_cancelled_appointment_is_refused(office, clock):
    from loket.imports import Row

    office.import_appointments(
        [Row("line 2", "u1", "A", clock.now + timedelta(minutes=5), None, False)]
    )
    office.import_appointments(
        [Row("line 2", "u1", "A", clock.now + timedelta(minutes=5), None, True)]
    )
    (booking,) = office.appointments("2026-12-01")
    assert office.check_in(booking.reference).outcome == "cancelled"


def test_re_import_with_the_same_uid_updates_instead_of_duplicating(office, clock):
    from loket.imports import Row

    first = office.import_appointments([Row("line 2", "u1", "A", clock.now, "Jan", False)])
    again = office.import_appointments(
        [Row("line 2", "u1", "B", clock.now + timedelta(hours=1), "Jan", False)]
    )
    assert (first["added"], again["updated"]) == (1, 1)
    (booking,) = office.appointments()
    assert (booking.service, booking.starts_at) == ("B", clock.now + timedelta(hours=1))


def test_a_forged_tag_is_not_recognised_and_changes_nothing(office, booking):
    forged = booking.qr_payload[:-1] + ("A" if booking.qr_payload[-1] != "A" else "B")
    before = snapshot(office)
    assert office.check_in(forged).outcome == "not_recognised"
    assert snapshot(office) == before


def test_a_payload_signed_by_another_office_is_not_recognised(office, booking):
    other = codes.qr_payload(codes.new_secret(), booking.reference, booking.day)
    assert office.check_in(other).outcome == "not_recognised"


def test_unknown_reference_is_not_recognised(office):
    assert office.check_in("ABCD-EFGH").outcome == "not_recognised"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.one_of(
        st.text(), st.text(alphabet=codes.ALPHABET + "LK0123456789-", min_size=30, max_size=40)
    )
)
def test_any_garbage_is_not_recognised_and_changes_nothing(office, booking, text):
    before = snapshot(office)
    assert office.check_in(text).outcome == "not_recognised"
    assert snapshot(office) == before


def test_the_secret_is_made_at_init_and_never_in_a_payload(office, booking):
    secret = office.store.setting("qr_secret")
    assert len(secret) == 64 and secret not in booking.qr_payload


def test_personal_names_are_erased_after_retention_days_but_facts_stay(office, clock, booking):
    office.check_in(booking.reference)
    clock.advance(days=31)
    assert office.purge() == 1
    (kept,) = office.appointments("2026-12-01")
    assert kept.name is None and kept.checked_in and kept.service == "B"


def test_purge_keeps_recent_names(office, booking):
    assert office.purge() == 0
    assert office.appointments()[0].name == "An Peeters"


def test_appointments_are_refused_for_a_service_without_them(new_database, clock):
    config = (
        default_config_text()
        .replace("minutes = 8\n", "minutes = 8\n", 1)
        .replace("appointments = true\nminutes = 8", "appointments = false\nminutes = 8")
    )
    with Engine(new_database(), clock=clock) as engine:
        engine.init(config)
        with pytest.raises(Refused, match="does not take appointments"):
            engine.add_appointment("A", clock.now)


def test_a_late_check_in_does_not_count_its_own_appointment_as_work_ahead(office, clock):
    """Within the grace after its slot, the appointment is not also booked work before it."""
    booking = office.add_appointment("B", clock.now)
    clock.advance(minutes=10)  # 10 minutes late, within late_minutes
    office.open_desk("1", session="clerk")
    first = office.check_in(booking.reference).receipt
    again = office.check_in(booking.reference).receipt  # read back from the stored ticket
    assert first.ticket.number == again.ticket.number
    assert first.estimated_wait_minutes == again.estimated_wait_minutes == 0


def test_a_new_appointment_is_news_to_the_screens(office, db_path, clock):
    """Adding one changes the estimates: the kiosk and counters must learn of it."""
    watcher = Engine(db_path, clock=clock)
    try:
        watcher.store.data_version()
        before = watcher.store.data_version()
        office.add_appointment("A", clock.now + timedelta(minutes=30))
        for _ in range(50):  # PostgreSQL's NOTIFY arrives over the socket
            if watcher.store.data_version() != before:
                break
            time.sleep(0.02)
        assert watcher.store.data_version() != before
    finally:
        watcher.close()
