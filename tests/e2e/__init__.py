"""End-to-end tests: the real cockpit in a real tmux, driving real processes by keys."""
