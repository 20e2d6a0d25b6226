"""Small in-process mock APIs that tool calls run against: calendar, bank ledger, weather, file
store.

Each API is plain Python over a JSON state dict. A tool is a method that takes keyword arguments
and returns ``(status_code, payload)`` with HTTP-like codes (200 ok, 201 created, 400 bad request,
404 not found, 409 conflict, 422 unprocessable, 500 a tool raised). Nothing here evaluates
model-written text as code: arguments are data, looked up and compared, never executed.

>>> api = make_api("calendar", {"events": []})
>>> event = {"title": "Sync", "date": "2026-03-02", "start": "10:00", "end": "10:30"}
>>> api.call("create_event", event)  # doctest: +NORMALIZE_WHITESPACE
(201, {'id': 'evt-1', 'title': 'Sync', 'date': '2026-03-02', 'start': '10:00', 'end': '10:30',
       'attendees': []})
>>> api.snapshot()["events"][0]["title"]
'Sync'
"""

from __future__ import annotations

import copy
import re
from typing import Any, Callable, ClassVar, Mapping

from verifiers.errors import BadReferenceError

Response = tuple[int, Any]

_DATE = r"^\d{4}-\d{2}-\d{2}$"
_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"


def _fn(
    name: str, description: str, properties: Mapping[str, Any], required: list[str]
) -> dict[str, Any]:
    """An OpenAI function-calling tool definition."""
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": dict(properties),
                "required": required,
                "additionalProperties": False,
            },
        },
    }


