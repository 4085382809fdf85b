"""The calculator of seed 004 on the web: ``takst serve`` (a local server) and
``takst site`` (the same pages as static files). Built on :mod:`takst.session`
and :mod:`takst.render`, never on the command line; needs the ``web`` extra
(Jinja2, Starlette, uvicorn)."""
