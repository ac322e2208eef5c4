"""Service definitions: a service is a JSON (or YAML) file, checked against a JSON schema when it is loaded.

A definition that breaks the schema, or that the schema cannot check on its own (a duplicate field id, a
claim taken from a field that does not exist, a code claim the code type does not have), is refused with
a :class:`DefinitionError` naming the file and the place in it. The kiosk then runs without that service
and carries on with the others: one bad file delivered later must not take the whole self-service down.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from kiosk.codes.claims import CODE_TYPES, ID_FIELD, VALIDITY_FIELDS
from kiosk.fileio import MAX_JSON_DEPTH, FileProblem, json_depth, read_capped, read_json
from kiosk.paths import ASSETS_DIR

log = logging.getLogger(__name__)

SERVICES_DIR = ASSETS_DIR / "services"
SCHEMA_PATH = SERVICES_DIR / "service.schema.json"
SUFFIXES = (".json", ".yaml", ".yml")
SCALAR_TYPES = ("text", "number", "choice", "yesno", "date", "phone", "plate", "id_number")


class DefinitionError(ValueError):
    """A service definition that cannot be used; the message names the file and the field."""

    def __init__(self, source: str, where: str, problem: str) -> None:
        super().__init__(f"{source}: {where}: {problem}" if where else f"{source}: {problem}")
        self.source = source
        self.where = where


Texts = Mapping[str, str]


@dataclass(frozen=True)
class Option:
    id: str
    label: Texts
    prefix: str | None = None


@dataclass(frozen=True)
class FieldDef:
    id: str
    type: str
    label: Texts
    required: bool = True
    personal: bool = False
    mask: str = "none"
    from_card: str | None = None
    hint: Texts | None = None
    example: Any = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    options: tuple[Option, ...] = ()
    min_days: int | None = None
    max_days: int | None = None
    min_items: int = 0
    max_items: int = 20
    capture: bool = False
    day_field: str | None = None
    service_field: str | None = None
    fields: tuple[FieldDef, ...] = ()

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)


@dataclass(frozen=True)
class Step:
    id: str
    kind: str  # id_capture | fields | review
    title: Texts
    fields: tuple[FieldDef, ...] = ()


@dataclass(frozen=True)
class CodeSpec:
    type: str
    claims: Mapping[str, Any]
    valid_hours: float | None = None


@dataclass(frozen=True)
class ReceiptSpec:
    fields: tuple[str, ...]
    instruction: Texts
    big: Any = None


@dataclass(frozen=True)
class ServiceDefinition:
    id: str
    version: int
    title: Texts
    steps: tuple[Step, ...]
    code: CodeSpec
    receipt: ReceiptSpec
    source: str
    order: int = 100
    ticket_field: str | None = None
    fields: tuple[FieldDef, ...] = field(default=(), repr=False)
    decision: str | None = None  # the decision file (kiosk.decisions) that decides its submissions

    def field(self, field_id: str) -> FieldDef:
        return next(f for f in self.fields if f.id == field_id)

    def title_in(self, language: str) -> str:
        return text_in(self.title, language)


def text_in(texts: Texts, language: str) -> str:
    return texts.get(language) or texts["zh-CN"]


@cache
def _validator() -> Any:
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _read(path: Path) -> Any:
    if path.suffix == ".json":
        return read_json(path)
    data = read_capped(path)
    import yaml

    # YAML nests with indentation as well as brackets, so the depth is checked on what it parsed to.
    raw = yaml.safe_load(data.decode("utf-8"))
    if json_depth(json.dumps(raw, default=str)) > MAX_JSON_DEPTH:
        raise FileProblem(str(path), f"nested more than {MAX_JSON_DEPTH} deep")
    return raw


def parse_definition(raw: Any, source: str) -> ServiceDefinition:
    """Check ``raw`` (the parsed file) against the schema and the rules beyond it; build the definition."""
    errors = sorted(
        _validator().iter_errors(raw), key=lambda e: (len(e.absolute_path), list(map(str, e.path)))
    )
    if errors:
        import jsonschema

        # best_match picks the most specific error of a oneOf/anyOf, which is the one a person can act on.
        err = jsonschema.exceptions.best_match(errors)
        raise DefinitionError(source, _path(err.absolute_path), err.message)
    steps = tuple(_step(s, f"steps[{i}]", source) for i, s in enumerate(raw["steps"]))
    fields: list[FieldDef] = []
    seen: dict[str, str] = {}
    for i, step in enumerate(steps):
        for j, fdef in enumerate(step.fields):
            where = f"steps[{i}].fields[{j}].id"
            if fdef.id in seen:
                raise DefinitionError(
                    source, where, f"field id {fdef.id!r} is already used in {seen[fdef.id]}"
                )
            seen[fdef.id] = step.id
            fields.append(fdef)
    if steps[-1].kind != "review":
        raise DefinitionError(source, f"steps[{len(steps) - 1}].kind", "the last step must be a review step")
    code = raw["code"]
    definition = ServiceDefinition(
        id=raw["id"],
        version=raw["version"],
        title=raw["title"],
        steps=steps,
        code=CodeSpec(code["type"], code["claims"], code.get("valid_hours")),
        receipt=ReceiptSpec(
            tuple(raw["receipt"]["fields"]), raw["receipt"]["instruction"], raw["receipt"].get("big")
        ),
        source=source,
        order=raw.get("order", 100),
        ticket_field=raw.get("ticket", {}).get("field"),
        fields=tuple(fields),
        decision=raw.get("decision"),
    )
    _check_references(definition, source)
    return definition


def _field(raw: Mapping[str, Any], where: str, source: str) -> FieldDef:
    kind = raw["type"]
    pattern = raw.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as err:
            raise DefinitionError(source, f"{where}.pattern", f"not a regular expression: {err}") from None
    for low, high in (("min_length", "max_length"), ("minimum", "maximum"), ("min_days", "max_days")):
        if low in raw and high in raw and raw[low] > raw[high]:
            raise DefinitionError(source, f"{where}.{low}", f"is greater than {high}")
    if raw.get("min_items", 0) > raw.get("max_items", 20):
        raise DefinitionError(source, f"{where}.min_items", "is greater than max_items")
    sub = tuple(_field(f, f"{where}.fields[{k}]", source) for k, f in enumerate(raw.get("fields", ())))
    if kind == "group" and any(f.type in ("group", "slot") for f in sub):
        raise DefinitionError(source, f"{where}.fields", "a group holds simple fields only")
    if kind != "group" and sub:
        raise DefinitionError(source, f"{where}.fields", f"only a group has fields, not a {kind}")
    options = tuple(Option(o["id"], o["label"], o.get("prefix")) for o in raw.get("options", ()))
    if len({o.id for o in options}) != len(options):
        raise DefinitionError(source, f"{where}.options", "option ids must be unique")
    if kind == "yesno":
        options = (
            Option("yes", {"zh-CN": "是", "en": "Yes"}),
            Option("no", {"zh-CN": "否", "en": "No"}),
        )
    default_mask = {"id_number": "id_number", "phone": "phone"}.get(
        kind, "name" if raw.get("personal") else "none"
    )
    return FieldDef(
        id=raw["id"],
        type=kind,
        label=raw["label"],
        required=raw.get("required", True),
        personal=raw.get("personal", kind == "id_number"),
        mask=raw.get("mask", default_mask),
        from_card=raw.get("from_card"),
        hint=raw.get("hint"),
        example=raw.get("example"),
        min_length=raw.get("min_length"),
        max_length=raw.get("max_length"),
        pattern=pattern,
        minimum=raw.get("minimum"),
        maximum=raw.get("maximum"),
        integer=raw.get("integer", False),
        options=options,
        min_days=raw.get("min_days"),
        max_days=raw.get("max_days"),
        min_items=raw.get("min_items", 0),
        max_items=raw.get("max_items", 20),
        capture=raw.get("capture", False),
        day_field=raw.get("day_field"),
        service_field=raw.get("service_field"),
        fields=sub,
    )


def _step(raw: Mapping[str, Any], where: str, source: str) -> Step:
    fields = tuple(_field(f, f"{where}.fields[{k}]", source) for k, f in enumerate(raw.get("fields", ())))
    if raw["kind"] == "id_capture":
        filled = {f.from_card for f in fields}
        if "id_number" not in filled:
            raise DefinitionError(
                source, f"{where}.fields", "an ID-capture step must fill an id_number field"
            )
    if raw["kind"] == "review" and fields:
        raise DefinitionError(source, f"{where}.fields", "a review step has no fields of its own")
    return Step(raw["id"], raw["kind"], raw["title"], fields)


def _check_source(definition: ServiceDefinition, value: Any, where: str, source: str) -> None:
    ids = {f.id: f for f in definition.fields}
    if isinstance(value, str):
        head, _, part = value.partition(".")
        if head not in ids:
            raise DefinitionError(source, where, f"no field {head!r} in this service")
        if part and ids[head].type != "slot":
            raise DefinitionError(source, where, f"field {head!r} has no parts")
    elif "count" in value and ids.get(value["count"], FieldDef("", "", {})).type != "group":
        raise DefinitionError(source, where, f"{value['count']!r} is not a group field of this service")
    elif "label" in value and ids.get(value["label"], FieldDef("", "", {})).type != "choice":
        raise DefinitionError(source, where, f"{value['label']!r} is not a choice field of this service")
    elif value.get("meta") == "ticket" and definition.ticket_field is None:
        raise DefinitionError(source, where, "this service issues no queue numbers (no 'ticket')")


def _check_references(definition: ServiceDefinition, source: str) -> None:
    code_type = CODE_TYPES[definition.code.type]
    known = {f.name for f in code_type.fields} | {ID_FIELD, *VALIDITY_FIELDS}
    for name, value in definition.code.claims.items():
        if name not in known:
            raise DefinitionError(
                source, f"code.claims.{name}", f"{definition.code.type} codes have no claim {name!r}"
            )
        _check_source(definition, value, f"code.claims.{name}", source)
    missing = [f.name for f in code_type.fields if f.name not in definition.code.claims]
    # Codes the central issuer signs get their remaining claims (a health colour) from its review.
    if missing and code_type.device_may_sign:
        raise DefinitionError(source, "code.claims", f"{definition.code.type} codes need claim(s) {missing}")
    ids = {f.id for f in definition.fields}
    for fdef in definition.fields:
        if fdef.type != "slot":
            continue
        by_id = {f.id: f.type for f in definition.fields}
        if by_id.get(fdef.day_field or "") != "date" or by_id.get(fdef.service_field or "") != "choice":
            raise DefinitionError(
                source,
                f"{fdef.id}",
                "a slot needs day_field (a date field) and service_field (a choice field)",
            )
    for i, field_id in enumerate(definition.receipt.fields):
        if field_id not in ids:
            raise DefinitionError(source, f"receipt.fields[{i}]", f"no field {field_id!r} in this service")
    if definition.receipt.big is not None:
        _check_source(definition, definition.receipt.big, "receipt.big", source)
    if definition.ticket_field is not None:
        ticket = next((f for f in definition.fields if f.id == definition.ticket_field), None)
        if ticket is None or ticket.type != "choice" or any(o.prefix is None for o in ticket.options):
            raise DefinitionError(
                source, "ticket.field", "must be a choice field whose options all have a prefix"
            )


def load_definition(path: Path) -> ServiceDefinition:
    try:
        raw = _read(path)
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise DefinitionError(path.name, "", f"cannot be read: {err}") from None
    except Exception as err:  # yaml's errors do not share a base with ValueError
        raise DefinitionError(path.name, "", f"cannot be read: {err}") from None
    return parse_definition(raw, path.name)


def definition_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix in SUFFIXES and p.is_file() and not p.name.endswith(".schema.json")
    )


@dataclass
class Catalogue:
    """The services in force, in home-screen order, and the definitions refused (with why)."""

    services: dict[str, ServiceDefinition]
    refused: list[DefinitionError]

    def ordered(self) -> list[ServiceDefinition]:
        return sorted(self.services.values(), key=lambda d: (d.order, d.id))

    def get(self, service_id: str) -> ServiceDefinition | None:
        return self.services.get(service_id)


def load_catalogue(folders: Iterable[Path], delivered: Iterable[Any] = ()) -> Catalogue:
    """Every usable definition in ``folders`` (shipped first, then the data folder's) and ``delivered``
    (the central bundle's ``services`` part). A later one with the same id replaces an earlier one only
    if its version is not lower, so a stale file cannot roll a service back."""
    services: dict[str, ServiceDefinition] = {}
    refused: list[DefinitionError] = []

    def take(definition: ServiceDefinition) -> None:
        current = services.get(definition.id)
        if current is None or definition.version >= current.version:
            services[definition.id] = definition

    for folder in folders:
        for path in definition_files(folder):
            try:
                take(load_definition(path))
            except DefinitionError as err:
                log.error("service definition refused: %s", err)
                refused.append(err)
    for i, raw in enumerate(delivered):
        try:
            take(parse_definition(raw, f"bundle services[{i}]"))
        except DefinitionError as err:
            log.error("service definition refused: %s", err)
            refused.append(err)
    return Catalogue(services, refused)


def catalogue_for(data_dir: Path) -> Catalogue:
    """The shipped services, ``DATA_DIR/services/`` and the last good bundle's services."""
    delivered: list[Any] = []
    bundle_part = data_dir / "bundle" / "services.json"
    if bundle_part.exists():
        try:
            loaded = read_json(bundle_part)
            # The bundle may still carry plain service names from before definitions were delivered.
            delivered = [s for s in loaded if isinstance(s, dict) and "steps" in s]
        except (OSError, ValueError) as err:
            log.error("bundle services unreadable: %s", err)
    return load_catalogue((SERVICES_DIR, data_dir / "services"), delivered)
