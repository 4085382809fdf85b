"""``takst serve``: the calculator as a local web server (Starlette, served by uvicorn).

Routes, all ``GET`` (and ``HEAD``):

``/?customer=NAME_OR_ID&services=all`` (or ``services=a,b``)
    the calculator, rendered on the server; 404 for an unknown organisation,
    400 for an unknown service, each with the problem on the page.
``/worksheet?customer=ID[&model=new|old|known]``
    the printable worksheet of the customer's new (or old) amounts, or the known
    existing prices with their sources.
``/static/calculator.css``, ``/static/calculator.js``
    the page's two files. Nothing else is served: any other path is a 404.

Every answer carries a Content-Security-Policy that allows only the server's own
scripts and styles, and a request whose ``Host`` is not the address served is
refused (no DNS rebinding onto a local server).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from takst.dsl.errors import TariffError
from takst.render.locale import Numbers
from takst.web.calculator import Calculator
from takst.web.pages import STATIC, STATIC_FILES, calculator_page, message_page, worksheet_page

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self' "
    "'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class ServerLinks:
    """Where the server's pages link to."""

    def calculator(self, customer: str | None, services: Sequence[str] | None) -> str:
        query = {}
        if customer:
            query["customer"] = customer
        if services:
            query["services"] = ",".join(services)
        return "/" + ("?" + urlencode(query) if query else "")

    def worksheet(self, customer: str, model: str, charge: str | None = None) -> str:
        query = {"customer": customer}
        if model != "new":
            query["model"] = model
        return "/worksheet?" + urlencode(query) + (f"#charge-{charge}" if charge else "")

    def static(self, name: str) -> str:
        return f"/static/{name}"


def services_param(values: Sequence[str]) -> list[str]:
    """``services=a,b`` and ``services=a&services=b`` (a plain form) alike."""
    return [s for v in values for s in v.split(",") if s.strip()]


def make_app(calc: Calculator, numbers: Numbers, *, hosts: Sequence[str] = ("127.0.0.1",
                                                                          "localhost")) -> Any:
    """The Starlette application of the calculator ``calc``."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.requests import Request
    from starlette.responses import FileResponse, HTMLResponse, Response
    from starlette.routing import Route

    links = ServerLinks()

    def page(status: int, html: str) -> HTMLResponse:
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    async def home(request: Request) -> Response:
        customer = request.query_params.get("customer")
        services = services_param(request.query_params.getlist("services"))
        status, html = calculator_page(calc, numbers, links, customer=customer,
                                       services=services or None)
        return page(status, html)

    async def worksheet(request: Request) -> Response:
        wanted = request.query_params.get("customer", "")
        model = request.query_params.get("model", "new")
        if model not in ("new", "old", "known") or (model == "old" and not calc.old_results) \
                or (model == "known" and not calc.known):
            return page(400, message_page(numbers, links, "No such worksheet",
                                          f"there is no worksheet {model!r}",
                                          "use model=new" + (", old" if calc.old_results else "")
                                          + (", known" if calc.known else "")))
        try:
            result = calc.find(wanted)
        except TariffError as e:  # a UsageError: an unknown organisation
            d = e.diagnostics[0]
            return page(404, message_page(numbers, links, "Unknown organisation",
                                          d.message, d.hint or ""))
        if model == "old" and result.id not in calc.old_results:  # pragma: no cover
            return page(404, message_page(numbers, links, "No worksheet",
                                          f"{result.name} has no amounts in the old tariff", ""))
        return page(200, worksheet_page(calc, numbers, links, result, model))

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC_FILES:
            return await not_found(request, None)
        media = "text/css" if name.endswith(".css") else "text/javascript"
        return FileResponse(STATIC / name, media_type=media, headers=SECURITY_HEADERS)

    async def not_found(request: Request, exc: Exception | None) -> Response:
        return page(404, message_page(numbers, links, "Not found",
                                      f"there is no page {request.url.path}",
                                      "the calculator is at /"))

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return Response("only GET", status_code=405, headers={**SECURITY_HEADERS,
                                                              "Allow": "GET, HEAD"})

    async def broken(request: Request, exc: Exception) -> Response:  # pragma: no cover
        return page(500, message_page(numbers, links, "Internal error",
                                      "a bug in takst, not in your files", "please report it"))

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        404: not_found, 405: not_allowed, 500: broken}
    return Starlette(
        routes=[
            Route("/", home, methods=["GET"]),
            Route("/worksheet", worksheet, methods=["GET"]),
            Route("/static/{name}", static, methods=["GET"]),
        ],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))],
        exception_handlers=handlers,
    )


def make_server(calc: Calculator, numbers: Numbers, *, host: str,
                port: int) -> tuple[Any, Any, str]:
    """A uvicorn server for ``calc``, its listening socket (port 0: a free port) and its
    address. Run it with ``server.run(sockets=[sock])``; stop it with
    ``server.should_exit = True``."""
    import socket

    import uvicorn

    hosts = ["127.0.0.1", "localhost", host]
    if host in ("0.0.0.0", "::"):
        hosts = ["*"]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        from takst.dsl.errors import UsageError, diagnostic

        raise UsageError(diagnostic(f"cannot listen on {host}:{port}: {e.strerror or e}",
                                    hint="choose another --port (0: a free one)")) from None
    sock.listen(128)
    bound = sock.getsockname()[1]
    app = make_app(calc, numbers, hosts=hosts)
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False,
                            lifespan="off")
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        shown = "127.0.0.1"
    return uvicorn.Server(config), sock, f"http://{shown}:{bound}/"


def serve(calc: Calculator, numbers: Numbers, *, host: str, port: int,
          ready: Callable[[str], None] | None = None) -> None:
    """Serve ``calc`` on ``host:port`` until interrupted. ``ready`` is told the address
    once the socket listens."""
    server, sock, url = make_server(calc, numbers, host=host, port=port)
    if ready is not None:
        ready(url)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
