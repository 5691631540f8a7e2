"""The real-systems lab: the same mitigation modules against a real Redis and PostgreSQL.

    services.py    a private Redis and PostgreSQL as child processes (data in .herdlab/), healed
    settings.py    the ``real.*`` keys and the bounds of every real run
    rediscache.py  the shared cache on Redis: values with PX TTLs, leased claims (Lua)
    counters.py    the counters each process keeps (the simulation's names)
    datastore.py   queries whose cost is real, counted by PostgreSQL; failures classified
    host.py        ``ports.Host`` for real I/O under gevent (one greenlet per request)
    appserver.py   one app-server process (``python -m webapp.real.appserver``)
    fleet.py       ``RealRun``: plan, start the processes, merge their events, summarise
    planner.py     a run's plan made in a process of its own, within a simulated run's budgets
    worker.py      the real-run worker process the web app talks to over a pipe
    cli.py         ``python -m webapp real run``

Nothing here is imported by the engine or the web app's other modules. gevent is imported only
in app-server processes (host.py, appserver.py); the web process needs only ``services`` and
``worker.stream`` (no gevent, no database driver but for one readiness check at start).
"""
