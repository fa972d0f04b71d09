"""Typed routes: each one parses its request into a service's model, calls the service, and answers its model.

One blueprint per use case (the module names match `services/`); a route's operationId is its service function's
name, which is how the CLI finds the same operation through a running `serve`.
"""

from __future__ import annotations

from flask import current_app, jsonify, request
from pydantic import BaseModel

from lookingglass.app import App
from lookingglass.services import Caller


def the_app() -> App:
    return current_app.extensions["lookingglass"]


def caller() -> Caller:
    """Who this request acts for, as the services audit it."""
    from lookingglass.web.auth import current_principal

    principal = current_principal()
    if principal is None:
        return Caller("anonymous", "-", "anonymous", request.remote_addr)
    return Caller(principal.name, principal.role, principal.via, request.remote_addr, principal.user)


def answer(model: BaseModel, status: int = 200):
    """A service's record as the JSON answer."""
    return jsonify(model.model_dump(mode="json")), status


def blueprints() -> list:
    """Every module of this package contributes its APIBlueprint(s): adding a use case adds a module, nothing else."""
    import importlib
    import pkgutil

    from flask_openapi3 import APIBlueprint

    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found += [v for v in vars(module).values() if isinstance(v, APIBlueprint)]
    return found
