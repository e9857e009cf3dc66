"""The office configuration: a broken file is refused whole, with the key at fault named."""

from __future__ import annotations

import pytest

from loket.config import NoShowPolicy, RoutingRules, default_config_text, load_config
from loket.engine import Engine
from loket.errors import ConfigError


def test_the_demo_office_has_four_services_each_served_by_two_counters_or_more():
    office = load_config(default_config_text())
    assert list(office.services) == ["A", "B", "C", "D"]
    assert all(len(office.counters_serving(code)) >= 2 for code in office.services)
    assert office.timezone.key == "Europe/Brussels" and office.languages[0] == "nl"


def test_data_folder_and_package_share_one_config_file():
    from pathlib import Path

    link = Path(__file__).parent.parent / "data" / "office.toml"
    assert link.is_symlink() and link.read_text() == default_config_text()


def test_defaults_for_what_the_config_leaves_out():
    office = load_config(
        'office = "Gemeentehuis"\n[[services]]\ncode = "A"\nname = "Alles"\n'
        '[[counters]]\nid = 1\nservices = ["A"]\n'
    )
    assert (
        office.checkin.early_minutes,
        office.checkin.late_minutes,
        office.checkin.late_action,
    ) == (30, 15, "walk_in")
    assert (office.target_wait_minutes, office.retention_days) == (15, 30)
    assert office.counters["1"].name == "Loket 1" and office.timezone.key == "Europe/Brussels"
    # A Flemish office: Dutch only unless it lists others, priority tickets off at the kiosk
    assert (office.languages, office.kiosk.priority) == (("nl",), False)
    assert office.services["A"].target_minutes == 15 and office.counters["1"].prefer == ()
    assert (office.routing, office.no_show, office.appointment_prefix) == (
        RoutingRules(priority_credit_minutes=20, appointment_lead_minutes=5, transfer="keep"),
        NoShowPolicy(requeue="behind", places=3, times=1, reinstate_minutes=30),
        "",
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('code = "A"', 'code = "a"'),
            "services[0].code: must be one or two capital letters, got 'a'",
        ),
        (('code = "B"', 'code = "A"'), "services[1].code: 'A' is used twice"),
        (
            ('timezone = "Europe/Brussels"', 'timezone = "Mars/Olympus"'),
            "timezone: unknown time zone 'Mars/Olympus'",
        ),
        (
            ('late_action = "walk_in"', 'late_action = "shout"'),
            "checkin.late_action: must be 'walk_in' or 'refuse'",
        ),
        (
            ("priority_credit_minutes = 20", "priority_credit_minutes = -1"),
            "routing.priority_credit_minutes: must be a whole number",
        ),
        (
            ('online = "https://www.example.be/eid"', 'online = "javascript:alert(1)"'),
            "services.A.online: must be a web address such as https://www.stad.be/eid",
        ),
        (
            ('public_url = ""', 'public_url = "loket.stad.be"'),
            "web.public_url: must be a web address",
        ),
        (("near_turn = 3 ", "near_turn = -1 "), "web.near_turn: must be a whole number from 0"),
        (
            ("more_time_places = 3", "more_time_places = 0"),
            "web.more_time_places: must be a whole number from 1 to 100",
        ),
        (("join = false", "join = 1"), "web.join: must be true or false, got 1"),
        (
            (
                'bring = { nl = ["Uw identiteitskaart", "Een recente pasfoto"], fr',
                'bring = { nl = "Uw identiteitskaart", fr',
            ),
            "services.A.bring.nl: must be a list of at most 6 texts",
        ),
        (
            (
                'bring = { nl = ["Uw identiteitskaart", "Een recente pasfoto"], fr',
                'bring = { xx = [], nl = ["Uw identiteitskaart"], fr',
            ),
            "services.A.bring.xx: not one of nl, fr, en, de",
        ),
        (
            (
                'bring = { nl = ["Uw identiteitskaart", "Een recente pasfoto"], fr',
                'bring = { nl = [""], fr',
            ),
            "services.A.bring.nl: must be a non-empty text",
        ),
        (
            ('transfer = "keep"', 'transfer = "front"'),
            "routing.transfer: must be one of 'keep', 'first', 'last', got 'front'",
        ),
        (
            ('requeue = "behind"', 'requeue = "later"'),
            "no_show.requeue: must be one of 'behind', 'original', 'none', got 'later'",
        ),
        (("times = 1 ", "times = 0 "), "no_show.times: must be a whole number from 1 to 10"),
        (("places = 3", "places = 0"), "no_show.places: must be a whole number from 1 to 1000"),
        (
            ('appointment_prefix = "R"', 'appointment_prefix = "A"'),
            "appointment_prefix: 'A' is already service A's code",
        ),
        (
            ('appointment_prefix = "R"', 'appointment_prefix = "r1"'),
            "appointment_prefix: must be one or two capital letters",
        ),
        (
            ('prefer = ["D"]', 'prefer = ["B"]'),
            "counters.4.prefer: 'B' is not one of the counter's services",
        ),
        (
            ('services = ["A", "B"]', 'services = ["A", "Q"]'),
            "counters.1.services: unknown service 'Q'",
        ),
        (
            ('languages = ["nl", "fr", "en", "de"]', 'languages = ["nl", "xx"]'),
            "languages: 'xx' is not one of",
        ),
        (("minutes = 8", 'minutes = "8"'), "services.A.minutes: must be a whole number"),
        (
            ("daily_limit = 40", 'daily_limit = 40\nhours = { mon = "9-12" }'),
            "services.C.hours.mon: '9-12' is not a range",
        ),
        (
            ("daily_limit = 40", 'daily_limit = 40\nhours = { maandag = "09:00-12:00" }'),
            "services.C.hours.maandag: not a weekday",
        ),
        (('office = "Stadhuis Demo"', 'ofice = "Stadhuis Demo"'), "ofice: unknown key"),
        (
            ('"rijbewijs" = "A"', '"rijbewijs" = "R"'),
            "appointments.categories.rijbewijs: unknown service 'R'",
        ),
        (('office = "Stadhuis Demo"', "office = ["), "not valid TOML"),
    ],
)
def test_an_invalid_config_names_the_key_and_the_problem(change, message):
    text = default_config_text().replace(*change, 1)
    assert text != default_config_text()
    with pytest.raises(ConfigError) as error:
        load_config(text)
    assert message in str(error.value)


