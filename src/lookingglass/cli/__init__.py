"""`lookingglass ...`: each command parses its arguments, calls one service, and prints the answer.

Commands are click commands declared beside their code (one module per use case, like `services/`). Which service
a command talks to is chosen once, in `cli/service.py`: the stores opened here, or the `serve` that owns the data
dir. Errors print one line on stderr and exit with the error's code (errors.py); a bad setting exits 2.
"""

from __future__ import annotations

import sys

import click

from lookingglass import __version__
from lookingglass.errors import BadInput, LookingGlassError
from lookingglass.settings import Settings

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


class Runtime:
    """What every command gets: the settings (read and checked on first use) and the chosen service."""

    def __init__(self) -> None:
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    def service(self):
        """The service for this command (a context manager): through `serve` when it owns the data dir, else the
        stores opened here and closed again when the command ends."""
        from lookingglass.cli.service import open_service

        return open_service(self.settings)


pass_runtime = click.make_pass_decorator(Runtime, ensure=True)


@click.group(context_settings=CONTEXT, invoke_without_command=False)
@click.version_option(__version__, prog_name="lookingglass")
def lookingglass() -> None:
    """Face search, text search and the entity graph over images, videos and pages.

    Commands work on LG_DATA_DIR (default ./data), or through the `lookingglass serve` that owns it. Exit codes:
    0 ok, 1 some files failed, 2 bad input or setting, 3 not found, 4 not allowed, 5 a store is unavailable or
    damaged, 6 the data dir is owned by another process, 7 a model file failed its check.
    """


def _register() -> None:
    """Every use case's module (named like its services/ module) contributes its COMMANDS."""
    from lookingglass.cli import admin, counts, erasure, faces, graph, people, search, system, viewer

    for module in (faces, search, viewer, erasure, graph, people, admin, system, counts):
        for command in module.COMMANDS:
            lookingglass.add_command(command)


_register()


def main(argv: list[str] | None = None) -> int:
    """The `lookingglass` entry point; returns the exit code."""
    from lookingglass.stores.integrity import private_umask

    private_umask()  # the data dir's files 0600, folders 0700, whatever the shell's umask
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        result = lookingglass.main(args=args, prog_name="lookingglass", standalone_mode=False)
    except LookingGlassError as exc:
        print(f"lookingglass: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except click.exceptions.Abort:
        return 130
    except click.ClickException as exc:  # usage errors: exit 2
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `lookingglass search x --json | head` is fine
        sys.stderr.close()
        return 0
    return result if isinstance(result, int) else 0


def check_args(argv: list[str]) -> None:
    """Raise BadInput unless `lookingglass <argv>` parses (deploy files are checked against this)."""
    if not argv or argv[0] not in lookingglass.commands:
        raise BadInput(f"`lookingglass {' '.join(argv)}`: no such command")
    command: click.Command = lookingglass
    name, args = "lookingglass", list(argv)
    while isinstance(command, click.Group) and args and args[0] in command.commands:
        name = args.pop(0)
        command = command.commands[name]
    try:
        command.make_context(name, args)
    except click.ClickException as exc:
        raise BadInput(exc.format_message()) from None
