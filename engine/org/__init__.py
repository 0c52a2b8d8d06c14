"""The organization: users, the department tree with heads, roles, API
tokens, delegations, and the ``Principal`` the permission checks read
(DESIGN §2, §6).

Modules: ``service`` (``OrgService``, the one entry point), ``passwords``
(scrypt hashes), ``tokens`` (API tokens), ``people_import`` (users and
departments from CSV/Excel), ``principal`` (who is acting), ``permissions``
(grants and data scopes), ``errors`` (``AuthenticationError``). Import what
you need from those modules; this package exports nothing so that importing
it stays cheap.
"""
