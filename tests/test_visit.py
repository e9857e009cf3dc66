"""The visitor's phone page and the web API's device tokens, as the engine keeps them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from loket import codes
from loket.engine import Engine
from loket.errors import Refused

pytestmark = pytest.mark.backends


def walk_ins(office: Engine, count: int, service: str = "A") -> list:
    """Tickets issued a few seconds apart, as visitors come in."""
    tickets = []
    for _ in range(count):
        tickets.append(office.issue_ticket(service).ticket)
        office.clock.advance(seconds=20)
    return tickets


def line(office: Engine, service: str = "A") -> list[str]:
    return [t.number for t in office.status(upcoming=50).waiting.get(service, [])]


def test_a_token_follows_its_ticket_from_waiting_to_called_to_done(office):
    first, second = walk_ins(office, 2)
    token = office.visitor_token(second)
    waiting = office.visit(token)
    assert (waiting.state, waiting.ticket.number, waiting.ahead) == ("waiting", "A002", 1)
    assert waiting.service_names["fr"] == "Carte d'identité et passeport"
    assert waiting.bring["en"] == ("Your ID card", "A recent passport photo")
    assert waiting.online_url == "https://www.example.be/eid"
    assert waiting.can_postpone and waiting.near_turn
    office.call_next("1")
    office.call_next("2")
    called = office.visit(token)
    assert (called.state, called.counter_name, called.ahead) == ("called", "Loket 2", 0)
    office.finish("2")
    assert office.visit(token).state == "done"


def test_the_estimate_and_place_match_the_receipt(office):
    receipts = [office.issue_ticket("B") for _ in range(5)]
    visit = office.visit(office.visitor_token(receipts[-1].ticket))
    assert visit.ahead == receipts[-1].position - 1 == 4
    assert visit.estimated_wait_minutes == receipts[-1].estimated_wait_minutes
    assert not visit.near_turn  # 4 ahead, the demo office alerts at 3


def test_a_forged_or_altered_token_is_refused_with_a_sentence(office):
    (ticket,) = walk_ins(office, 1)
    token = office.visitor_token(ticket)
    number, day, tag = token.split("-")
    forged = [
        f"{number}-{day}-{'A' * 16}",
        f"{int(number) + 1}-{day}-{tag}",  # another ticket's id with this one's signature
        f"{number}-20261202-{tag}",
        "1",
        "",
        "../../etc/passwd",
    ]
    for text in forged:
        with pytest.raises(Refused, match="not a ticket of this office"):
            office.visit(text)


def test_another_office_cannot_make_a_token_for_this_one(office, new_database, clock):
    (ticket,) = walk_ins(office, 1)
    with Engine(new_database(), clock=clock) as other:
        (theirs,) = walk_ins(other, 1)
        assert theirs.id == ticket.id
        with pytest.raises(Refused, match="not a ticket of this office"):
            office.visit(other.visitor_token(theirs))


def test_a_token_expires_at_the_end_of_its_service_day(office, clock):
    (ticket,) = walk_ins(office, 1)
    token = office.visitor_token(ticket)
    clock.advance(days=1)
    with pytest.raises(Refused, match="was for 2026-12-01: it is no longer valid"):
        office.visit(token)


def test_leaving_the_line_cancels_the_ticket_so_nobody_is_called_for_it(office):
    first, second, third = walk_ins(office, 3)
    left = office.leave_line(office.visitor_token(second))
    assert left.state == "cancelled"
    assert line(office) == ["A001", "A003"]
    with pytest.raises(Refused, match="A002 is not waiting"):
        office.leave_line(office.visitor_token(second))
    assert [e.action for e in office.events_after(0)][-1] == "cancel"


def test_more_time_lets_the_configured_number_of_tickets_pass_once(office):
    tickets = walk_ins(office, 7)
    token = office.visitor_token(tickets[1])
    moved = office.postpone(token)
    assert (moved.ahead, moved.can_postpone) == (4, False)  # A002 lets A003, A004, A005 pass
    assert line(office) == ["A001", "A003", "A004", "A005", "A002", "A006", "A007"]
    with pytest.raises(Refused, match="moved back once already"):
        office.postpone(token)
    assert line(office)[4] == "A002"
    assert office.visit(token).ticket.number == "A002"  # its number never changes


def test_more_time_near_the_end_of_the_line_goes_last_but_not_behind_a_newcomer(office, clock):
    tickets = walk_ins(office, 3)
    office.postpone(office.visitor_token(tickets[1]))
    assert line(office) == ["A001", "A003", "A002"]
    clock.advance(minutes=1)
    (newcomer,) = walk_ins(office, 1)
    assert line(office) == ["A001", "A003", "A002", "A004"]


def test_more_time_for_a_ticket_not_waiting_is_refused(office):
    (ticket,) = walk_ins(office, 1)
    office.call_next("1")
    with pytest.raises(Refused, match="A001 is not waiting"):
        office.postpone(office.visitor_token(ticket))


def test_the_phone_page_link_needs_the_office_public_address(office):
    (ticket,) = walk_ins(office, 1)
    assert office.visitor_url(ticket, "fr") is None
    office.public_url = "https://loket.stad.be/"
    url = office.visitor_url(ticket, "fr")
    assert url == f"https://loket.stad.be/t/{office.visitor_token(ticket)}?lang=fr"
    assert codes.read_visitor_token(office._secret(), url.split("/t/")[1].split("?")[0])


def test_a_device_token_is_stored_hashed_and_stops_working_when_revoked(office):
    secret = office.create_device_token("kiosk", "hall tablet")
    assert office.device_role(secret) == "kiosk"
    (token,) = office.device_tokens()
    assert (token.role, token.name, token.revoked_at) == ("kiosk", "hall tablet", None)
    _, rows = office.store.table_rows("device_tokens")
    assert secret not in repr(list(rows))
    assert office.device_role(secret + "x") is None and office.device_role("") is None
    revoked = office.revoke_device_token(token.id)
    assert revoked.revoked_at is not None
    assert office.device_role(secret) is None
    assert office.revoke_device_token(token.id).revoked_at == revoked.revoked_at


def test_device_tokens_refuse_an_unknown_role_or_id(office):
    with pytest.raises(Refused, match="unknown role 'admin'"):
        office.create_device_token("admin")
    with pytest.raises(Refused, match="no token 7"):
        office.revoke_device_token(7)
    assert office.device_tokens() == []


def test_more_time_among_tickets_due_at_one_moment_lets_them_all_pass(office):
    tickets = [office.issue_ticket("A").ticket for _ in range(6)]  # the clock stands still
    assert office.postpone(office.visitor_token(tickets[0])).ahead == 5
    assert line(office) == ["A002", "A003", "A004", "A005", "A006", "A001"]


def test_more_time_never_brings_a_ticket_forward(office, clock):
    office.add_appointment("A", clock.now + timedelta(hours=3), name="Jan")
    (appointment,) = office.appointments()
    clock.advance(hours=2, minutes=30)  # early: due after walk-ins who come now
    ticket = office.check_in(appointment.reference).receipt.ticket
    walk_ins(office, 2)
    moved = office.postpone(office.visitor_token(ticket))
    assert office.ticket(ticket.number).due_at > ticket.due_at
    assert moved.ahead == 2


def test_a_ticket_has_one_token_spelling(office):
    (ticket,) = walk_ins(office, 1)
    token = office.visitor_token(ticket)
    number, day, tag = token.split("-")
    assert office.visit(token).ticket.number == "A001"
    for other in (f"0{number}-{day}-{tag}", f"{number}-{day}-{tag.lower()}", f" {token}"):
        with pytest.raises(Refused, match="not a ticket of this office"):
            office.visit(other)
    arabic_one = "\u0661"  # a digit to str.isdigit(), not to a URL
    with pytest.raises(Refused, match="not a ticket of this office"):
        office.visit(f"{arabic_one}-{day}-{tag}")


def test_token_create_names_the_token_it_made_and_revoke_wants_plain_digits(
    office, db_path, capsys, clock
):
    from loket.cli import main

    office.create_device_token("counter", "desk 4")
    assert (
        main(["--db", str(db_path), "--json", "token", "create", "--role", "kiosk"], clock=clock)
        == 0
    )
    made = json.loads(capsys.readouterr().out)
    assert (made["id"], made["role"], made["name"]) == (2, "kiosk", "kiosk")
    assert office.device_token_for(made["secret"]).id == 2
    assert main(["--db", str(db_path), "token", "revoke", "\u00b2"], clock=clock) == 1
    assert "'²' is not a token id" in capsys.readouterr().err
    assert all(t.revoked_at is None for t in office.device_tokens())
