"""A browserless Streamlit client for load tests: speaks the app's own websocket protocol.

A browser tab talks to a Streamlit server over one websocket (`/_stcore/stream`): it sends `BackMsg`
protobufs (`rerun_script` with the page and the widgets' values) and receives `ForwardMsg`s (the
elements the script draws, then `script_finished`). This client does the same with the protobuf
classes shipped in the installed Streamlit, so a load test measures the server without paying for N
browsers' rendering (on a small machine, N Chromiums saturate the CPU long before the app does).

What it does not do: run custom components (the login-cookie component) or draw anything. Widget values
are sent the way the browser sends them: the formatted option strings, lists for multiselects and
segmented controls, a trigger for a button, form values with their submit button's trigger.
"""

from __future__ import annotations

import contextlib
import time
import urllib.request
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.sync.client import connect
from websockets.typing import Subprotocol

WIDGETS = {
    "text_input",
    "number_input",
    "selectbox",
    "multiselect",
    "slider",
    "button",
    "button_group",
    "download_button",
    "checkbox",
    "text_area",
    "radio",
}
DONE = {
    ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY,
    ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
}


class ProtocolError(RuntimeError):
    """The app did not answer as a browser would expect (a missing widget, an exception element)."""


@dataclass(eq=False)
class Widget:
    id: str
    kind: str
    label: str
    proto: object
    fragment_id: str = ""


@dataclass
class Session:
    """One browser tab's worth of protocol: call :meth:`open`, then :meth:`run` with widget changes."""

    base_url: str
    timeout_s: float = 120.0
    page_hash: str = ""
    _cookie: str = ""
    widgets: dict[str, Widget] = field(default_factory=dict)
    metrics: dict[str, str] = field(default_factory=dict)
    headings: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    _states: dict[str, WidgetState] = field(default_factory=dict)

    def open(self) -> float:
        host = self.base_url.split("://", 1)[1].rstrip("/")
        self._stack = contextlib.ExitStack()
        self.ws = self._stack.enter_context(
            connect(
                f"ws://{host}/_stcore/stream",
                subprotocols=[Subprotocol("streamlit")],
                origin=self.base_url,
                max_size=None,
                open_timeout=self.timeout_s,
            )
        )
        # Behind the cluster's nginx the websocket's answer names the replica (the aci_replica cookie): this
        # tab's file downloads and cached-message fetches must go to that replica too, as a browser's do.
        self._cookie = "; ".join(
            c.split(";", 1)[0] for c in self.ws.response.headers.get_all("Set-Cookie") if c.startswith("aci_")
        )
        return self.run()

    def _get(self, url: str) -> bytes:
        request = urllib.request.Request(url, headers={"Cookie": self._cookie} if self._cookie else {})
        with urllib.request.urlopen(request, timeout=self.timeout_s) as r:
            return r.read()

    def close(self) -> None:
        self._stack.close()

    # --- finding widgets ----------------------------------------------------------------------
    def find(self, key: str | None = None, *, label: str | None = None, kind: str | None = None) -> Widget:
        """A widget of the last run by its key (Streamlit puts the user's key at the end of the id) or label."""
        for w in self.widgets.values():
            if kind and w.kind != kind:
                continue
            if (key and w.id.endswith(f"-{key}")) or (label and w.label == label):
                return w
        raise ProtocolError(
            f"no widget {key or label!r} ({kind or 'any kind'}) on the page; "
            f"headings {self.headings[:3]}, exceptions {self.exceptions[:1]}"
        )

    # --- running ---------------------------------------------------------------------------------
    def run(
        self, values: dict[Widget, object] | None = None, click: Widget | None = None, fragment: bool = False
    ) -> float:
        """Send a rerun with these widget values (and a button click), wait until the script has finished;
        seconds taken. ``fragment``: rerun only the clicked / changed widget's fragment, as the browser does."""
        for w, v in (values or {}).items():
            self._states[w.id] = _state(w, v)
        states = list(self._states.values())
        fragment_id = ""
        if click is not None:
            states.append(WidgetState(id=click.id, trigger_value=True))
        if fragment:
            fragment_id = (click or next(iter(values or {}))).fragment_id
        cs = ClientState(page_script_hash=self.page_hash, fragment_id=fragment_id)
        cs.widget_states.widgets.extend(states)
        if not fragment:
            self.widgets, self.metrics, self.headings, self.exceptions = {}, {}, [], []
        t0 = time.perf_counter()
        self.ws.send(BackMsg(rerun_script=cs).SerializeToString())
        self._read_until_finished(t0 + self.timeout_s)
        return time.perf_counter() - t0

    def _read_until_finished(self, deadline: float) -> None:
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError("the script did not finish in time")
            data = self.ws.recv(timeout=left)
            msg = ForwardMsg.FromString(data if isinstance(data, bytes) else data.encode())
            kind = msg.WhichOneof("type")
            if kind == "ref_hash":  # a message the server cached: fetch it like the browser does
                msg = self._cached(msg.ref_hash)
                kind = msg.WhichOneof("type")
            if kind == "new_session" and msg.new_session.page_script_hash:
                self.page_hash = msg.new_session.page_script_hash
            elif kind == "navigation" and msg.navigation.page_script_hash:
                self.page_hash = msg.navigation.page_script_hash
            elif kind == "delta":
                self._element(msg)
            elif kind == "script_finished" and msg.script_finished in DONE:
                return

    def _cached(self, ref: str) -> ForwardMsg:
        return ForwardMsg.FromString(self._get(f"{self.base_url}/_stcore/message?hash={ref}"))

    def _element(self, msg: ForwardMsg) -> None:
        delta = msg.delta
        if delta.WhichOneof("type") != "new_element":
            return
        el = delta.new_element
        kind = el.WhichOneof("type")
        proto = getattr(el, kind) if kind else None
        if kind in WIDGETS and getattr(proto, "id", ""):
            self.widgets[proto.id] = Widget(
                proto.id, kind, getattr(proto, "label", ""), proto, delta.fragment_id
            )
        elif kind == "metric":
            self.metrics[el.metric.label] = el.metric.body
        elif kind == "heading":
            self.headings.append(el.heading.body)
        elif kind == "exception":
            self.exceptions.append(f"{el.exception.type}: {el.exception.message}")

    def download(self, button: Widget) -> bytes:
        url = button.proto.url
        return self._get(url if url.startswith("http") else self.base_url + url)


def _state(w: Widget, v: object) -> WidgetState:
    s = WidgetState(id=w.id)
    if w.kind in ("text_input", "text_area", "selectbox", "radio"):
        s.string_value = str(v)
    elif w.kind == "number_input":
        s.double_value = float(v)  # type: ignore[arg-type]
    elif w.kind == "slider":
        s.double_array_value.data.extend([float(x) for x in (v if isinstance(v, list | tuple) else [v])])  # type: ignore[union-attr]
    elif w.kind in ("multiselect", "button_group"):
        s.string_array_value.data.extend([str(x) for x in (v if isinstance(v, list | tuple) else [v])])  # type: ignore[union-attr]
    elif w.kind == "checkbox":
        s.bool_value = bool(v)
    else:
        raise ProtocolError(f"cannot set a {w.kind}")
    return s
