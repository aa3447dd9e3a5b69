"""The examples of docs/api.md, read from the document and run as a partner would run them.

Each example is a fenced block preceded by ``<!-- example: <name> -->``. A ``sh`` block holds
``curl`` commands written with shell variables (``$BASE``, ``$TOKEN``, ``$ORDER``...), which
``run`` expands from the test's values and sends to the platform in-process; a ``json`` block is
an answer or a payload whose shape a test compares with the server's.
"""

import base64
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.test import Client

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
FENCE = re.compile(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```", re.M | re.S)
LABEL = re.compile(r"<!-- example: (?P<name>[\w.-]+) -->\s*\Z")
VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


@dataclass(frozen=True)
class Example:
    name: str
    lang: str
    body: str


def examples(text: str | None = None) -> list[Example]:
    """Every fenced block of the document, named by the label right before it ("" if none)."""
    text = DOC.read_text() if text is None else text
    found = []
    for fence in FENCE.finditer(text):
        label = LABEL.search(text[max(0, fence.start() - 200) : fence.start()])
        found.append(Example(label["name"] if label else "", fence["lang"], fence["body"]))
    return found


def named(name: str) -> Example:
    [example] = [e for e in examples() if e.name == name]
    return example


@dataclass
class Curl:
    method: str = "GET"
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    data: list[str] = field(default_factory=list)


def expand(command: str, variables: dict[str, str]) -> str:
    """``command`` with its shell variables replaced; a variable the test does not know fails."""

    def value(match: re.Match) -> str:
        name = match[1] or match[2]
        if name not in variables:
            raise KeyError(f"the example uses ${name}, which the test does not set")
        return variables[name]

    return VARIABLE.sub(value, command)


def commands(block: str) -> list[str]:
    """The ``curl`` commands of a shell block: each from a line that starts with ``curl`` to the
    next one, continuation lines joined (a quoted body may span lines)."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [
        command.strip()
        for command in re.split(r"^(?=curl )", joined, flags=re.M)
        if command.strip()
    ]


def parse(command: str) -> Curl:
    """The request a ``curl`` command line sends (the options the document uses)."""
    words = shlex.split(command, comments=True)[1:]
    curl = Curl()
    options = iter(words)
    for word in options:
        if word in ("-X", "--request"):
            curl.method = next(options)
        elif word in ("-H", "--header"):
            name, _, value = next(options).partition(":")
            curl.headers[name.strip()] = value.strip()
        elif word in ("-d", "--data", "--data-raw"):
            curl.data.append(next(options))
        elif word in ("-u", "--user"):
            credentials = base64.b64encode(next(options).encode()).decode()
            curl.headers["Authorization"] = f"Basic {credentials}"
        elif word.startswith("-"):
            raise ValueError(f"the test does not know curl's {word}")
        else:
            curl.url = word
    if curl.data and curl.method == "GET":
        curl.method = "POST"
    return curl


def send(client: Client, curl: Curl):
    """Send ``curl`` with the Django test client, as curl would: one ``-d`` that is a JSON
    object goes as is (with its Content-Type header); several are a form."""
    parts = urlsplit(curl.url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = dict(curl.headers)
    content_type = headers.pop("Content-Type", "application/x-www-form-urlencoded")
    body = "&".join(curl.data)
    return client.generic(curl.method, path, body, content_type=content_type, headers=headers)


def run(client: Client, example: Example, variables: dict[str, str]) -> Iterator:
    """Run the commands of ``example`` one by one, yielding each answer: a variable set between
    two answers is read by the next command."""
    assert example.lang == "sh", example
    found = commands(example.body)
    assert found, f"{example.name} has no curl command"
    for command in found:
        yield send(client, parse(expand(command, variables)))


def json_of(example: Example) -> object:
    assert example.lang == "json", example
    return json.loads(example.body)
