"""The service contract every edge (desk, OPAC, REST API, SIP2, tasks) speaks.

Nothing here knows about libraries, members or items: `core` sits below every
app. See docs/services.md.
"""
