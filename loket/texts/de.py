"""German visitor texts."""

WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
MONTHS = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)
DAY_FORMAT = "{weekday}, {day}. {month}"

TEXTS: dict[str, str] = {
    "language_name": "Deutsch",
    "report_title": "Schalterbericht",
    "report_issued": {"one": "{count} Ticket ausgegeben", "other": "{count} Tickets ausgegeben"},
    "report_served": {"one": "{count} Besucher bedient", "other": "{count} Besucher bedient"},
    "report_no_shows": {
        "one": "{count} Besucher nicht erschienen",
        "other": "{count} Besucher nicht erschienen",
    },
    "report_mean_wait": "durchschnittlich {minutes} Min. gewartet",
    "report_on_time": "innerhalb von {minutes} Min. aufgerufen",
    "report_arrivals_title": "Ankünfte pro Stunde, Durchschnitt pro Tag",
    "report_waits_title": "Durchschnittliche Wartezeit in Minuten, nach Ankunftsstunde",
    "report_on_time_title": "Innerhalb von {minutes} Min. aufgerufen, pro Tag",
    "report_service_time_title": "Durchschnittliche Bearbeitungszeit pro Dienst",
    "report_no_shows_title": "Nicht erschienen, pro Dienst",
    "report_hour": "Uhrzeit",
    "report_nothing": "Für diesen Zeitraum gibt es nichts anzuzeigen.",
    "report_explained": "Wartezeit: vom Ticket bis zum ersten Aufruf. Bearbeitung: vom Aufruf bis zum Abschluss.",
    "welcome": "Willkommen",
    "choose_service": "Tippen Sie auf einen Dienst, um ein Ticket zu ziehen",
    "wait_minutes": "Etwa {minutes} Min. Wartezeit",
    "wait_unknown": "Wartezeit unbekannt",
    "closed_until": "Geschlossen · öffnet {when}",
    "closed": "Geschlossen",
    "limit_reached": "Heute keine Tickets mehr",
    "have_appointment": "Ich habe einen Termin",
    "scan_hint": "Termin? Halten Sie Ihren QR-Code vor den Scanner.",
    "your_number": "Ihre Nummer",
    "position": "Platz in der Warteschlange: {position}",
    "estimated_wait": "Geschätzte Wartezeit: {minutes} Min.",
    "issued_on": "{day} um {time} Uhr",
    "take_ticket": "Bitte nehmen Sie Ihr Ticket.",
    "note_number": "Der Drucker funktioniert nicht. Bitte merken Sie sich Ihre Nummer.",
    "watch_screen": "Achten Sie auf den Bildschirm: Wir rufen Ihre Nummer auf.",
    "touch_to_continue": "Tippen Sie auf den Bildschirm, um fortzufahren",
    "priority_title": "Können Sie nicht im Stehen warten?",
    "priority_button": "Vorrangticket",
    "priority_explained": "Für Besucher, die nicht im Stehen warten können",
    "normal_button": "Normales Ticket",
    "appointment_title": "Melden Sie sich für Ihren Termin an",
    "scan_or_type": "Scannen Sie Ihren QR-Code oder tippen Sie Ihre Referenz ein.",
    "reference_example": "Ihre Referenz sieht so aus: ABCD-EF23.",
    "check_in": "Anmelden",
    "erase": "Löschen",
    "back": "Zurück",
    "checkin_accepted": "Willkommen. Ihr Termin ist um {time} Uhr.",
    "checkin_already": "Sie sind bereits angemeldet.",
    "checkin_too_early": "Sie sind zu früh. Sie können sich ab {time} Uhr anmelden.",
    "checkin_too_late_ticket": "Ihr Termin war um {time} Uhr. Sie erhalten ein normales Ticket.",
    "checkin_too_late_refused": "Ihr Termin war um {time} Uhr. Es ist zu spät. Bitte fragen Sie am Empfang.",
    "checkin_other_day": "Ihr Termin ist am {day}, nicht heute.",
    "checkin_cancelled": "Dieser Termin wurde abgesagt. Bitte fragen Sie am Empfang.",
    "checkin_served": "Sie wurden bereits bedient (Nummer {ticket}). Für etwas anderes ziehen Sie eine neue Nummer.",
    "checkin_missed": "Ihre Nummer {ticket} wurde bereits aufgerufen. Bitte fragen Sie am Empfang.",
    "own_ticket": "Das ist eine Wartenummer. Achten Sie auf den Bildschirm.",
    "checkin_not_recognised": "Wir erkennen diesen Code nicht. Bitte gehen Sie zum Empfang.",
    "ticket_refused": "Wir können Ihnen jetzt kein Ticket geben. Bitte fragen Sie am Empfang.",
    "office_closed": "Wir haben geschlossen.",
    "office_opens": "Wir öffnen {when}.",
    "today_at": "heute um {time} Uhr",
    "on_day_at": "am {day} um {time} Uhr",
    "unavailable": "Einen Moment bitte. Der Ticketautomat ist gleich wieder da.",
    "staff_pin": "Personal: PIN eingeben, um den Kiosk zu schließen",
    "print_footer": "Bitte warten Sie, bis Ihre Nummer auf dem Bildschirm erscheint.",
    "announce_call": "Nummer {series} {number}, Schalter {counter}.",
    "display_now": "Jetzt an der Reihe",
    "display_counter": "Schalter",
    "display_earlier": "Zuvor aufgerufen",
    "display_waiting": "Wartend",
    "display_unavailable": "Einen Moment bitte. Der Bildschirm ist gleich wieder da.",
    "display_no_calls": "Noch niemand aufgerufen",
}

_UNITS = [
    "null",
    "eins",
    "zwei",
    "drei",
    "vier",
    "fünf",
    "sechs",
    "sieben",
    "acht",
    "neun",
    "zehn",
    "elf",
    "zwölf",
    "dreizehn",
    "vierzehn",
    "fünfzehn",
    "sechzehn",
    "siebzehn",
    "achtzehn",
    "neunzehn",
]
_TENS = [
    "_",
    "_",
    "zwanzig",
    "dreißig",
    "vierzig",
    "fünfzig",
    "sechzig",
    "siebzig",
    "achtzig",
    "neunzig",
]


def number_words(number: int) -> str:
    """A whole number from 0 to 9999 as it is said: 21 -> "einundzwanzig"."""
    if number < 20:
        return _UNITS[number]
    if number < 100:
        tens, unit = divmod(number, 10)
        return (_prefix(unit) + "und" if unit else "") + _TENS[tens]
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return _prefix(hundreds) + "hundert" + (number_words(rest) if rest else "")
    thousands, rest = divmod(number, 1000)
    return _prefix(thousands) + "tausend" + (number_words(rest) if rest else "")


def _prefix(number: int) -> str:
    """A number in front of another word: "ein", not "eins"."""
    return "ein" if number == 1 else number_words(number)
