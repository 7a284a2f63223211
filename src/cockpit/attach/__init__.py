"""The crew in their own terminals: a session serves a Unix socket, and ``cockpit attach``
joins it as the Monitor or as an observer, under the OS identity the socket reports.

- ``places``: the per-user socket directory and the index that lets the crew find it;
- ``protocol``: the messages, one JSON object a line, validated like a profile;
- ``server``: what the session serves (records out, keys in, identity from SO_PEERCRED);
- ``client``: the joined terminal (the read side of ``cockpit watch``, fed by the socket);
- ``listing``: ``cockpit sessions --attachable``.
"""
