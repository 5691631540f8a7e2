"""The course: lessons as Markdown with front matter, validated at start-up, with proved claims.

    loader.py       read and validate lessons/*.md, the glossary and the references
    model.py        the validated records (Lesson, Step, Prediction, Checkpoint, Check, ...)
    expr.py         the tiny check grammar ("db_queries == chunks"), parsed without eval
    experiments.py  the only place the lessons call the engine
    eventstats.py   what checks read of a run's per-request events (events.*)
    checks.py       run a lesson's experiments and evaluate its checks, on fixed or random seeds
    shares.py       claims true in a share of runs, judged by the binomial tail
    dist.py         a claim's distribution over many seeds (lessons dist)
    runcache.py     run summaries kept on disk (dist, check --cache), per version of the source
    claims.py       how a check is held to its sentence (numbers, one-sided words, shares)
    sentences.py    which sentences of a page state a number or comparison, and which are backed
    render.py       safe Markdown (markdown-it + nh3) and highlighted strategy code (Pygments)
    views.py        the pages (Flask blueprint)
    cli.py          ``python -m webapp lessons check`` and ``lessons dist``
"""
