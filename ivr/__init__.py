"""The IVR: FastAGI server, voice menus as data, outage announcements, hours, survey.

Entry points: ``ivr.app.IvrApplication`` + ``ivr.app.create_ivr_server``; menus in
``ivr.menu`` / ``ivr.menu_source``; incidents in ``ivr.incidents``. Never imports ``acd``,
``ticketing`` or ``hotline``: collaborators (publish, ticket lookup, clock) are arguments.
"""
