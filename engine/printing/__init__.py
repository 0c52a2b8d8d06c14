"""Printing records through their app's print templates: HTML and PDF (DESIGN §3, docs/printing.md)."""

from engine.printing.render import PrintService

__all__ = ["PrintService"]
