"""The evidence viewer's data: one read of everything `/view/<sha256>` shows about an object."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag

from lookingglass.services.viewer import ObjectView, view_object
from lookingglass.web.routes import answer, caller, the_app
from lookingglass.web.routes.faces import ObjectPath

viewer = APIBlueprint("viewer", __name__, abp_tags=[Tag(name="objects")])


@viewer.get("/objects/<sha256>/view", operation_id="view_object", responses={200: ObjectView})
def view_route(path: ObjectPath):
    """What the evidence viewer shows: an image's faces, a video's face tracks, a page's main text and entities."""
    return answer(view_object(the_app(), caller(), sha256=path.sha256))
