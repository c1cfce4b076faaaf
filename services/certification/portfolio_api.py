"""HTTP views of portfolios: the student edits their own (GET and PUT /portfolios/me); anyone reads a published one
(GET /portfolios/{handle}: a page with link-preview tags, or JSON)."""

from __future__ import annotations

from flask import Response, jsonify
from flask_smorest import Blueprint

from services.certification import pages, portfolios, schemas
from services.certification.api import ERROR, runtime, wants_json
from shared.auth import current_principal, require
from shared.errors import ErrorSchema

portfolios_blp = Blueprint(
    "portfolios", __name__, description="Students' public portfolios: handle, headline, credentials, work samples"
)


@portfolios_blp.route("/portfolios/me")
@portfolios_blp.response(200, schemas.PortfolioSchema)
@portfolios_blp.alt_response(404, schema=ErrorSchema)
@require("student")
def get_my_portfolio():
    """Your portfolio as saved, published or not (404 until you save one)."""
    return portfolios.my_portfolio(runtime(), current_principal())


@portfolios_blp.route("/portfolios/me", methods=["PUT"])
@portfolios_blp.arguments(schemas.PortfolioRequestSchema)
@portfolios_blp.response(200, schemas.PortfolioSchema)
@portfolios_blp.alt_response(409, schema=ErrorSchema)
@require("student")
def put_my_portfolio(body):
    """Save your portfolio whole: a handle (409 when another student has it; 422 when it is not a handle), a
    headline, your own unrevoked credentials to show (422 otherwise), work samples (http(s) links) and whether it is
    published. Nothing is public until `published` is true."""
    return portfolios.save_portfolio(runtime(), current_principal(), body)


@portfolios_blp.route("/portfolios/<handle>")
@portfolios_blp.doc(
    security=[],
    responses={
        "200": {
            "description": "an HTML page with Open Graph and Twitter link-preview tags, or JSON with Accept: "
            "application/json",
            "content": {"text/html": {}, "application/json": {"schema": schemas.PublicPortfolioSchema}},
        },
        "404": {
            "description": "no published portfolio has this handle (the same answer for one not published): a page, "
            "or the error shape with Accept: application/json",
            "content": {"text/html": {}, "application/json": {"schema": ERROR}},
        },
    },
)
def public_portfolio(handle):
    """A student's published portfolio: name, headline, credentials (each with its verification and LinkedIn
    add-to-profile links) and work samples; never an email."""
    try:
        shown = schemas.PublicPortfolioSchema().dump(portfolios.published_portfolio(runtime(), handle))
    except portfolios.PortfolioNotFound:
        if wants_json():
            raise
        return Response(pages.no_portfolio_page(), status=404, mimetype="text/html")
    if wants_json():
        return jsonify(shown)
    return Response(pages.portfolio_page(shown), mimetype="text/html")
