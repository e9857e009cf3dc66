"""English visitor texts."""

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
DAY_FORMAT = "{weekday} {day} {month}"

TEXTS: dict[str, str] = {
    "language_name": "English",
    "report_title": "Counter report",
    "report_issued": {"one": "{count} ticket issued", "other": "{count} tickets issued"},
    "report_served": {"one": "{count} visitor served", "other": "{count} visitors served"},
    "report_no_shows": {"one": "{count} no-show", "other": "{count} no-shows"},
    "report_mean_wait": "average wait {minutes} min",
    "report_on_time": "called within {minutes} min",
    "report_arrivals_title": "Arrivals per hour, average per day",
    "report_waits_title": "Average wait in minutes, by hour of arrival",
    "report_on_time_title": "Called within {minutes} min, per day",
    "report_service_time_title": "Average service time per service",
    "report_no_shows_title": "No-shows per service",
    "report_hour": "hour",
    "report_nothing": "Nothing to show for this period.",
    "report_explained": "Wait: from ticket to first call. Service time: from call to done.",
    "welcome": "Welcome",
    "choose_service": "Touch a service to take a ticket",
    "wait_minutes": "About {minutes} min wait",
    "wait_unknown": "Waiting time unknown",
    "closed_until": "Closed · opens {when}",
    "closed": "Closed",
    "limit_reached": "No more tickets today",
    "have_appointment": "I have an appointment",
    "scan_hint": "Appointment? Hold your QR code in front of the scanner.",
    "your_number": "Your number",
    "position": "Place in line: {position}",
    "estimated_wait": "Estimated wait: {minutes} min",
    "issued_on": "{day} at {time}",
    "take_ticket": "Please take your ticket.",
    "note_number": "The printer is not working. Please remember your number.",
    "watch_screen": "Watch the screen: we will call your number.",
    "touch_to_continue": "Touch the screen to continue",
    "priority_title": "Do you need to sit while you wait?",
    "priority_button": "Priority ticket",
    "priority_explained": "For visitors who cannot stand while waiting",
    "normal_button": "Normal ticket",
    "appointment_title": "Check in for your appointment",
    "scan_or_type": "Scan your QR code, or type your reference.",
    "reference_example": "Your reference looks like ABCD-EF23.",
    "check_in": "Check in",
    "erase": "Erase",
    "back": "Back",
    "checkin_accepted": "Welcome. Your appointment is at {time}.",
    "checkin_already": "You are already checked in.",
    "checkin_too_early": "You are early. You can check in from {time}.",
    "checkin_too_late_ticket": "Your appointment was at {time}. You get a normal ticket instead.",
    "checkin_too_late_refused": "Your appointment was at {time}. It is too late. Please ask at the reception desk.",
    "checkin_other_day": "Your appointment is on {day}, not today.",
    "checkin_cancelled": "This appointment was cancelled. Please ask at the reception desk.",
    "checkin_served": "You have already been served (number {ticket}). For anything else, take a new ticket.",
    "checkin_missed": "Your number {ticket} was already called. Please ask at the reception desk.",
    "own_ticket": "This is a waiting ticket. Watch the screen for your number.",
    "checkin_not_recognised": "We do not recognise this code. Please go to the reception desk.",
    "ticket_refused": "We cannot give you a ticket now. Please ask at the reception desk.",
    "office_closed": "The office is closed.",
    "office_opens": "We open {when}.",
    "today_at": "today at {time}",
    "on_day_at": "{day} at {time}",
    "unavailable": "One moment please. The ticket machine will be back shortly.",
    "staff_pin": "Staff: enter the PIN to close the kiosk",
    "print_footer": "Please wait until your number is shown on the screen.",
    "announce_call": "Number {series} {number}, counter {counter}.",
    "display_now": "Now serving",
    "display_counter": "Counter",
    "display_earlier": "Called before",
    "display_waiting": "Waiting",
    "display_unavailable": "One moment please. The screen will be back shortly.",
    "display_no_calls": "No number called yet",
}

_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(number: int) -> str:
    """A whole number from 0 to 9999 as it is said: 112 -> "one hundred and twelve"."""
    if number < 20:
        return _UNITS[number]
    if number < 100:
        tens, unit = divmod(number, 10)
        return _TENS[tens] + (f"-{_UNITS[unit]}" if unit else "")
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        head = f"{_UNITS[hundreds]} hundred"
        return head + (f" and {number_words(rest)}" if rest else "")
    thousands, rest = divmod(number, 1000)
    head = f"{number_words(thousands)} thousand"
    if not rest:
        return head
    return head + (" and " if rest < 100 else " ") + number_words(rest)
