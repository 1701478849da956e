"""The pygls side of `shapesafe lsp`: the protocol's messages, to and from a `Session`."""

import re
import tempfile
from pathlib import Path

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from . import __version__
from ._static._report import Finding
from .lsp import Edit, Session

SOURCE = "shapesafe"


class ShapeServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "shapesafe", __version__, text_document_sync_kind=t.TextDocumentSyncKind.Full
        )
        self.session: Session | None = None

    def workspace_session(self) -> Session:
        if self.session is None:
            root = self.workspace.root_path
            if not root:  # a client that names only workspace folders: the first one
                folders = list(self.workspace.folders.values())
                root = to_fs_path(folders[0].uri) if folders else None
            self.session = Session(Path(root) if root else None)
        return self.session


# Where an editor's untitled buffer (`untitled:Untitled-1`) is said to be: a folder that is
# never made, so that the buffer is always checked from the editor's text.
UNTITLED = Path(tempfile.gettempdir()) / "shapesafe-untitled"


def _path(uri: str) -> Path | None:
    if uri.startswith("untitled:"):
        return UNTITLED / (re.sub(r"\W", "_", uri[len("untitled:") :]) + ".py")
    path = to_fs_path(uri)
    return Path(path) if path and path.endswith(".py") else None


def _range(start: tuple[int, int], end: tuple[int, int]) -> t.Range:
    return t.Range(t.Position(*start), t.Position(*end))


def _diagnostic(session: Session, path: Path, f: Finding) -> t.Diagnostic:
    start, end = session.finding_range(path, f)
    return t.Diagnostic(
        range=_range(start, end),
        message=f.message,
        severity=t.DiagnosticSeverity.Error,
        code="shape",
        source=SOURCE,
    )


def _publish(server: ShapeServer, uri: str, text: str, version: int | None, language: str) -> None:
    path = _path(uri)
    if path is None or (uri.startswith("untitled:") and language != "python"):
        return
    session = server.workspace_session()
    for checked, findings in session.open(path, text).items():
        server.text_document_publish_diagnostics(
            t.PublishDiagnosticsParams(
                uri=checked.as_uri() if checked != path.resolve() else uri,
                diagnostics=[_diagnostic(session, checked, f) for f in findings],
                version=version if checked == path.resolve() else None,
            )
        )


def _text_edit(edit: Edit) -> t.TextEdit:
    return t.TextEdit(range=_range(edit.start, edit.end), new_text=edit.text)


def build() -> ShapeServer:
    server = ShapeServer()

    @server.feature(t.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ShapeServer, params: t.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        _publish(ls, doc.uri, doc.text, doc.version, doc.language_id)

    @server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ShapeServer, params: t.DidChangeTextDocumentParams) -> None:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        _publish(ls, doc.uri, doc.source, doc.version, doc.language_id or "")

    @server.feature(t.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: ShapeServer, params: t.DidSaveTextDocumentParams) -> None:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        _publish(ls, doc.uri, doc.source, doc.version, doc.language_id or "")

    @server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ShapeServer, params: t.DidCloseTextDocumentParams) -> None:
        path = _path(params.text_document.uri)
        if path is not None:
            ls.workspace_session().close(path)
        ls.text_document_publish_diagnostics(
            t.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
        )

    @server.feature(t.TEXT_DOCUMENT_HOVER)
    def hover(ls: ShapeServer, params: t.HoverParams) -> t.Hover | None:
        path = _path(params.text_document.uri)
        if path is None:
            return None
        pos = params.position
        text = ls.workspace_session().hover(path, pos.line, pos.character)
        if text is None:
            return None
        return t.Hover(contents=t.MarkupContent(kind=t.MarkupKind.PlainText, value=text))

    @server.feature(t.TEXT_DOCUMENT_INLAY_HINT)
    def inlay_hint(ls: ShapeServer, params: t.InlayHintParams) -> list[t.InlayHint]:
        path = _path(params.text_document.uri)
        if path is None:
            return []
        r = params.range
        return [
            t.InlayHint(
                position=t.Position(line, character),
                label=label,
                kind=t.InlayHintKind.Type,
            )
            for line, character, label in ls.workspace_session().inlay_hints(
                path, r.start.line, r.end.line
            )
        ]

    @server.feature(
        t.TEXT_DOCUMENT_CODE_ACTION,
        t.CodeActionOptions(code_action_kinds=[t.CodeActionKind.QuickFix]),
    )
    def code_action(ls: ShapeServer, params: t.CodeActionParams) -> list[t.CodeAction]:
        path = _path(params.text_document.uri)
        if path is None:
            return []
        session = ls.workspace_session()
        r = params.range
        out = []
        for fix in session.fixes(path, r.start.line, r.end.line):
            out.append(
                t.CodeAction(
                    title=fix.title,
                    kind=t.CodeActionKind.QuickFix,
                    diagnostics=[_diagnostic(session, path, fix.finding)],
                    edit=t.WorkspaceEdit(
                        changes={params.text_document.uri: [_text_edit(fix.edit)]}
                    ),
                )
            )
        return out

    return server


def serve() -> None:
    build().start_io()