def test_a_missing_name_in_a_configured_language_is_refused():
    text = default_config_text().replace(', de = "Standesamt"', "")
    with pytest.raises(ConfigError, match="services.C.name: no name in de"):
        load_config(text)


def test_a_service_no_counter_serves_is_refused():
    text = default_config_text().replace('services = ["B", "C", "D"]', 'services = ["B", "C"]')
    text = text.replace('services = ["D", "A"]\nprefer = ["D"]', 'services = ["A"]')
    with pytest.raises(ConfigError, match="services: D served by no counter"):
        load_config(text)


def test_init_with_an_invalid_config_changes_nothing(office):
    before = office.store.setting("config")
    with pytest.raises(ConfigError):
        office.init("office = 3")
    assert office.store.setting("config") == before


def test_init_again_is_safe_and_keeps_tickets_and_the_secret(office, db_path, clock):
    office.issue_ticket("A")
    secret = office.store.setting("qr_secret")
    office.init(default_config_text())
    with Engine(db_path, clock=clock) as again:
        again.init()
        assert again.store.setting("qr_secret") == secret
        assert [t.number for t in again.store.all_tickets()] == ["A001"]


def test_a_new_config_adds_and_removes_counters(office):
    text = default_config_text().replace('id = "4"\nname = "Loket 4"', 'id = "5"\nname = "Balie 5"')
    office.init(text)
    assert sorted(office.store.counters()) == ["1", "2", "3", "5"]
    assert office.counter_state("5").name == "Balie 5"


def test_init_without_a_config_keeps_the_office_already_loaded(office, db_path, clock):
    office.init(
        default_config_text().replace('office = "Stadhuis Demo"', 'office = "Gemeentehuis Zele"')
    )
    with Engine(db_path, clock=clock) as again:
        assert again.init().name == "Gemeentehuis Zele"


def test_the_database_keeps_the_validated_settings_as_json(office):
    import json

    stored = json.loads(office.store.setting("config"))
    assert stored["office"] == "Stadhuis Demo" and stored["services"][0]["code"] == "A"


# --- Wrong types, empty keywords, a BOM and very long names (issue 8, item 17) ---------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('services = ["A", "B"]', 'services = [["A"], "B"]'),
            "counters.1.services: must list service codes such as \"A\", got ['A']",
        ),
        (
            ('"rijbewijs" = "A"', '"rijbewijs" = ["A"]'),
            "appointments.categories.rijbewijs: must be a service code such as \"A\", got ['A']",
        ),
        (
            ('"rijbewijs" = "A"', '"" = "A"'),
            "appointments.categories: a keyword is empty; it would match every appointment",
        ),
        (
            ('"rijbewijs" = "A"', '"  " = "A"'),
            "appointments.categories: a keyword is empty; it would match every appointment",
        ),
        (
            ('office = "Stadhuis Demo"', f'office = "{"x" * 81}"'),
            "office: at most 80 characters, got 81",
        ),
        (
            ('name = "Loket 1"', f'name = "{"L" * 81}"'),
            "counters.1.name: at most 80 characters, got 81",
        ),
        (
            ('"rijbewijs" = "A"', f'"{"r" * 81}" = "A"'),
            "appointments.categories: the keyword 'rrrrrrrrrr...' has more than 80 characters",
        ),
        (
            ('message = "Welkom', f'message = "{"w" * 200}Welkom'),
            "display.message: at most 200 characters, got 241",
        ),
        (
            ('message = "Welkom', "message = 12 #"),
            "display.message: must be a text, got 12",
        ),
        (
            ('office = "Stadhuis Demo"', 'office = "Stadhuis\\u001b[2JDemo"'),
            "office: must not hold control characters such as tabs, line breaks or escapes",
        ),
    ],
)
def test_a_wrong_type_or_size_is_refused_naming_the_key(change, message):
    text = default_config_text().replace(*change, 1)
    assert text != default_config_text()
    with pytest.raises(ConfigError) as error:
        load_config(text)
    assert str(error.value) == f"invalid office config: {message}"


