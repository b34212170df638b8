"""The REST services' interactive API pages (Swagger UI at /docs), served with their own assets.

FastAPI's default /docs page loads Swagger UI from a CDN, so on an isolated network (a MEC
site, this project's machines) it is a blank page. The swagger-ui-bundle package ships those
assets; they are served here under /docs/assets, and ReDoc (CDN only) is left off.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

DOCS_PATH = "/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"


def install(app: FastAPI) -> None:
    """Serve /docs from local assets. The app must be made with docs_url=None, redoc_url=None."""
    app.mount(ASSETS_PATH, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title}: API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
        )
