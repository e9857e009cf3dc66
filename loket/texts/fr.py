"""French visitor texts."""

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
DAY_FORMAT = "{weekday} {day} {month}"
# French writes the first of the month as an ordinal: "lundi 1er décembre".
FIRST_OF_MONTH = "1er"

TEXTS: dict[str, str] = {
    "language_name": "Français",
    "report_title": "Rapport des guichets",
    "report_issued": {"one": "{count} ticket délivré", "other": "{count} tickets délivrés"},
    "report_served": {"one": "{count} visiteur servi", "other": "{count} visiteurs servis"},
    "report_no_shows": {
        "one": "{count} visiteur absent à l'appel",
        "other": "{count} visiteurs absents à l'appel",
    },
    "report_mean_wait": "attente moyenne de {minutes} min",
    "report_on_time": "appelés dans les {minutes} min",
    "report_arrivals_title": "Arrivées par heure, moyenne par jour",
    "report_waits_title": "Attente moyenne en minutes, selon l'heure d'arrivée",
    "report_on_time_title": "Appelés dans les {minutes} min, par jour",
    "report_service_time_title": "Durée moyenne de traitement par service",
    "report_no_shows_title": "Absents à l'appel, par service",
    "report_hour": "heure",
    "report_nothing": "Rien à afficher pour cette période.",
    "report_explained": "Attente : du ticket au premier appel. Traitement : de l'appel à la fin du passage.",
    "welcome": "Bienvenue",
    "choose_service": "Touchez un service pour prendre un ticket",
    "wait_minutes": "Environ {minutes} min d'attente",
    "wait_unknown": "Temps d'attente inconnu",
    "closed_until": "Fermé · ouvre {when}",
    "closed": "Fermé",
    "limit_reached": "Plus de tickets aujourd'hui",
    "have_appointment": "J'ai un rendez-vous",
    "scan_hint": "Rendez-vous ? Présentez votre code QR devant le scanner.",
    "your_number": "Votre numéro",
    "position": "Place dans la file : {position}",
    "estimated_wait": "Attente estimée : {minutes} min",
    "issued_on": "{day} à {time}",
    "take_ticket": "Veuillez prendre votre ticket.",
    "note_number": "L'imprimante ne fonctionne pas. Retenez bien votre numéro.",
    "watch_screen": "Regardez l'écran : nous appellerons votre numéro.",
    "touch_to_continue": "Touchez l'écran pour continuer",
    "priority_title": "Vous ne pouvez pas attendre debout ?",
    "priority_button": "Ticket prioritaire",
    "priority_explained": "Pour les visiteurs qui ne peuvent pas attendre debout",
    "normal_button": "Ticket normal",
    "appointment_title": "Signalez votre arrivée pour votre rendez-vous",
    "scan_or_type": "Scannez votre code QR ou tapez votre référence.",
    "reference_example": "Votre référence ressemble à ABCD-EF23.",
    "check_in": "Valider",
    "erase": "Effacer",
    "back": "Retour",
    "checkin_accepted": "Bienvenue. Votre rendez-vous est à {time}.",
    "checkin_already": "Votre arrivée est déjà enregistrée.",
    "checkin_too_early": "Vous êtes en avance. Vous pouvez vous présenter à partir de {time}.",
    "checkin_too_late_ticket": "Votre rendez-vous était à {time}. Vous recevez un ticket normal.",
    "checkin_too_late_refused": "Votre rendez-vous était à {time}. Il est trop tard. Adressez-vous à l'accueil.",
    "checkin_other_day": "Votre rendez-vous est le {day}, pas aujourd'hui.",
    "checkin_cancelled": "Ce rendez-vous a été annulé. Adressez-vous à l'accueil.",
    "checkin_served": "Vous avez déjà été servi (numéro {ticket}). Pour autre chose, prenez un nouveau ticket.",
    "checkin_missed": "Votre numéro {ticket} a déjà été appelé. Adressez-vous à l'accueil.",
    "own_ticket": "Ceci est un ticket d'attente. Regardez l'écran pour votre numéro.",
    "checkin_not_recognised": "Nous ne reconnaissons pas ce code. Adressez-vous à l'accueil.",
    "ticket_refused": "Nous ne pouvons pas vous donner de ticket maintenant. Adressez-vous à l'accueil.",
    "office_closed": "Nous sommes fermés.",
    "office_opens": "Nous ouvrons {when}.",
    "today_at": "aujourd'hui à {time}",
    "on_day_at": "le {day} à {time}",
    "unavailable": "Un instant, s'il vous plaît. La borne revient bientôt.",
    "staff_pin": "Personnel : entrez le code PIN pour fermer la borne",
    "print_footer": "Veuillez attendre que votre numéro s'affiche à l'écran.",
    "announce_call": "Numéro {series} {number}, guichet {counter}.",
    "display_now": "Appel en cours",
    "display_counter": "Guichet",
    "display_earlier": "Appels précédents",
    "display_waiting": "En attente",
    "display_unavailable": "Un instant s'il vous plaît. L'écran revient tout de suite.",
    "display_no_calls": "Pas encore d'appel",
}

_UNITS = [
    "zéro",
    "un",
    "deux",
    "trois",
    "quatre",
    "cinq",
    "six",
    "sept",
    "huit",
    "neuf",
    "dix",
    "onze",
    "douze",
    "treize",
    "quatorze",
    "quinze",
    "seize",
    "dix-sept",
    "dix-huit",
    "dix-neuf",
]
# Belgian French: septante and nonante, but quatre-vingts.
_TENS = [
    "_",
    "_",
    "vingt",
    "trente",
    "quarante",
    "cinquante",
    "soixante",
    "septante",
    "quatre-vingt",
    "nonante",
]


def number_words(number: int) -> str:
    """A whole number from 0 to 9999 as said in Belgium: 71 -> "septante et un"."""
    if number < 20:
        return _UNITS[number]
    if number < 100:
        tens, unit = divmod(number, 10)
        if not unit:
            return "quatre-vingts" if tens == 8 else _TENS[tens]
        if unit == 1 and tens != 8:
            return f"{_TENS[tens]} et un"
        return f"{_TENS[tens]}-{_UNITS[unit]}"
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        head = "cent" if hundreds == 1 else f"{_UNITS[hundreds]} cent"
        if not rest:
            return head if hundreds == 1 else head + "s"
        return f"{head} {number_words(rest)}"
    thousands, rest = divmod(number, 1000)
    head = "mille" if thousands == 1 else f"{number_words(thousands)} mille"
    return head + (f" {number_words(rest)}" if rest else "")
