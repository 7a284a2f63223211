"""Screens and dialogs of the cockpit."""