def test_a_service_name_given_as_a_list_is_refused():
    text = default_config_text().replace(
        'nl = "Identiteitskaart en paspoort"', 'nl = ["Identiteitskaart"]'
    )
    with pytest.raises(ConfigError) as error:
        load_config(text)
    assert str(error.value) == (
        "invalid office config: services.A.name.nl: must be a text, got ['Identiteitskaart']"
    )


def test_a_service_name_of_81_characters_is_refused():
    text = default_config_text().replace(
        'nl = "Identiteitskaart en paspoort"', f'nl = "{"p" * 81}"'
    )
    with pytest.raises(ConfigError) as error:
        load_config(text)
    assert str(error.value) == (
        "invalid office config: services.A.name.nl: at most 80 characters, got 81"
    )


def test_names_of_80_characters_are_accepted():
    text = default_config_text().replace('office = "Stadhuis Demo"', f'office = "{"x" * 80}"')
    assert load_config(text).name == "x" * 80


def test_a_config_saved_with_a_utf8_byte_order_mark_is_accepted():
    assert load_config("\ufeff" + default_config_text()).name == "Stadhuis Demo"


def test_an_office_stored_before_the_limits_still_opens_and_takes_a_fixed_config(
    office, db_path, clock
):
    import json

    stored = json.loads(office.store.setting("config"))
    stored["office"] = "x" * 100
    stored["appointments"]["categories"][""] = "A"
    with office.store.write():
        office.store.set_setting("config", json.dumps(stored))
    with Engine(db_path, clock=clock) as again:
        assert again.office.name == "x" * 100
        assert again.init(default_config_text()).name == "Stadhuis Demo"


def kiosk_line(line: str) -> str:
    """The demo office with its [kiosk] speech_key line replaced by `line`."""
    text = default_config_text()
    start = text.index("speech_key = ")
    return text[:start] + line + text[text.index("\n", start) :]


def test_speech_starts_with_0_unless_the_office_names_a_function_key():
    assert load_config(default_config_text()).kiosk.speech_key == "0"
    assert load_config(kiosk_line('speech_key = "F5"')).kiosk.speech_key == "f5"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'speech_key = "5"',
            "kiosk.speech_key: must be \"0\" or a function key f1 to f24, got '5'",
        ),
        (
            'speech_key = "a"',
            "kiosk.speech_key: must be \"0\" or a function key f1 to f24, got 'a'",
        ),
        ("speech_key = 0", 'kiosk.speech_key: must be "0" or a function key f1 to f24, got 0'),
        ('speech_key = "f12"', "kiosk.speech_key: f12 is one of the staff's exit_keys"),
    ],
)
def test_a_speech_key_that_a_visitor_types_or_staff_use_is_refused(line, message):
    with pytest.raises(ConfigError) as error:
        load_config(kiosk_line(line))
    assert str(error.value) == f"invalid office config: {message}"


def test_what_to_bring_and_the_online_address_per_service_and_language():
    office = load_config(default_config_text())
    passport = office.services["A"]
    assert passport.bring_in("fr") == ("Votre carte d'identité", "Une photo d'identité récente")
    assert passport.online_url == "https://www.example.be/eid"
    assert office.services["C"].bring_in("nl") == () and office.services["C"].online_url is None
    one_list = load_config(
        'office = "G"\nlanguages = ["nl", "fr"]\n[[services]]\ncode = "A"\nname = "Alles"\n'
        'bring = ["eID"]\n[[counters]]\nid = 1\nservices = ["A"]\n'
    )
    assert one_list.services["A"].bring == {"nl": ("eID",), "fr": ("eID",)}
    assert one_list.web.public_url == "" and not one_list.web.join


def test_the_public_address_loses_its_trailing_slash():
    text = default_config_text().replace('public_url = ""', 'public_url = "https://loket.stad.be/"')
    assert load_config(text).web.public_url == "https://loket.stad.be"


def test_a_line_break_in_what_to_bring_is_refused():
    text = default_config_text().replace('"Een recente pasfoto"', '"Een\\nfoto"')
    with pytest.raises(ConfigError, match="services.A.bring.nl: must not hold control characters"):
        load_config(text)


def test_what_to_bring_in_a_language_the_office_does_not_offer_is_ignored():
    text = default_config_text().replace(
        'languages = ["nl", "fr", "en", "de"]', 'languages = ["nl"]'
    )
    assert load_config(text).services["A"].bring == {
        "nl": ("Uw identiteitskaart", "Een recente pasfoto")
    }
