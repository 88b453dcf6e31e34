"""The host console: one command, a script of commands, or an interactive prompt.

All three send the same messages (:mod:`showroom.host.commands`) over one host connection
(:mod:`showroom.host.link`) and print the answers as text or, with ``--json``, as one JSON
object per line. Exit codes: 0 when every command was carried out, 1 when the server
refused one (or the connection failed), 2 when a command is not written correctly.
"""

from __future__ import annotations

import cmd
import json
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from showroom.errors import ShowroomError
from showroom.host.commands import COMMANDS, CommandError, help_text, parse_line, parse_words
from showroom.host.link import HostLink
from showroom.host.render import answer_text, notice_text
from showroom.protocol import client_messages as msg
from showroom.protocol.server_messages import ErrorReply, ServerMessage
from showroom.scene.timecode import format_clock

OK, REFUSED, BAD_COMMAND = 0, 1, 2


class Printer:
    """Prints answers and notices as text or JSON; safe to call from the link's reader thread."""

    def __init__(self, out: TextIO, notices: TextIO, as_json: bool) -> None:
        self.out = out
        self.notices = notices
        self.as_json = as_json
        self._lock = threading.Lock()

    def answer(self, sent: msg.Message, answer: ServerMessage, where: str = "") -> None:
        """Print the answer to a command (a refusal prefixed with ``where``, e.g. ``cues.txt:4: ``)."""
        text = json.dumps(answer.wire()) if self.as_json else answer_text(sent, answer)
        if isinstance(answer, ErrorReply) and where and not self.as_json:
            text = where + text
        self._print(self.out, text)

    def notice(self, message: ServerMessage) -> None:
        """Print a message the server sent on its own (hot-reload outcomes)."""
        self._print(self.notices, json.dumps(message.wire()) if self.as_json else notice_text(message))

    def problem(self, text: str) -> None:
        """Print a local problem (a badly written command) to stderr."""
        self._print(sys.stderr, text)

    def _print(self, stream: TextIO, text: str) -> None:
        with self._lock:
            print(text, file=stream, flush=True)


def send(link: HostLink, printer: Printer, message: msg.Message, where: str = "") -> int:
    """Send one command, print its answer, return OK or REFUSED."""
    answer = link.request(message)
    printer.answer(message, answer, where)
    return REFUSED if isinstance(answer, ErrorReply) else OK


def run_command(link: HostLink, printer: Printer, words: list[str]) -> int:
    """Run one command given as command-line words (``seek 1:30``, ``poll "Which colour?" rose gold``)."""
    try:
        message = parse_words(words)
    except CommandError as exc:
        printer.problem(str(exc))
        return BAD_COMMAND
    return send(link, printer, message)


def check_script(path: Path) -> list[tuple[int, msg.Message]]:
    """Read a script and parse every line before anything is sent; raise ShowroomError at the first bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ShowroomError(f"{path}: cannot read: {exc}") from None
    steps = []
    for number, line in enumerate(lines, start=1):
        try:
            message = parse_line(line)
        except CommandError as exc:
            raise CommandError(f"{path}:{number}: {exc}") from None
        if message is not None:
            steps.append((number, message))
    return steps


def run_script(link: HostLink, printer: Printer, path: Path, steps: list[tuple[int, msg.Message]]) -> int:
    """Send a checked script's commands in order; stop at the first refusal, naming its line."""
    for number, message in steps:
        if send(link, printer, message, where=f"{path}:{number}: ") != OK:
            return REFUSED
    return OK


class Console(cmd.Cmd):
    """The interactive prompt: one command per line, ``help``, ``quit`` (or Ctrl-D)."""

    prompt = "host> "

    def __init__(self, link: HostLink, printer: Printer, stdin: TextIO | None = None) -> None:
        super().__init__(stdin=stdin, stdout=printer.out)
        self.use_rawinput = stdin is None
        self.link = link
        self.printer = printer
        welcome = link.welcome
        state = "playing" if welcome.playing else "paused"
        self.intro = (f"connected to '{welcome.event.title}' at {link.url} as host; show at "
                      f"{format_clock(welcome.t)} ({state}). Type help for the commands, quit to leave.")

    def default(self, line: str) -> bool:
        """Any command of the table: parse it, send it, print the answer."""
        try:
            message = parse_line(line)
        except CommandError as exc:
            self.printer.problem(str(exc))
            return False
        if message is not None:
            send(self.link, self.printer, message)
        return False

    def emptyline(self) -> bool:
        """An empty line does nothing (cmd's default repeats the last command)."""
        return False

    def completenames(self, text: str, *ignored: Any) -> list[str]:
        """Complete command names."""
        return [name for name in (*COMMANDS, "help", "quit") if name.startswith(text)]

    def do_help(self, arg: str) -> bool:
        """help: list the commands."""
        self.stdout.write(help_text([("help", "this list"), ("quit", "leave the console (Ctrl-D too)")]) + "\n")
        return False

    def do_quit(self, arg: str) -> bool:
        """quit: leave the console."""
        return True

    do_exit = do_quit

    def do_EOF(self, arg: str) -> bool:  # the name cmd gives to the end of input
        """Ctrl-D: leave the console."""
        self.stdout.write("\n")
        return True


def run_host(url: str, token: str, words: list[str], *, script: Path | None = None, as_json: bool = False) -> int:
    """``showroom host``: run ``words`` as one command, or ``script``, or the interactive prompt."""
    try:  # every command is checked before the console connects, so a typo sends nothing
        if words and script is not None:
            raise CommandError("give either a command or --script, not both")
        steps = check_script(script) if script is not None else []
        if words:
            parse_words(words)
    except CommandError as exc:
        print(str(exc), file=sys.stderr)
        return BAD_COMMAND
    interactive = not words and script is None
    printer = Printer(sys.stdout, sys.stdout if interactive else sys.stderr, as_json)
    with HostLink.open(url, token, on_notice=printer.notice) as link:
        if words:
            return run_command(link, printer, words)
        if script is not None:
            return run_script(link, printer, script, steps)
        try:
            Console(link, printer).cmdloop()
        except KeyboardInterrupt:
            print()
        return OK
