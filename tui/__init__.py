"""Textual pieces that the kiosk, counter and display apps share: theme, big numbers, change watcher."""
