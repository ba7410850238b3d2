"""Every search attribute Accord writes, in one place (the Temporal UI filters on these).

No personal data: stage, partnership name, status, next deadline and escalation level only.
"""

from typing import Any

from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)

STAGE = SearchAttributeKey.for_keyword("AccordStage")
PARTNERSHIP = SearchAttributeKey.for_keyword("AccordPartnership")
STATUS = SearchAttributeKey.for_keyword("AccordStatus")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("AccordNextDeadline")
ESCALATION_LEVEL = SearchAttributeKey.for_int("AccordEscalationLevel")

ALL: list[SearchAttributeKey[Any]] = [STAGE, PARTNERSHIP, STATUS, NEXT_DEADLINE, ESCALATION_LEVEL]

_CLI_TYPES = {"KEYWORD": "Keyword", "DATETIME": "Datetime", "INT": "Int", "TEXT": "Text"}


def dev_server_flags() -> list[str]:
    """`temporal server start-dev` flags that register every key."""
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={_CLI_TYPES[key.indexed_value_type.name]}"]
    return flags


def initial(definition) -> TypedSearchAttributes:
    """What a partnership's workflow carries from its first moment (before it runs)."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(STAGE, "screening"),
            SearchAttributePair(PARTNERSHIP, definition.name),
            SearchAttributePair(STATUS, "on_track"),
            SearchAttributePair(ESCALATION_LEVEL, 0),
        ]
    )


async def ensure_registered(client, namespace: str) -> None:
    """Register every key on a server that lacks them (idempotent)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )
    from temporalio.service import RPCError, RPCStatusCode

    try:
        listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
        existing = set(listed.custom_attributes)
    except RPCError as exc:
        if exc.status != RPCStatusCode.UNIMPLEMENTED:  # the time-skipping test server cannot list
            raise
        existing = set()
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type.value) for key in ALL if key.name not in existing
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
