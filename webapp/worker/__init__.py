"""Worker processes: the engine runs here, never in the web process.

Why: a run is CPU-bound pure Python. Inside the eventlet web process it held the event loop (one
``POST /api/run`` could stall every user for minutes) and its memory stayed with the process. In a
worker it runs at a lower CPU priority, within a CPU, step and memory budget, computes ahead of
playback, and gives all its memory back when it exits. The web process only paces and sends.

    channel.py     framed messages over a socket pair (non-blocking on the web side)
    pool.py        the web side: spawning workers, warm spares, killing and reaping them
    __main__.py    the worker side: priority and limits, then one job
    job.py         streaming a run ahead of playback, or one summary-only run
    tracks.py      one simulation stepped through virtual time, with its inputs
    resume.py      the state of a run at an instant, for the first frame after a seek
    peek.py        the exact numbers (a sample) of the instant a paused page shows

Messages (each a tuple; the first item names it):

    web -> worker   ("job", spec)  ("ping",)  ("consumed", epoch, nbytes)  ("seek", epoch, t)
                    ("input", epoch, record)  ("tap", token)  ("horizon", t)  ("stop",)
                    ("peek", epoch, t, inputs)
    worker -> web   ("idle",)  ("pong",)  ("ready",)  ("events", epoch, frontier, blob)
                    ("resume", epoch, t, blob)
                    ("end", end_s, moments)
                    ("inputs", epoch, inputs, refusal or None, (end_s, moments) or None)
                    ("done", epoch, [summary, ...], truncated)  ("summary", summary)
                    ("tapped", token, req, t, record)  ("tap_refused", token, message)
                    ("peek", epoch, t, [sample, ...])
                    ("error", message)

A ``blob`` is the pickle of ``(events_a, events_b or None)``. Events are in the wire format.
``moments`` is one list per side of ``webapp.engine.moments.compact`` dicts; ``inputs`` and a
``record`` are engine input records (docs/events.md "Inputs"). A job's spec carries the run's
``inputs`` and either ``seek_to`` (a revived run) or ``input`` (a revived run given an input).
A ``peek`` job (kind "peek") only answers ``peek``: a run's paused instants once its stream is over.

Nothing here imports Flask or the async library: a worker starts in about 60 ms.
"""
