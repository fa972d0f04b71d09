"""What is indexed, in numbers: the counts each search page shows beside its form, so an empty result on an empty
index reads "nothing is indexed yet", not "no match". Counts, not contents: analysts and admins alike may read them.
"""

from __future__ import annotations

from pydantic import Field

from lookingglass.app import App
from lookingglass.services import Caller, Record, operation


class IndexCounts(Record):
    faces: int | None = Field(description="faces in the face index (null when it is not open here)")
    passages: int | None = Field(description="passages of page text in the text index")
    segments: int | None = Field(description="transcript segments (what was said in videos and audio)")
    documents: int | None = Field(description="pages and transcripts the entity graph has read")
    entities: int | None = Field(description="entities in the graph")


@operation
def index_counts(app: App, caller: Caller) -> IndexCounts:
    """How many faces, passages, segments, documents and entities are indexed."""
    graph = app.graph.stats() if app.graph is not None else None
    return IndexCounts(
        faces=app.faces.count() if app.faces is not None else None,
        passages=app.text.count({"kind": "page"}) if app.text is not None else None,
        segments=app.text.count({"kind": "transcript"}) if app.text is not None else None,
        documents=graph["documents"] if graph is not None else None,
        entities=graph["entities"] if graph is not None else None,
    )
