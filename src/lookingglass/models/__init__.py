"""Models in one place: the pinned files and their one SHA-256 check (`registry`), the load-once base every model
sits on (`base`), and the execution device (`device`)."""
