"""`shapesafe lsp`, driven as an editor drives it: JSON-RPC over the server's stdin and stdout.

The documents are files of the static corpus (shapesafe ops and raw torch), copied into a
workspace folder; positions and texts are exact.
"""

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

STATIC = Path(__file__).resolve().parent / "static"
ROOT = STATIC.parent.parent

pytestmark = pytest.mark.slow  # a server process per test module, about 2 s

Message = dict[str, Any]


class Client:
    """A minimal language client: requests wait for their answer; notifications are kept."""

    def __init__(self, workspace: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shapesafe.check", "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=workspace,
            env=env,
        )
        self.next_id = 0
        self.kept: list[Message] = []  # notifications that arrived while waiting for others
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        out = self.process.stdout
        assert out is not None
        while True:
            header = b""
            while not header.endswith(b"\r\n\r\n"):
                byte = out.read(1)
                if not byte:
                    return
                header += byte
            length = next(
                int(line.split(b":")[1])
                for line in header.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            self.inbox.put(json.loads(out.read(length)))

    def send(self, message: Message) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        stdin.flush()

    def notify(self, method: str, params: Message) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: Message) -> Any:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        while True:
            message = self.wait()
            if message.get("id") == self.next_id and "method" not in message:
                assert "error" not in message, message
                return message["result"]
            self.kept.append(message)

    def wait(self) -> Message:
        return self.inbox.get(timeout=30)

    def diagnostics(self, uri: str) -> list[Message]:
        """The next diagnostics published for `uri`."""
        for i, message in enumerate(self.kept):
            if message.get("method") == "textDocument/publishDiagnostics":
                if message["params"]["uri"] == uri:
                    del self.kept[i]
                    return list(message["params"]["diagnostics"])
        while True:
            message = self.wait()
            if message.get("method") == "textDocument/publishDiagnostics":
                if message["params"]["uri"] == uri:
                    return list(message["params"]["diagnostics"])
            self.kept.append(message)

    def close(self) -> str:
        self.request("shutdown", {})
        self.notify("exit", {})
        self.process.wait(timeout=10)
        self.reader.join(timeout=10)
        process = self.process
        assert process.stdin and process.stdout and process.stderr
        errors = process.stderr.read().decode()
        for pipe in (process.stdin, process.stdout, process.stderr):
            pipe.close()
        return errors


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("workspace")
    for name in ("linear_transposed_weight.py", "attention_ok.py"):
        shutil.copy(STATIC / name, root / name)
    for name in ("raw_linear_transposed.py", "raw_heads_ok.py"):
        shutil.copy(STATIC / "models" / name, root / name)
    # Importing torch in the server leaves a mark and fails.
    fake = root / "no_torch" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "import pathlib\n"
        f"pathlib.Path({str(root / 'torch_imported')!r}).write_text('yes')\n"
        "raise ImportError('the language server imported torch')\n"
    )
    return root


@pytest.fixture(scope="module")
def client(workspace: Path) -> Iterator[Client]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(workspace / "no_torch"), str(ROOT)])
    client = Client(workspace, env)
    result = client.request(
        "initialize",
        {"processId": None, "rootUri": workspace.as_uri(), "capabilities": {}},
    )
    capabilities = result["capabilities"]
    assert capabilities["hoverProvider"] and capabilities["inlayHintProvider"]
    assert capabilities["codeActionProvider"] == {"codeActionKinds": ["quickfix"]}
    client.notify("initialized", {})
    yield client
    stderr = client.close()
    assert client.process.returncode == 0, stderr
    assert not (workspace / "torch_imported").exists()


def open_doc(client: Client, path: Path) -> str:
    uri = path.as_uri()
    client.notify(
        "textDocument/didOpen",
        {
            "textDocument": {
                "uri": uri,
                "languageId": "python",
                "version": 1,
                "text": path.read_text(),
            }
        },
    )
    return uri


def at(line: int, character: int) -> Message:
    return {"line": line, "character": character}


def span(a: tuple[int, int], b: tuple[int, int]) -> Message:
    return {"start": at(*a), "end": at(*b)}


