"""Textual pieces the kiosk, counter and display apps share: theme, big numbers, watcher, workers."""
