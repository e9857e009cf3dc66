"""Dutch (Flemish) visitor texts."""

WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
DAY_FORMAT = "{weekday} {day} {month}"

TEXTS: dict[str, str] = {
    "language_name": "Nederlands",
    "report_title": "Loketrapport",
    "report_issued": {"one": "{count} ticket uitgegeven", "other": "{count} tickets uitgegeven"},
    "report_served": {"one": "{count} bezoeker geholpen", "other": "{count} bezoekers geholpen"},
    "report_no_shows": {
        "one": "{count} bezoeker niet opgedaagd",
        "other": "{count} bezoekers niet opgedaagd",
    },
    "report_mean_wait": "gemiddeld {minutes} min gewacht",
    "report_on_time": "opgeroepen binnen {minutes} min",
    "report_arrivals_title": "Aankomsten per uur, gemiddeld per dag",
    "report_waits_title": "Gemiddelde wachttijd in minuten, per uur van aankomst",
    "report_on_time_title": "Opgeroepen binnen {minutes} min, per dag",
    "report_service_time_title": "Gemiddelde behandelingstijd per dienst",
    "report_no_shows_title": "Niet opgedaagd, per dienst",
    "report_hour": "uur",
    "report_nothing": "Niets te tonen voor deze periode.",
    "report_explained": "Wachttijd: van ticket tot eerste oproep. Behandelingstijd: van oproep tot afgehandeld.",
    "welcome": "Welkom",
    "choose_service": "Raak een dienst aan om een ticket te nemen",
    "wait_minutes": "Ongeveer {minutes} min wachten",
    "wait_unknown": "Wachttijd onbekend",
    "closed_until": "Gesloten · opent {when}",
    "closed": "Gesloten",
    "limit_reached": "Geen tickets meer vandaag",
    "have_appointment": "Ik heb een afspraak",
    "scan_hint": "Afspraak? Hou uw QR-code voor de scanner.",
    "your_number": "Uw nummer",
    "position": "Plaats in de rij: {position}",
    "estimated_wait": "Geschatte wachttijd: {minutes} min",
    "issued_on": "{day} om {time}",
    "take_ticket": "Neem uw ticket.",
    "note_number": "De printer werkt niet. Onthoud uw nummer.",
    "watch_screen": "Kijk naar het scherm: wij roepen uw nummer af.",
    "touch_to_continue": "Raak het scherm aan om verder te gaan",
    "priority_title": "Kunt u niet rechtstaan terwijl u wacht?",
    "priority_button": "Voorrangsticket",
    "priority_explained": "Voor bezoekers die niet kunnen rechtstaan terwijl ze wachten",
    "normal_button": "Gewoon ticket",
    "appointment_title": "Meld u aan voor uw afspraak",
    "scan_or_type": "Scan uw QR-code of typ uw referentie.",
    "reference_example": "Uw referentie ziet eruit als ABCD-EF23.",
    "check_in": "Aanmelden",
    "erase": "Wissen",
    "back": "Terug",
    "checkin_accepted": "Welkom. Uw afspraak is om {time}.",
    "checkin_already": "U bent al aangemeld.",
    "checkin_too_early": "U bent te vroeg. U kunt zich aanmelden vanaf {time}.",
    "checkin_too_late_ticket": "Uw afspraak was om {time}. U krijgt een gewoon ticket.",
    "checkin_too_late_refused": "Uw afspraak was om {time}. Het is te laat. Vraag het aan het onthaal.",
    "checkin_other_day": "Uw afspraak is op {day}, niet vandaag.",
    "checkin_cancelled": "Deze afspraak is geannuleerd. Vraag het aan het onthaal.",
    "checkin_served": "U bent al geholpen (nummer {ticket}). Voor iets anders neemt u een nieuw ticket.",
    "checkin_missed": "Uw nummer {ticket} werd al afgeroepen. Vraag het aan het onthaal.",
    "own_ticket": "Dit is een wachtticket. Kijk naar het scherm voor uw nummer.",
    "checkin_not_recognised": "Wij herkennen deze code niet. Ga naar het onthaal.",
    "ticket_refused": "Wij kunnen u nu geen ticket geven. Vraag het aan het onthaal.",
    "office_closed": "Wij zijn gesloten.",
    "office_opens": "Wij openen {when}.",
    "today_at": "vandaag om {time}",
    "on_day_at": "op {day} om {time}",
    "unavailable": "Even geduld. De ticketautomaat werkt zo weer.",
    "staff_pin": "Personeel: geef de pincode in om de kiosk te sluiten",
    "print_footer": "Wacht tot uw nummer op het scherm verschijnt.",
    "announce_call": "Nummer {series} {number}, loket {counter}.",
    "display_now": "Nu aan de beurt",
    "display_counter": "Loket",
    "display_earlier": "Eerder opgeroepen",
    "display_waiting": "Wachtend",
    "display_unavailable": "Een ogenblik geduld. Het scherm is zo terug.",
    "display_no_calls": "Nog niemand opgeroepen",
}

_UNITS = [
    "nul",
    "een",
    "twee",
    "drie",
    "vier",
    "vijf",
    "zes",
    "zeven",
    "acht",
    "negen",
    "tien",
    "elf",
    "twaalf",
    "dertien",
    "veertien",
    "vijftien",
    "zestien",
    "zeventien",
    "achttien",
    "negentien",
]
_TENS = [
    "_",
    "_",
    "twintig",
    "dertig",
    "veertig",
    "vijftig",
    "zestig",
    "zeventig",
    "tachtig",
    "negentig",
]


def number_words(number: int) -> str:
    """A whole number from 0 to 9999 as it is said: 12 -> "twaalf", 22 -> "tweeëntwintig"."""
    if number == 1:
        return "één"  # alone it is stressed; "een" would be read as the article
    if number < 20:
        return _UNITS[number]
    if number < 100:
        tens, unit = divmod(number, 10)
        if not unit:
            return _TENS[tens]
        joint = "ën" if _UNITS[unit].endswith("e") else "en"
        return _UNITS[unit] + joint + _TENS[tens]
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        head = "honderd" if hundreds == 1 else _UNITS[hundreds] + "honderd"
        return head + (_compound(rest) if rest else "")
    thousands, rest = divmod(number, 1000)
    head = "duizend" if thousands == 1 else _compound(thousands) + "duizend"
    return head + (" " + _compound(rest) if rest else "")


def _compound(number: int) -> str:
    return "een" if number == 1 else number_words(number)
