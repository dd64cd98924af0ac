"""The simulation service: a REST API over stored network versions, simulations and jobs.

:func:`feederos.api.app.create_app` builds the FastAPI application from
:class:`feederos.api.settings.ApiSettings`; nothing is opened or started at import time.
"""
