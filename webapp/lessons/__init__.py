"""The course: lessons as Markdown with front matter, validated at start-up, with proved claims.

    loader.py       read and validate lessons/*.md, the glossary and the references
    model.py        the validated records (Lesson, Step, Prediction, Checkpoint, Check, ...)
    expr.py         the tiny check grammar ("db_queries == chunks"), parsed without eval
    experiments.py  the only place the lessons call the engine
    checks.py       run a lesson's experiments and evaluate its checks
    render.py       safe Markdown (markdown-it + nh3) and highlighted strategy code (Pygments)
    views.py        the pages (Flask blueprint)
    cli.py          ``python -m webapp lessons check``
"""
