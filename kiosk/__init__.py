"""The self-service ticket kiosk (`loket kiosk`, `python -m kiosk`)."""
