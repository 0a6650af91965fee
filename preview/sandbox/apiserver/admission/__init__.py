"""Admission plugins of the emulated API server: in-process, synchronous, run on create.

Mutating plugins first, then the validating quota check last, as kube-apiserver orders
its default plugins (LimitRanger, ServiceAccount, DefaultStorageClass, DefaultTolerationSeconds, ...,
ResourceQuota).
"""

from __future__ import annotations

from preview.sandbox.apiserver.admission.limitranger import LimitRangerAdmission
from preview.sandbox.apiserver.admission.resourcequota import ResourceQuotaAdmission
from preview.sandbox.apiserver.admission.serviceaccount import ServiceAccountAdmission
from preview.sandbox.apiserver.admission.storageclass import DefaultStorageClassAdmission
from preview.sandbox.apiserver.admission.tolerationseconds import DefaultTolerationSecondsAdmission
from preview.sandbox.apiserver.registry.strategies import Admission
from preview.sandbox.apiserver.storage.store import Store


def plugins(store: Store) -> list[Admission]:
    """The default plugin chain, in kube-apiserver's order."""
    return [LimitRangerAdmission(store), ServiceAccountAdmission(store),
            DefaultStorageClassAdmission(store), DefaultTolerationSecondsAdmission(),
            ResourceQuotaAdmission(store)]
