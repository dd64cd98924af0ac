"""The MQTT transport of the bus: paho-mqtt 2 speaking MQTT 5 (or 3.1.1) to a broker.

:class:`MqttBus` implements :class:`~feederos.runtime.bus.base.Bus` over one paho client
and its network thread:

- the constructor connects and blocks until the broker's CONNACK, or raises
  :class:`BusConnectionError` naming the broker after ``connect_timeout_s``;
- a lost connection is retried with exponential backoff (``reconnect_min_s`` doubling
  to ``reconnect_max_s``); on every (re)connect each live subscription is subscribed
  again, since the broker may have lost the session (a restart without persistence);
- QoS ≥ 1 publishes made while disconnected are kept by paho (no queue limit) and sent
  after the reconnect, so none is lost; :meth:`MqttBus.flush` waits for their PUBACKs;
- :meth:`MqttBus.subscribe` returns once the broker acknowledged the subscription (when
  connected and not called from a handler), so a message published afterwards by any
  client reaches it;
- handlers run on paho's network thread, one at a time; one that raises is logged and
  counted in :attr:`MqttBus.handler_errors`, and delivery goes on.

Dispatch is done here, over the bus's own subscription table, as in
:class:`~feederos.runtime.bus.memory.InMemoryBus`: each :class:`Subscription` whose
filter matches gets the message once. Brokers send one copy per matching subscription
(Mosquitto 2 does, for overlapping filters such as ``a/+`` and ``a/#``), so with MQTT 5
every SUBSCRIBE carries a *subscription identifier* and a copy goes only to the
subscriptions of the filter(s) it names; a retained message sent in answer to a
SUBSCRIBE goes only to the subscription(s) that SUBSCRIBE was made for. MQTT 3.1.1 has
no identifiers: each copy goes to every matching subscription, so overlapping filters
on a broker that sends one copy per filter give a handler more than one copy (QoS 1 is
at least once anyway).

URLs: ``mqtt://[user:password@]host[:port][?protocol=3.1.1]`` (port 1883) and
``mqtts://...`` (TLS, port 8883); MQTT 5 unless ``protocol=3.1.1`` (the embedded
broker of :mod:`feederos.runtime.broker` speaks only 3.1.1).

Examples
--------
>>> url = parse_mqtt_url("mqtts://app:secret@broker.local?protocol=3.1.1")
>>> url.host, url.port, url.tls, url.protocol, url.username
('broker.local', 8883, True, '3.1.1', 'app')
>>> parse_mqtt_url("http://broker")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
feederos.runtime.bus.mqtt.BusConnectionError: MQTT URL 'http://broker': scheme 'http' ...
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from feederos.errors import FosError
from feederos.runtime.bus.base import BusMessage, Handler, QoS, Subscription, call_handler
from feederos.runtime.topics import check_filter, check_topic, topic_matches

__all__ = ["BusConnectionError", "MqttBus", "MqttTls", "MqttUrl", "parse_mqtt_url"]

_log = logging.getLogger(__name__)

Protocol = Literal["5", "3.1.1"]

_DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
_PROTOCOLS: dict[str, Protocol] = {"5": "5", "5.0": "5", "3.1.1": "3.1.1", "311": "3.1.1"}
_MAX_SUBSCRIPTION_ID = 268_435_455
"""Largest MQTT 5 subscription identifier (a variable byte integer)."""
_MAX_INFLIGHT = 20
"""Unacknowledged QoS ≥ 1 publishes on the wire at once (Mosquitto's receive maximum);
the rest wait in paho's queue, which is unbounded so nothing is dropped."""


def _properties(packet_type: int) -> Properties:
    """Empty MQTT 5 properties of a packet type (paho leaves the constructor untyped)."""
    return Properties(packet_type)  # type: ignore[no-untyped-call]


class BusConnectionError(FosError):
    """The MQTT bus cannot reach, or is refused by, its broker; or its URL or TLS
    settings are wrong. The message names the broker (or file) and what to fix."""


@dataclass(frozen=True, slots=True)
class MqttTls:
    """TLS settings of an ``mqtts://`` connection (all paths PEM files).

    Parameters
    ----------
    ca_file
        CA certificate(s) the broker's certificate must chain to; ``None``: the
        system's trusted CAs.
    cert_file, key_file
        The client's certificate and private key, for brokers that require them.
    insecure
        Skip checking the broker's host name against its certificate (tests only).
    """

    ca_file: str | Path | None = None
    cert_file: str | Path | None = None
    key_file: str | Path | None = None
    insecure: bool = False


@dataclass(frozen=True, slots=True)
class MqttUrl:
    """A parsed broker URL."""

    host: str
    port: int
    tls: bool
    protocol: Protocol
    username: str | None
    password: str | None


def parse_mqtt_url(url: str) -> MqttUrl:
    """Split ``mqtt[s]://[user:password@]host[:port][?protocol=5|3.1.1]`` into its parts.

    Raises :class:`BusConnectionError` naming the URL and what to change.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BusConnectionError(
            f"MQTT URL {url!r} is malformed ({exc}): use mqtt://host:port or mqtts://host:port"
        ) from None
    if parts.scheme not in _DEFAULT_PORTS:
        raise BusConnectionError(
            f"MQTT URL {url!r}: scheme {parts.scheme!r} is not supported; use mqtt:// "
            "(plain TCP) or mqtts:// (TLS)"
        )
    if not parts.hostname:
        raise BusConnectionError(f"MQTT URL {url!r} names no host: use mqtt://host[:port]")
    if parts.path not in ("", "/"):
        raise BusConnectionError(f"MQTT URL {url!r} has a path {parts.path!r}; remove it")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"protocol"})
    if unknown:
        raise BusConnectionError(
            f"MQTT URL {url!r}: unknown option(s) {', '.join(unknown)}; only 'protocol' "
            "(5 or 3.1.1) is understood"
        )
    protocol_text = query.get("protocol", ["5"])[-1]
    if protocol_text not in _PROTOCOLS:
        raise BusConnectionError(
            f"MQTT URL {url!r}: protocol {protocol_text!r} is not supported; use 5 or 3.1.1"
        )
    return MqttUrl(
        host=parts.hostname,
        port=port if port is not None else _DEFAULT_PORTS[parts.scheme],
        tls=parts.scheme == "mqtts",
        protocol=_PROTOCOLS[protocol_text],
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


class MqttBus:
    """A :class:`~feederos.runtime.bus.base.Bus` over an MQTT broker.

    Parameters
    ----------
    url
        The broker, ``mqtt[s]://[user:password@]host[:port][?protocol=3.1.1]``.
    client_id
        The MQTT client id; a persistent session is found again by it. Default: a
        fresh ``feederos-<uuid>``.
    username, password
        Credentials; they take precedence over those in ``url``.
    tls
        TLS files for ``mqtts://`` (default: the system's CAs).
    will
        The last will the broker publishes if this client vanishes without a
        DISCONNECT (the runtime passes a retained ``AppStatus`` "offline").
    keepalive_s
        Keep-alive interval [s]; the broker declares the client dead after 1.5 times it.
    connect_timeout_s
        How long the constructor (and :meth:`subscribe`) wait for the broker [s].
    reconnect_min_s, reconnect_max_s
        First and largest wait between reconnect attempts [s]; doubled at each failure.
    session_expiry_s
        How long the broker keeps this client's session (subscriptions, queued QoS ≥ 1
        messages) after the connection drops [s]. 0: a clean session each connect.
        With MQTT 3.1.1 any value above 0 asks for a persistent session, which the
        broker keeps until its own expiry.
    """

    def __init__(
        self,
        url: str = "mqtt://127.0.0.1:1883",
        *,
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        tls: MqttTls | None = None,
        will: BusMessage | None = None,
        keepalive_s: int = 30,
        connect_timeout_s: float = 10.0,
        reconnect_min_s: float = 0.1,
        reconnect_max_s: float = 5.0,
        session_expiry_s: float = 0.0,
    ) -> None:
        self.url = url
        self._where = ""
        parsed = parse_mqtt_url(url)
        self._where = f"{parsed.host}:{parsed.port}"
        if tls is not None and not parsed.tls:
            raise BusConnectionError(
                f"MQTT URL {url!r}: TLS settings given for a plain mqtt:// URL; use mqtts://"
            )
        if not 0 < reconnect_min_s <= reconnect_max_s:
            raise BusConnectionError(
                f"reconnect_min_s={reconnect_min_s} and reconnect_max_s={reconnect_max_s}: "
                "need 0 < reconnect_min_s <= reconnect_max_s"
            )
        if session_expiry_s < 0:
            raise BusConnectionError(f"session_expiry_s={session_expiry_s} must be >= 0")
        self.client_id = client_id or f"feederos-{uuid.uuid4().hex}"
        self.protocol: Protocol = parsed.protocol
        self._v5 = parsed.protocol == "5"
        self._connect_timeout_s = connect_timeout_s

        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._subs: dict[int, Subscription] = {}  # live, in subscription order
        self._filter_qos: dict[str, QoS] = {}  # broker-side filters and their QoS
        self._sid_filter: dict[int, str] = {}
        self._retained_for: dict[int, tuple[int, ...]] = {}  # sid -> Subscription ids
        self._next_sid = 0
        self._resubscribe_mids: set[int] = set()
        self._sub_results: dict[int, list[ReasonCode]] = {}
        self._unawaited_mids: set[int] = set()
        self._network_thread: threading.Thread | None = None
        self._unacked: set[int] = set()
        self._acked_early: set[int] = set()
        self._connected = False
        self._refused: str | None = None
        self._closed = False

        self.delivered = 0
        """Handler calls made so far."""
        self.handler_errors = 0
        """Handler calls that raised."""
        self.connects = 0
        """Successful connections so far (1 + reconnects)."""

        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if self._v5 else MQTTProtocolVersion.MQTTv311,
            clean_session=None if self._v5 else session_expiry_s == 0,
        )
        self._client = client
        # 0 = no limit: a publish made while the broker is away must wait, not be dropped.
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(_MAX_INFLIGHT)
        # paho types the delays as int but sleeps on floats; sub-second retries matter
        # on loopback, where a restarted broker is back within milliseconds.
        client.reconnect_delay_set(reconnect_min_s, reconnect_max_s)  # type: ignore[arg-type]
        user = username if username is not None else parsed.username
        secret = password if password is not None else parsed.password
        if user is not None:
            client.username_pw_set(user, secret)
        elif secret is not None:
            raise BusConnectionError(
                f"MQTT URL {url!r}: a password without a user name; give both or neither"
            )
        if parsed.tls:
            self._set_tls(tls or MqttTls())
        if will is not None:
            check_topic(will.topic)
            client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_publish = self._on_publish
        client.on_message = self._on_message

        properties = None
        if self._v5:
            properties = _properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = round(session_expiry_s)
        client.connect_async(
            parsed.host,
            parsed.port,
            keepalive=keepalive_s,
            # Resume the session the broker may hold for this client id, if one is wanted.
            clean_start=session_expiry_s == 0 if self._v5 else paho.MQTT_CLEAN_START_FIRST_ONLY,
            properties=properties,
        )
        client.loop_start()
        with self._changed:
            ok = self._changed.wait_for(
                lambda: self._connected or self._refused is not None, connect_timeout_s
            )
            refused = self._refused
        if not ok or refused is not None:
            self._shutdown()
            if refused is not None:
                raise BusConnectionError(
                    f"MQTT broker {self._where} refused the connection of client "
                    f"{self.client_id!r}: {refused}; check the user name, password and the "
                    "broker's ACL"
                )
            raise BusConnectionError(
                f"no MQTT broker answered at {self._where} within {connect_timeout_s:g} s "
                f"(URL {url!r}); is it running and listening there?"
            )

    # -- the Bus protocol ---------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, *, qos: QoS = 1, retain: bool = False) -> None:
        check_topic(topic)
        self._check_open()
        info = self._client.publish(topic, bytes(payload), qos=qos, retain=retain)
        if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
            # Only when 65,535 publishes are unacknowledged at once: the message ids ran out.
            raise BusConnectionError(
                f"MQTT publish to {topic!r} on {self._where} refused: the outgoing queue is "
                "full (65,535 unacknowledged messages); call flush() or check the broker"
            )
        if info.rc == MQTTErrorCode.MQTT_ERR_PAYLOAD_SIZE:
            raise BusConnectionError(f"MQTT payload for {topic!r} is too large ({len(payload)} B)")
        # A QoS 0 message sent while disconnected is dropped by paho and never reported.
        if qos == 0 and info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return
        with self._lock:
            # The network thread may have seen the acknowledgement before we got here.
            if info.mid in self._acked_early:
                self._acked_early.discard(info.mid)
            else:
                self._unacked.add(info.mid)

    def subscribe(self, topic_filter: str, handler: Handler, *, qos: QoS = 1) -> Subscription:
        check_filter(topic_filter)
        subscription = Subscription(topic_filter, handler, qos)
        with self._lock:
            self._check_open()
            self._subs[subscription.id] = subscription
            # A higher QoS than the broker-side subscription has needs a new SUBSCRIBE anyway.
            qos_at_broker: QoS = max(qos, self._filter_qos.get(topic_filter, 0))
            self._filter_qos[topic_filter] = qos_at_broker
            sid = self._new_sid(topic_filter, (subscription.id,))
        mid = self._send_subscribe(topic_filter, qos_at_broker, sid, retain_handling=0)
        if mid is None:
            return subscription  # not connected: on_connect makes the subscription
        if threading.current_thread() is self._network_thread:
            # From a handler: waiting would block the thread that reads the SUBACK.
            with self._lock:
                self._unawaited_mids.add(mid)
        else:
            codes = self._await_suback(mid)
            if codes and any(code.is_failure for code in codes):
                self.unsubscribe(subscription)
                raise BusConnectionError(
                    f"MQTT broker {self._where} refused the subscription to {topic_filter!r}: "
                    f"{codes[0]}; check the broker's ACL for client {self.client_id!r}"
                )
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            if self._subs.pop(subscription.id, None) is None:
                return
            topic_filter = subscription.topic_filter
            if any(s.topic_filter == topic_filter for s in self._subs.values()):
                return
            del self._filter_qos[topic_filter]
            for sid in [s for s, f in self._sid_filter.items() if f == topic_filter]:
                del self._sid_filter[sid]
                self._retained_for.pop(sid, None)
        if not self._closed:
            self._client.unsubscribe(topic_filter)

    def close(self) -> None:
        """Disconnect cleanly (the broker does not publish the will) and stop the thread.

        Unacknowledged publishes are abandoned: call :meth:`flush` first to wait for them.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._subs.clear()
        self._shutdown()

    # -- beyond the protocol ------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the bus is connected and every subscription is in place at the broker."""
        with self._lock:
            return self._connected and not self._resubscribe_mids

    def wait_connected(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` [s] until :attr:`connected`; return whether it is."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self._connected and not self._resubscribe_mids, timeout_s
            )

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait up to ``timeout_s`` [s] until every QoS ≥ 1 publish is acknowledged by the
        broker (and every QoS 0 one written); return whether they all are."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._unacked, timeout_s)

    @property
    def unacknowledged(self) -> int:
        """Publishes not yet acknowledged by the broker (queued while disconnected too)."""
        with self._lock:
            return len(self._unacked)

    def __enter__(self) -> MqttBus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "connected" if self._connected else "disconnected"
        return f"MqttBus({self.url!r}, client_id={self.client_id!r}, {state})"

    # -- paho callbacks (network thread) ------------------------------------------------

    def _on_connect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: Any,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            _log.error(
                "MQTT broker %s refused client %s: %s", self._where, self.client_id, reason_code
            )
            with self._changed:
                self._refused = str(reason_code)
                self._changed.notify_all()
            return
        session_present = bool(getattr(flags, "session_present", False))
        self._network_thread = threading.current_thread()
        with self._lock:
            # The broker may have lost our subscriptions (restart, expired session): make
            # them again. With a session still present, MQTT 5 retain handling 1 keeps
            # the broker from sending the retained messages a second time.
            filters = list(self._filter_qos.items())
            plan = [
                (
                    f,
                    q,
                    self._new_sid(
                        f, tuple(s.id for s in self._subs.values() if s.topic_filter == f)
                    ),
                )
                for f, q in filters
            ]
        mids = [
            self._send_subscribe(f, q, sid, retain_handling=1 if session_present else 0)
            for f, q, sid in plan
        ]
        with self._changed:
            self._resubscribe_mids.update(m for m in mids if m is not None)
            self._connected = True
            self.connects += 1
            self._changed.notify_all()
        if self.connects > 1:
            _log.info(
                "MQTT bus %s reconnected to %s (session present: %s), %d filter(s) "
                "subscribed again",
                self.client_id,
                self._where,
                session_present,
                len(plan),
            )

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: Any,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._changed:
            was_connected = self._connected
            self._connected = False
            self._resubscribe_mids.clear()
            self._changed.notify_all()
        if was_connected and not self._closed:
            _log.warning(
                "MQTT bus %s lost its connection to %s (%s); reconnecting",
                self.client_id,
                self._where,
                reason_code,
            )

    def _on_subscribe(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        with self._changed:
            if mid in self._resubscribe_mids:
                self._resubscribe_mids.discard(mid)
            elif mid in self._unawaited_mids:
                self._unawaited_mids.discard(mid)
            else:  # a subscribe() call is waiting for it
                self._sub_results[mid] = list(reason_codes)
            self._changed.notify_all()
        for code in reason_codes:
            if code.is_failure:
                _log.error(
                    "MQTT broker %s refused a subscription of %s: %s",
                    self._where,
                    self.client_id,
                    code,
                )

    def _on_publish(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._changed:
            if mid in self._unacked:
                self._unacked.discard(mid)
                if not self._unacked:
                    self._changed.notify_all()
            else:
                self._acked_early.add(mid)

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        message = BusMessage(msg.topic, bytes(msg.payload), msg.qos, bool(msg.retain))  # type: ignore[arg-type]
        sids: list[int] = []
        if self._v5 and msg.properties is not None:
            sids = list(getattr(msg.properties, "SubscriptionIdentifier", []) or [])
        with self._lock:
            targets = self._targets(message, sids)
        for subscription in targets:
            with self._lock:
                live = subscription.id in self._subs
            if live:
                self._call(subscription, message)

    # -- internals ----------------------------------------------------------------------

    def _targets(self, message: BusMessage, sids: list[int]) -> list[Subscription]:
        """The live subscriptions one received copy is for, in subscription order."""
        if not sids:
            # MQTT 3.1.1, or a session the broker restored without identifiers.
            return [s for s in self._subs.values() if topic_matches(s.topic_filter, message.topic)]
        known = [sid for sid in sids if sid in self._sid_filter]
        if not known:
            return []  # a copy for a filter unsubscribed since
        # The topic is matched too: a session resumed from an earlier bus with the same
        # client id may bring copies whose identifiers this bus has given to other filters.
        if message.retain:
            # Sent in answer to a SUBSCRIBE: only for the subscriptions it was made for.
            wanted = {i for sid in known for i in self._retained_for.get(sid, ())}
            return [
                s
                for i, s in self._subs.items()
                if i in wanted and topic_matches(s.topic_filter, message.topic)
            ]
        filters = {self._sid_filter[sid] for sid in known}
        return [
            s
            for s in self._subs.values()
            if s.topic_filter in filters and topic_matches(s.topic_filter, message.topic)
        ]

    def _new_sid(self, topic_filter: str, retained_for: tuple[int, ...]) -> int:
        # Caller holds the lock. Identifiers only matter within one connection, so they
        # wrap; old ones of a filter are kept until the filter goes, for copies in flight.
        self._next_sid = self._next_sid % _MAX_SUBSCRIPTION_ID + 1
        sid = self._next_sid
        self._sid_filter[sid] = topic_filter
        self._retained_for[sid] = retained_for
        return sid

    def _send_subscribe(
        self, topic_filter: str, qos: int, sid: int, *, retain_handling: int
    ) -> int | None:
        if self._v5:
            properties = _properties(PacketTypes.SUBSCRIBE)
            properties.SubscriptionIdentifier = sid
            rc, mid = self._client.subscribe(
                topic_filter,
                options=SubscribeOptions(qos=qos, retainHandling=retain_handling),
                properties=properties,
            )
        else:
            rc, mid = self._client.subscribe(topic_filter, qos=qos)
        # Not connected: the next on_connect subscribes every filter in the table.
        return mid if rc == MQTTErrorCode.MQTT_ERR_SUCCESS else None

    def _await_suback(self, mid: int) -> list[ReasonCode] | None:
        with self._changed:
            done = self._changed.wait_for(
                lambda: mid in self._sub_results or not self._connected,
                self._connect_timeout_s,
            )
            codes = self._sub_results.pop(mid, None)
        if not done:
            raise BusConnectionError(
                f"MQTT broker {self._where} did not acknowledge a subscription within "
                f"{self._connect_timeout_s:g} s"
            )
        return codes

    def _call(self, subscription: Subscription, message: BusMessage) -> None:
        self.delivered += 1
        if not call_handler(subscription, message):
            self.handler_errors += 1

    def _set_tls(self, tls: MqttTls) -> None:
        for name in ("ca_file", "cert_file", "key_file"):
            path = getattr(tls, name)
            if path is not None and not Path(path).is_file():
                raise BusConnectionError(
                    f"MQTT TLS {name} {str(path)!r} does not exist or "
                    "is not a file; give the path of a PEM file"
                )
        if (tls.cert_file is None) != (tls.key_file is None):
            raise BusConnectionError("MQTT TLS: give both cert_file and key_file, or neither")
        try:
            self._client.tls_set(
                ca_certs=None if tls.ca_file is None else str(tls.ca_file),
                certfile=None if tls.cert_file is None else str(tls.cert_file),
                keyfile=None if tls.key_file is None else str(tls.key_file),
            )
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            files = ", ".join(str(p) for p in (tls.ca_file, tls.cert_file, tls.key_file) if p)
            raise BusConnectionError(
                f"MQTT TLS files ({files or 'system CAs'}) cannot be loaded: {exc}; give PEM "
                "certificate and key files"
            ) from None
        self._client.tls_insecure_set(tls.insecure)

    def _shutdown(self) -> None:
        client = self._client
        client.disconnect()
        client.loop_stop()
        # paho closes its wake-up socket pair only in __del__; close it now so no socket
        # outlives the bus (pytest turns the ResourceWarning into an error).
        client._reset_sockets()
        with self._changed:
            self._connected = False
            self._changed.notify_all()

    def _check_open(self) -> None:
        if self._closed:
            raise BusConnectionError(f"the MQTT bus to {self._where} is closed")