class MockAPI:
    """Base class: a JSON state and tools (methods named in ``TOOLS``) returning
    ``(status, payload)``."""

    name: ClassVar[str] = ""
    TOOLS: ClassVar[tuple[dict[str, Any], ...]] = ()

    def __init__(self, state: Mapping[str, Any] | None = None) -> None:
        self.state: dict[str, Any] = self.initial_state()
        if state:
            self.state.update(copy.deepcopy(dict(state)))

    @classmethod
    def initial_state(cls) -> dict[str, Any]:
        return {}

    @classmethod
    def tool_definitions(cls) -> list[dict[str, Any]]:
        """The OpenAI function-calling definitions of this API's tools (fresh copies)."""
        return copy.deepcopy(list(cls.TOOLS))

    @classmethod
    def tool_names(cls) -> list[str]:
        return [tool["function"]["name"] for tool in cls.TOOLS]

    def call(self, tool: str, arguments: Mapping[str, Any]) -> Response:
        """Run one tool; unknown tools and bad arguments give 4xx responses, never exceptions."""
        if tool not in self.tool_names():
            return 404, {"error": f"unknown tool {tool!r}"}
        method: Callable[..., Response] = getattr(self, f"tool_{tool}")
        try:
            return method(**dict(arguments))
        # missing, unexpected or malformed arguments
        except (TypeError, ValueError, KeyError) as exc:
            return 400, {"error": f"bad arguments for {tool}: {exc}"}
        except Exception as exc:  # a bug in a (user) tool is the server's fault, reported as 500
            return 500, {"error": f"{tool} failed: {type(exc).__name__}: {exc}"}

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the current state (what end-state checks compare)."""
        return copy.deepcopy(self.state)


def _check(pattern: str, value: Any, what: str) -> str:
    if not isinstance(value, str) or not re.match(pattern, value):
        raise ValueError(f"{what} must match {pattern}, got {value!r}")
    return value


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class CalendarAPI(MockAPI):
    """Events on dates; working hours 09:00-17:00; overlapping events are refused (409)."""

    name = "calendar"
    TOOLS = (
        _fn(
            "list_events",
            "List the events on a date.",
            {"date": {"type": "string", "pattern": _DATE}},
            ["date"],
        ),
        _fn(
            "find_free_slot",
            "Earliest free slot of a given length on a date, within 09:00-17:00.",
            {
                "date": {"type": "string", "pattern": _DATE},
                "duration_minutes": {"type": "integer", "minimum": 5, "maximum": 480},
            },
            ["date", "duration_minutes"],
        ),
        _fn(
            "create_event",
            "Create an event; fails with 409 if it overlaps another event.",
            {
                "title": {"type": "string", "minLength": 1},
                "date": {"type": "string", "pattern": _DATE},
                "start": {"type": "string", "pattern": _TIME},
                "end": {"type": "string", "pattern": _TIME},
                "attendees": {"type": "array", "items": {"type": "string"}},
            },
            ["title", "date", "start", "end"],
        ),
        _fn(
            "cancel_event", "Cancel an event by id.", {"event_id": {"type": "string"}}, ["event_id"]
        ),
    )
    DAY = (9 * 60, 17 * 60)

    @classmethod
    def initial_state(cls) -> dict[str, Any]:
        return {"events": [], "next_id": 1}

    def _on(self, date: str) -> list[dict[str, Any]]:
        return sorted(
            (e for e in self.state["events"] if e["date"] == date), key=lambda e: e["start"]
        )

    def tool_list_events(self, date: str) -> Response:
        _check(_DATE, date, "date")
        return 200, {"date": date, "events": copy.deepcopy(self._on(date))}

    def tool_find_free_slot(self, date: str, duration_minutes: int) -> Response:
        _check(_DATE, date, "date")
        if (
            not isinstance(duration_minutes, int)
            or isinstance(duration_minutes, bool)
            or duration_minutes < 5
        ):
            return 400, {"error": "duration_minutes must be an integer >= 5"}
        cursor = self.DAY[0]
        for event in self._on(date):
            if _minutes(event["start"]) - cursor >= duration_minutes:
                break
            cursor = max(cursor, _minutes(event["end"]))
        if cursor + duration_minutes > self.DAY[1]:
            return 404, {"error": f"no free {duration_minutes}-minute slot on {date}"}
        return 200, {"date": date, "start": _hhmm(cursor), "end": _hhmm(cursor + duration_minutes)}

    def tool_create_event(
        self, title: str, date: str, start: str, end: str, attendees: list[str] | None = None
    ) -> Response:
        for value, what, pattern in (
            (date, "date", _DATE),
            (start, "start", _TIME),
            (end, "end", _TIME),
        ):
            _check(pattern, value, what)
        if not isinstance(title, str) or not title.strip():
            return 400, {"error": "title must be a non-empty string"}
        if _minutes(end) <= _minutes(start):
            return 400, {"error": f"end {end} must be after start {start}"}
        for event in self._on(date):
            if _minutes(start) < _minutes(event["end"]) and _minutes(event["start"]) < _minutes(
                end
            ):
                return 409, {"error": f"overlaps {event['id']} ({event['start']}-{event['end']})"}
        event = {
            "id": f"evt-{self.state['next_id']}",
            "title": title,
            "date": date,
            "start": start,
            "end": end,
            "attendees": sorted(attendees or []),
        }
        self.state["next_id"] += 1
        self.state["events"].append(event)
        return 201, copy.deepcopy(event)

    def tool_cancel_event(self, event_id: str) -> Response:
        for index, event in enumerate(self.state["events"]):
            if event["id"] == event_id:
                del self.state["events"][index]
                return 200, {"cancelled": event_id}
        return 404, {"error": f"no event {event_id!r}"}


class BankAPI(MockAPI):
    """Accounts with integer balances in cents; transfers that would overdraw are refused (422)."""

    name = "bank"
    TOOLS = (
        _fn(
            "get_balance",
            "Balance of an account, in cents.",
            {"account": {"type": "string"}},
            ["account"],
        ),
        _fn(
            "transfer",
            "Move an amount (cents) between two accounts.",
            {
                "from_account": {"type": "string"},
                "to_account": {"type": "string"},
                "amount_cents": {"type": "integer", "minimum": 1},
            },
            ["from_account", "to_account", "amount_cents"],
        ),
        _fn(
            "deposit",
            "Deposit an amount (cents) into an account.",
            {"account": {"type": "string"}, "amount_cents": {"type": "integer", "minimum": 1}},
            ["account", "amount_cents"],
        ),
    )

    @classmethod
    def initial_state(cls) -> dict[str, Any]:
        return {"accounts": {}, "ledger": []}

    def _account(self, name: str) -> dict[str, Any] | None:
        return self.state["accounts"].get(name) if isinstance(name, str) else None

    def tool_get_balance(self, account: str) -> Response:
        acct = self._account(account)
        if acct is None:
            return 404, {"error": f"no account {account!r}"}
        return 200, {"account": account, "balance_cents": acct["balance_cents"]}

    def tool_transfer(self, from_account: str, to_account: str, amount_cents: int) -> Response:
        src, dst = self._account(from_account), self._account(to_account)
        if src is None or dst is None:
            missing = from_account if src is None else to_account
            return 404, {"error": f"no account {missing!r}"}
        if not _positive_int(amount_cents) or from_account == to_account:
            return 400, {
                "error": "amount_cents must be a positive integer and the accounts must differ"
            }
        if src["balance_cents"] < amount_cents:
            return 422, {"error": f"insufficient funds in {from_account!r}"}
        src["balance_cents"] -= amount_cents
        dst["balance_cents"] += amount_cents
        self.state["ledger"].append(
            {"op": "transfer", "from": from_account, "to": to_account, "amount_cents": amount_cents}
        )
        return 200, {
            "from_balance_cents": src["balance_cents"],
            "to_balance_cents": dst["balance_cents"],
        }

    def tool_deposit(self, account: str, amount_cents: int) -> Response:
        acct = self._account(account)
        if acct is None:
            return 404, {"error": f"no account {account!r}"}
        if not _positive_int(amount_cents):
            return 400, {"error": "amount_cents must be a positive integer"}
        acct["balance_cents"] += amount_cents
        self.state["ledger"].append({"op": "deposit", "to": account, "amount_cents": amount_cents})
        return 200, {"balance_cents": acct["balance_cents"]}


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class WeatherAPI(MockAPI):
    """Read-only forecasts by city and date."""

    name = "weather"
    TOOLS = (
        _fn(
            "get_forecast",
            "Forecast for a city on a date.",
            {"city": {"type": "string"}, "date": {"type": "string", "pattern": _DATE}},
            ["city", "date"],
        ),
    )

    @classmethod
    def initial_state(cls) -> dict[str, Any]:
        return {"forecasts": {}}

    def tool_get_forecast(self, city: str, date: str) -> Response:
        _check(_DATE, date, "date")
        forecast = (
            self.state["forecasts"].get(city, {}).get(date) if isinstance(city, str) else None
        )
        if forecast is None:
            return 404, {"error": f"no forecast for {city!r} on {date}"}
        return 200, {"city": city, "date": date, **copy.deepcopy(forecast)}


class FileStoreAPI(MockAPI):
    """A flat store of text files keyed by path."""

    name = "files"
    TOOLS = (
        _fn(
            "list_files",
            "Paths starting with a prefix.",
            {"prefix": {"type": "string"}},
            ["prefix"],
        ),
        _fn("read_file", "Content of a file.", {"path": {"type": "string"}}, ["path"]),
        _fn(
            "write_file",
            "Create or overwrite a file.",
            {"path": {"type": "string", "minLength": 1}, "content": {"type": "string"}},
            ["path", "content"],
        ),
        _fn("delete_file", "Delete a file.", {"path": {"type": "string"}}, ["path"]),
    )

    @classmethod
    def initial_state(cls) -> dict[str, Any]:
        return {"files": {}}

    def tool_list_files(self, prefix: str) -> Response:
        if not isinstance(prefix, str):
            return 400, {"error": "prefix must be a string"}
        return 200, {"paths": sorted(p for p in self.state["files"] if p.startswith(prefix))}

    def tool_read_file(self, path: str) -> Response:
        if path not in self.state["files"]:
            return 404, {"error": f"no file {path!r}"}
        return 200, {"path": path, "content": self.state["files"][path]}

    def tool_write_file(self, path: str, content: str) -> Response:
        if not isinstance(path, str) or not path or not isinstance(content, str):
            return 400, {"error": "path and content must be strings"}
        created = path not in self.state["files"]
        self.state["files"][path] = content
        return (201 if created else 200), {"path": path, "bytes": len(content.encode("utf-8"))}

    def tool_delete_file(self, path: str) -> Response:
        if path not in self.state["files"]:
            return 404, {"error": f"no file {path!r}"}
        del self.state["files"][path]
        return 200, {"deleted": path}


#: Mock APIs by name, as a task's ``environment.api`` names them.
APIS: dict[str, type[MockAPI]] = {
    cls.name: cls for cls in (CalendarAPI, BankAPI, WeatherAPI, FileStoreAPI)
}


def make_api(name: str, state: Mapping[str, Any] | None = None) -> MockAPI:
    """A fresh mock API ``name`` with ``state`` applied over its initial state."""
    if name not in APIS:
        raise BadReferenceError(f"unknown mock API {name!r}; available: {', '.join(sorted(APIS))}")
    if state is not None and not isinstance(state, Mapping):
        raise BadReferenceError(f"environment.state must be an object, got {type(state).__name__}")
    return APIS[name](state)


def register_api(cls: type[MockAPI], *, replace: bool = False) -> type[MockAPI]:
    """Make a user :class:`MockAPI` subclass available to tasks as ``environment.api = cls.name``.

    Usable as a class decorator. Tools are the ``tool_<name>`` methods listed in ``TOOLS``.
    """
    if not (isinstance(cls, type) and issubclass(cls, MockAPI)) or not cls.name:
        raise TypeError(f"{cls!r} must be a MockAPI subclass with a non-empty 'name'")
    if cls.name in APIS and APIS[cls.name] is not cls and not replace:
        raise ValueError(
            f"mock API {cls.name!r} is already registered; pass replace=True to override it"
        )
    missing = [
        name for name in cls.tool_names() if not callable(getattr(cls, f"tool_{name}", None))
    ]
    if missing:
        raise TypeError(
            f"{cls.__name__} lists tools without a tool_<name> method: {', '.join(missing)}"
        )
    APIS[cls.name] = cls
    return cls
