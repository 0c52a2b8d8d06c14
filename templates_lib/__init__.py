"""Template packages that ship with Qiqiao (the CRM)."""
