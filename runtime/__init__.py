"""The Flask runtime (web UI, REST API, worker, CLI); built on engine."""
