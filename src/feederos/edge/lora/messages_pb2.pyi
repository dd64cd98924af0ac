# mypy: disable-error-code="misc, metaclass"
# ruff: noqa
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CommandKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMMAND_KIND_UNSPECIFIED: _ClassVar[CommandKind]
    COMMAND_KIND_SHED: _ClassVar[CommandKind]
    COMMAND_KIND_RESTORE: _ClassVar[CommandKind]
    COMMAND_KIND_SET_P_LIMIT: _ClassVar[CommandKind]
COMMAND_KIND_UNSPECIFIED: CommandKind
COMMAND_KIND_SHED: CommandKind
COMMAND_KIND_RESTORE: CommandKind
COMMAND_KIND_SET_P_LIMIT: CommandKind

class Telemetry(_message.Message):
    __slots__ = ("seq_flags", "power", "state")
    SEQ_FLAGS_FIELD_NUMBER: _ClassVar[int]
    POWER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    seq_flags: int
    power: int
    state: int
    def __init__(self, seq_flags: _Optional[int] = ..., power: _Optional[int] = ..., state: _Optional[int] = ...) -> None: ...

class NodeCommand(_message.Message):
    __slots__ = ("seq", "kind", "circuit", "value_10w")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CIRCUIT_FIELD_NUMBER: _ClassVar[int]
    VALUE_10W_FIELD_NUMBER: _ClassVar[int]
    seq: int
    kind: CommandKind
    circuit: int
    value_10w: int
    def __init__(self, seq: _Optional[int] = ..., kind: _Optional[_Union[CommandKind, str]] = ..., circuit: _Optional[int] = ..., value_10w: _Optional[int] = ...) -> None: ...