def apply(text: str, edits: list[Message]) -> str:
    """`text` with LSP text edits applied (ASCII text: characters are UTF-16 units)."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(pos: Message) -> int:
        return int(offsets[pos["line"]] + pos["character"])

    for edit in sorted(edits, key=lambda e: offset(e["range"]["start"]), reverse=True):
        start, end = offset(edit["range"]["start"]), offset(edit["range"]["end"])
        text = text[:start] + edit["newText"] + text[end:]
    return text


LINEAR_MESSAGE = (
    "linear(x, w_t): dim 'in_features' is d_in in x \"b s d_in\" but d_out in w_t "
    '"d_in d_out"; did you mean w_t.mT?'
)


def test_diagnostics_on_open_are_the_findings_of_check(client: Client, workspace: Path) -> None:
    uri = open_doc(client, workspace / "linear_transposed_weight.py")
    assert client.diagnostics(uri) == [
        {
            "range": span((12, 11), (12, 28)),
            "message": LINEAR_MESSAGE,
            "severity": 1,
            "code": "shape",
            "source": "shapesafe",
        }
    ]
    clean = open_doc(client, workspace / "attention_ok.py")
    assert client.diagnostics(clean) == []


def test_code_actions_fix_the_transpose_or_ignore_the_line(client: Client, workspace: Path) -> None:
    path = workspace / "raw_linear_transposed.py"
    uri = open_doc(client, path)
    [finding] = client.diagnostics(uri)
    assert finding["range"] == span((11, 11), (11, 25))
    assert finding["message"].endswith("; did you mean w.T?")
    actions = client.request(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": uri},
            "range": span((11, 0), (11, 0)),
            "context": {"diagnostics": [finding]},
        },
    )
    assert [(a["title"], a["kind"]) for a in actions] == [
        ("Replace with w.T", "quickfix"),
        ("Ignore shape findings on this line", "quickfix"),
    ]
    fix, ignore = (a["edit"]["changes"][uri] for a in actions)
    assert fix == [{"range": span((11, 23), (11, 24)), "newText": "w.T"}]
    assert ignore == [{"range": span((11, 42), (11, 42)), "newText": "  # shapesafe: ignore"}]
    text = path.read_text()
    for edits, line in [
        (fix, "    return F.linear(x, w.T)  # expect: shape"),
        (ignore, "    return F.linear(x, w)  # expect: shape  # shapesafe: ignore"),
    ]:
        edited = apply(text, edits)
        assert edited.splitlines()[11] == line
        client.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": 2},
                "contentChanges": [{"text": edited}],
            },
        )
        assert client.diagnostics(uri) == []
    # Back to the file as saved: the finding comes back on save.
    client.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": text}]},
    )
    assert len(client.diagnostics(uri)) == 1
    client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    assert [d["message"] for d in client.diagnostics(uri)] == [finding["message"]]


def test_mT_fix_on_shapesafe_ops_makes_the_finding_go_away(client: Client, workspace: Path) -> None:
    path = workspace / "linear_transposed_weight.py"
    uri = path.as_uri()
    actions = client.request(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": uri},
            "range": span((12, 4), (12, 10)),
            "context": {"diagnostics": []},
        },
    )
    assert actions[0]["title"] == "Replace with w_t.mT"
    edits = actions[0]["edit"]["changes"][uri]
    assert edits == [{"range": span((12, 24), (12, 27)), "newText": "w_t.mT"}]
    edited = apply(path.read_text(), edits)
    client.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": edited}]},
    )
    assert client.diagnostics(uri) == []


def test_hover_gives_the_shape_and_where_its_dims_were_bound(
    client: Client, workspace: Path
) -> None:
    uri = open_doc(client, workspace / "attention_ok.py")
    client.diagnostics(uri)
    # `weights` on line 16, where it is bound, and on line 17, where it is read.
    expected = 'weights: (b, s, t)\nb, s from q "b s d" (line 14); t from k "b t d" (line 14)'
    for line, character in [(15, 6), (16, 20)]:
        hover = client.request(
            "textDocument/hover",
            {"textDocument": {"uri": uri}, "position": at(line, character)},
        )
        assert hover["contents"] == {"kind": "plaintext", "value": expected}
    # On `softmax`: the value that line 16 assigns to weights.
    hover = client.request(
        "textDocument/hover", {"textDocument": {"uri": uri}, "position": at(15, 18)}
    )
    assert hover["contents"]["value"] == expected.replace("weights", "ss.softmax(...)")


def test_inlay_hints_give_each_assigned_shape(client: Client, workspace: Path) -> None:
    uri = open_doc(client, workspace / "raw_heads_ok.py")
    assert client.diagnostics(uri) == []
    hints = client.request(
        "textDocument/inlayHint",
        {"textDocument": {"uri": uri}, "range": span((12, 0), (20, 0))},
    )
    assert [(h["position"]["line"], h["position"]["character"], h["label"]) for h in hints] == [
        (12, 6, ": (b, n_heads, s, d//n_heads)"),
        (13, 6, ": (b, n_heads, t, d//n_heads)"),
    ]
    assert {h["kind"] for h in hints} == {1}


def test_a_file_never_saved_gets_diagnostics_and_hover(client: Client, workspace: Path) -> None:
    path = workspace / "never_saved.py"
    text = (workspace / "raw_linear_transposed.py").read_text()
    uri = path.as_uri()
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
    )
    [finding] = client.diagnostics(uri)
    assert finding["range"] == span((11, 11), (11, 25))
    assert not path.exists()
    hover = client.request(
        "textDocument/hover", {"textDocument": {"uri": uri}, "position": at(10, 12)}
    )
    assert hover["contents"]["value"] == "x: (b, s, d_in)"


def test_an_untitled_python_buffer_gets_diagnostics(client: Client, workspace: Path) -> None:
    text = (workspace / "raw_linear_transposed.py").read_text()
    for uri, language in (("untitled:Untitled-2", "plaintext"), ("untitled:Untitled-1", "python")):
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}},
        )
    [finding] = client.diagnostics("untitled:Untitled-1")
    assert finding["range"] == span((11, 11), (11, 25))
    assert finding["message"].endswith("did you mean w.T?")
    # Not a Python buffer: nothing was published for it, before the Python one's.
    assert not [m for m in client.kept if m.get("params", {}).get("uri") == "untitled:Untitled-2"]
    hover = client.request(
        "textDocument/hover",
        {"textDocument": {"uri": "untitled:Untitled-1"}, "position": at(10, 12)},
    )
    assert hover["contents"]["value"] == "x: (b, s, d_in)"


def test_settings_come_from_the_workspace_folder(tmp_path: Path) -> None:
    """A client that names only workspace folders: `[tool.shapesafe]` of the first one."""
    shutil.copy(STATIC / "linear_transposed_weight.py", tmp_path / "bug.py")
    (tmp_path / "pyproject.toml").write_text('[tool.shapesafe]\nignore = ["shape"]\n')
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    client = Client(tmp_path, env)
    folder = {"uri": tmp_path.as_uri(), "name": "project"}
    client.request(
        "initialize", {"processId": None, "workspaceFolders": [folder], "capabilities": {}}
    )
    client.notify("initialized", {})
    uri = open_doc(client, tmp_path / "bug.py")
    assert client.diagnostics(uri) == []
    (tmp_path / "pyproject.toml").unlink()
    client.close()
