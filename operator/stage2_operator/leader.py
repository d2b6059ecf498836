"""Leader election on a `coordination.k8s.io` Lease, as controller-runtime does it.

kopf's peering pauses its own watchers but not tasks it did not start, so
the reconcile workers would keep writing from a paused replica. With this
elector only the Lease holder reconciles: the others keep their caches warm
and wait. A holder that cannot renew before the renew deadline stops acting
before the Lease expires, so two replicas never act at the same time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import datetime, timedelta, timezone

from kubernetes import client
from kubernetes.client.rest import ApiException

logger = logging.getLogger("stage2.leader")

LEASE_NAME = "stage2-operator"
LEASE_SECONDS = 15
RENEW_DEADLINE_SECONDS = 10
RETRY_SECONDS = 2


def default_identity() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class LeaderElector:
    def __init__(
        self, *, api_client: client.ApiClient, namespace: str, name: str = LEASE_NAME, identity: str | None = None
    ) -> None:
        self.api = client.CoordinationV1Api(api_client)
        self.namespace = namespace
        self.name = name
        self.identity = identity or default_identity()
        self._leading = asyncio.Event()
        self._last_renewal: float | None = None

    @property
    def is_leader(self) -> bool:
        return self._leading.is_set()

    async def wait_until_leader(self) -> None:
        await self._leading.wait()

    async def run(self) -> None:
        """Acquire and renew the Lease until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                renewed = await asyncio.to_thread(self._try_acquire_or_renew)
            except Exception as error:  # noqa: BLE001 - any failure counts as a failed renewal
                logger.warning("leader election request failed: %s; will retry in %ds", error, RETRY_SECONDS)
                renewed = False
            now = loop.time()
            if renewed:
                self._last_renewal = now
                if not self._leading.is_set():
                    logger.info("became the leader as %s (Lease %s/%s)", self.identity, self.namespace, self.name)
                    self._leading.set()
            elif self._leading.is_set():
                if self._last_renewal is None or now - self._last_renewal >= RENEW_DEADLINE_SECONDS:
                    logger.error("lost the leader Lease %s/%s; stopping reconciles", self.namespace, self.name)
                    self._leading.clear()
            await asyncio.sleep(RETRY_SECONDS)

    async def release(self) -> None:
        """Give the Lease up on a clean shutdown, so a standby takes over at once."""
        if not self._leading.is_set():
            return
        self._leading.clear()
        try:
            lease = await asyncio.to_thread(self.api.read_namespaced_lease, self.name, self.namespace)
            if lease.spec.holder_identity == self.identity:
                lease.spec.holder_identity = None
                lease.spec.renew_time = None
                await asyncio.to_thread(self.api.replace_namespaced_lease, self.name, self.namespace, lease)
        except ApiException as error:
            logger.warning("releasing the leader Lease failed: %s", error.reason)

    def _try_acquire_or_renew(self) -> bool:
        now = datetime.now(timezone.utc)
        # MicroTime needs the fraction: the API server rejects "...:05+00:00".
        now = now.replace(microsecond=now.microsecond or 1)
        try:
            lease = self.api.read_namespaced_lease(self.name, self.namespace)
        except ApiException as error:
            if error.status != 404:
                raise
            body = client.V1Lease(
                metadata=client.V1ObjectMeta(name=self.name, namespace=self.namespace),
                spec=client.V1LeaseSpec(
                    holder_identity=self.identity,
                    lease_duration_seconds=LEASE_SECONDS,
                    acquire_time=now,
                    renew_time=now,
                    lease_transitions=0,
                ),
            )
            try:
                self.api.create_namespaced_lease(self.namespace, body)
            except ApiException as create_error:
                if create_error.status == 409:
                    return False
                raise
            return True

        spec = lease.spec
        holder = spec.holder_identity
        renewed = spec.renew_time
        duration = spec.lease_duration_seconds or LEASE_SECONDS
        expired = renewed is None or renewed + timedelta(seconds=duration) < now
        if holder and holder != self.identity and not expired:
            return False
        if holder != self.identity:
            spec.acquire_time = now
            spec.lease_transitions = (spec.lease_transitions or 0) + 1
        spec.holder_identity = self.identity
        spec.lease_duration_seconds = LEASE_SECONDS
        spec.renew_time = now
        try:
            self.api.replace_namespaced_lease(self.name, self.namespace, lease)
        except ApiException as error:
            if error.status == 409:
                return False
            raise
        return True
