"""Widgets of the cockpit screen."""
