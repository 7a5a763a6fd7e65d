"""Pages: log-in, home (my tasks), API docs."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from service import auth

bp = Blueprint("web", __name__, template_folder="../templates")


@bp.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    """Show the log-in form and log in."""
    error = None
    if request.method == "POST":
        try:
            auth.login(request.form.get("username", "").strip(), request.form.get("password", ""))
            target = request.args.get("next") or url_for("web.home")
            return redirect(target if target.startswith("/") and not target.startswith("//") else "/")
        except auth.AuthError as err:
            error = err.message
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():  # noqa: ANN201
    """Log out and go to the log-in page."""
    auth.logout()
    return redirect(url_for("web.login"))


@bp.route("/")
def home():  # noqa: ANN201
    """The home page: my tasks."""
    auth.require_user()
    return render_template("home.html")


@bp.route("/api/docs")
def api_docs():  # noqa: ANN201
    """A readable page of the OpenAPI document, served without any external asset."""
    spec = current_app.extensions["egovflow_api"].spec.to_dict()
    return render_template("api_docs.html", spec=spec)
